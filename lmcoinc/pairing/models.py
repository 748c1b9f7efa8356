"""The offset models: how the clock offset of a subrun is found and its events paired.

``event_coincidence.offset_model`` names one of
:data:`lmcoinc.config.OFFSET_MODELS`; each is a module of this package with a
class ``Model`` that follows :class:`OffsetModel`. :func:`offset_model`
builds it once per subrun, and the pipeline calls it for every MAGIC
telescope: ``constant`` (:mod:`.constant_model`, the reference's one offset
per subrun) or ``drift`` (:mod:`.drift_model`, an offset that drifts, for a
broken MAGIC GPS). A new model is a module here and a line in that table.
"""

from __future__ import annotations

import importlib
from typing import Protocol

import polars as pl

from ..clock.piecewise import SteppedCurve
from ..config import OFFSET_MODELS, CoincidenceConfig
from ..results import TelescopeCoincidence
from .inputs import TelescopeEvents
from .priors import Priors

__all__ = ["OffsetModel", "model_class", "offset_model"]


class OffsetModel(Protocol):
    """How the clock offset of a subrun is modelled, found and used to pair its events."""

    def __init__(self, config: CoincidenceConfig, priors: Priors) -> None: ...

    def magic_range(self, t_first: int, t_last: int) -> tuple[int, int]:
        """The MAGIC times (ns, both included) that the coincidence of LST events from
        ``t_first`` to ``t_last`` can use: a superset, every MAGIC source gives them."""

    def overlap_window(self, t_first: int, t_last: int) -> tuple[int, int, str] | None:
        """The MAGIC times the offset search looks at (ns), and how they were widened from
        the LST times (for the message when no MAGIC event is there); None: no check."""

    def coincide(self, events: TelescopeEvents) -> TelescopeCoincidence:
        """The offset and the pairs of one MAGIC telescope (candidates: positions in its
        events). Raises :class:`~lmcoinc.results.TelescopeSkipped` with the reason when
        it has none."""

    def outputs(self, found: dict[int, TelescopeCoincidence]
                ) -> tuple[dict[str, list], dict[str, pl.DataFrame]]:
        """The model's own feature columns (one value per telescope of ``found``) and
        output tables."""

    @classmethod
    def run_curves(cls, tables: list[pl.DataFrame]) -> dict[int, SteppedCurve]:
        """What the subruns of a run teach the others (a batch's second pass): per MAGIC
        tel_id, the run's offset, from the subruns' ``offset_model`` tables; {} when
        the model learns nothing from them."""


def model_class(name: str) -> type[OffsetModel]:
    """The class of the offset model called ``name`` (a key of ``OFFSET_MODELS``)."""
    return importlib.import_module(f"{__package__}.{OFFSET_MODELS[name]}").Model


def offset_model(config: CoincidenceConfig, priors: Priors | None = None) -> OffsetModel:
    """The configured offset model of a subrun, with what it may fall back on."""
    return model_class(config.offset_model)(config, priors or Priors())
