"""Clock steps within a subrun seen from an offset model: what one offset misses, and the words.

Constant mode keeps the reference's one offset per subrun; :func:`missed_steps`
tells where the clock stepped away from it (the steps that
:func:`lmcoinc.clock.stepped.resolve_steps` finds around that offset) and how
many pairs lie beyond them, for the warning; the pairs stay the reference's.
:func:`describe_step` words a step for the log of either mode.
"""

from __future__ import annotations

import numpy as np

from ..clock.curve import OffsetCurve
from ..clock.drift import DriftSearch, DriftSearchFailed
from ..clock.pieces import piece_pairs
from ..clock.piecewise import SteppedCurve
from ..clock.scan import in_range, search_window
from ..clock.stepped import find_stepped_curve, resolve_steps
from ..results import ClockStep, TelescopeCoincidence
from .inputs import TelescopeEvents

__all__ = ["describe_step", "missed_steps"]


def missed_steps(events: TelescopeEvents, found: TelescopeCoincidence, search: DriftSearch,
                 peak: bool = True) -> tuple[tuple[ClockStep, ...], int]:
    """The clock steps within the subrun that one offset misses, and the pairs beyond them.

    Found around the one offset; when its profile has no peak (``peak`` false:
    the offset may hold nowhere), by drift mode's search of the whole subrun.

    Parameters
    ----------
    events : TelescopeEvents
        The events of the telescope.
    found : TelescopeCoincidence
        Its coincidence at one offset (``average_offset_ns``).
    search : DriftSearch
        The window and the reach of the search for the offsets beyond a step.
    peak : bool
        Whether the profile of the one offset has a peak.

    Returns
    -------
    (tuple of ClockStep, int)
        The steps (none: the offset explains the pairs of the whole subrun)
        and the pairs of the pieces whose offset lies farther than the window
        from the one offset.
    """
    if len(events.t_lst) == 0:
        return (), 0
    order_l = np.argsort(events.t_lst, kind="stable")
    t_lst, intensity_lst = events.t_lst[order_l], events.intensity_lst[order_l]
    near = np.flatnonzero(in_range(events.t_magic, *search_window(
        int(t_lst[0]), int(t_lst[-1]), -search.max_offset_ns, search.max_offset_ns,
        search.window_ns)))
    order_m = near[np.argsort(events.t_magic[near], kind="stable")]
    t_magic, intensity_magic = events.t_magic[order_m], events.intensity_magic[order_m]
    if len(t_magic) == 0:
        return (), 0
    one = SteppedCurve.smooth(OffsetCurve(int(t_lst[0]), (float(found.average_offset_ns),)))
    try:
        curve = (resolve_steps(t_lst, intensity_lst, t_magic, intensity_magic, one, search)[0]
                 if peak else find_stepped_curve(t_lst, intensity_lst, t_magic,
                                                 intensity_magic, search))
    except DriftSearchFailed:
        return (), 0
    if not curve.breaks_ns:
        return (), 0
    il, _im = piece_pairs(t_lst, t_magic, curve, search.window_ns)
    t_pairs = t_lst[il]
    beyond = np.abs(curve(t_pairs) - found.average_offset_ns) > search.window_ns
    return curve.steps(), int(np.count_nonzero(beyond))


def describe_step(step: ClockStep, t_first_ns: int) -> str:
    """``the clock offset steps by -150.000 us at 1700000025.003 (5.003 s into the subrun),
    from -3.200 us to -153.200 us``."""
    return (f"the clock offset steps by {step.size_ns / 1000:+.3f} us at "
            f"{step.time_ns * 1e-9:.3f} ({(step.time_ns - t_first_ns) * 1e-9:.3f} s into the "
            f"subrun), from {step.before_ns / 1000:.3f} us to {step.after_ns / 1000:.3f} us")
