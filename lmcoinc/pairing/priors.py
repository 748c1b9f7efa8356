"""What a night teaches the coincidence of one subrun: known offsets to fall back on.

``lmcoinc run`` knows only the configuration; ``lmcoinc batch`` learns, from
all the subruns of a night, clock offsets that a subrun whose own result is
weak can scan around (the night model), and in drift mode the run's drifting
offset for subruns too sparse to find their own. These are :class:`Priors`,
given to the subrun pipeline beside the configuration, never inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..clock.piecewise import SteppedCurve
from ..config import CoincidenceConfig

__all__ = ["Priors", "command_priors"]


@dataclass(frozen=True)
class Priors:
    """Known offsets a subrun's coincidence may fall back on.

    Attributes
    ----------
    history_fallback : bool
        Scan around the offset history's clock offset for the night when a
        telescope's own result is weak.
    night_offsets_ns : dict
        MAGIC tel_id → the night model's clock offset for this subrun (ns),
        scanned around when the subrun's own result is weak.
    run_curves : dict
        Drift mode: MAGIC tel_id → the run's drifting offset, followed
        instead of a search of the subrun's own.
    """

    history_fallback: bool = False
    night_offsets_ns: dict[int, int] = field(default_factory=dict)
    run_curves: dict[int, SteppedCurve] = field(default_factory=dict)


def command_priors(config: CoincidenceConfig, batch: bool) -> Priors:
    """The priors a command starts with: the history fallback as configured, else the
    command's default (off in ``run``, on in ``batch``)."""
    fallback = config.history_fallback
    return Priors(history_fallback=batch if fallback is None else fallback)
