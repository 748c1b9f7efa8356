"""Pairs of LST-1 and MAGIC events: the offset model of a subrun, per MAGIC telescope.

The subrun's offset model (:mod:`.models`: :mod:`.constant_model`, the
reference's, or :mod:`.drift_model`) finds each telescope's offset and pairs
its events (:mod:`.telescope`, :mod:`.drifting`, :mod:`.match`), explained by
the clock and falling back on known offsets (:mod:`.anchored`, :mod:`.priors`);
:mod:`.accidentals` estimates the pairs found by chance.
"""

from .coincidence import clock_columns, pair_telescopes
from .inputs import TelescopeEvents
from .models import OffsetModel, model_class, offset_model
from .priors import Priors, command_priors

__all__ = [
    "OffsetModel",
    "Priors",
    "TelescopeEvents",
    "clock_columns",
    "command_priors",
    "model_class",
    "offset_model",
    "pair_telescopes",
]
