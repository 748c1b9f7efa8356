"""The reference's coincidence of LST-1 with one MAGIC telescope: one offset, its pairs.

:func:`coincide_telescope` works on the int64 ns timestamps of LST-1 and one
MAGIC telescope (numpy in, numpy out): the pre-offset search on the
brightest events (or a fixed scan range), the scan in 100 ns steps, the
weighted average and the pairs at it (:mod:`lmcoinc.clock.scan`,
:mod:`.match`).
"""

from __future__ import annotations

import numpy as np

from ..clock.scan import (
    average_offset,
    coincidence_profile,
    in_range,
    pre_offset_search,
    scan_offsets,
    search_window,
)
from ..results import TelescopeCoincidence, TelescopeSkipped
from .match import coincident_pairs

__all__ = ["coincide_telescope"]


def coincide_telescope(
    t_lst: np.ndarray,
    intensity_lst: np.ndarray,
    t_magic: np.ndarray,
    intensity_magic: np.ndarray,
    *,
    window_ns: int,
    pre_offset_search_events: int | None,
    offset_range_ns: tuple[int, int],
) -> TelescopeCoincidence:
    """Find the offset and the coincident pairs of LST-1 and one MAGIC telescope.

    Parameters
    ----------
    t_lst, intensity_lst : numpy.ndarray
        LST timestamps (int64 ns) and intensities in table order.
    t_magic, intensity_magic : numpy.ndarray
        The same for the MAGIC telescope.
    window_ns : int
        Coincidence window half width.
    pre_offset_search_events : int or None
        Number of bright events for the pre-offset search; None: scan
        ``offset_range_ns`` instead.
    offset_range_ns : (int, int)
        Scan range (start, stop) when there is no pre-offset search.

    Raises
    ------
    TelescopeSkipped
        With the reason why this telescope has no coincidence.
    """
    pre = None
    if pre_offset_search_events is not None:
        pre = pre_offset_search(
            t_lst, intensity_lst, t_magic, intensity_magic, window_ns, pre_offset_search_events
        )
        if pre is None:
            raise TelescopeSkipped("no events overlap in time for the pre-offset search")
        start, stop = pre - 3 * window_ns, pre + 3 * window_ns
    else:
        start, stop = offset_range_ns
    offsets = scan_offsets(start, stop)
    if len(offsets) == 0 or len(t_lst) == 0:
        raise TelescopeSkipped("empty offset scan range or no LST events")
    lo, hi = search_window(t_lst[0], t_lst[-1], offsets[0], offsets[-1], window_ns)
    candidates = np.flatnonzero(in_range(t_magic, lo, hi))
    if len(candidates) == 0:
        raise TelescopeSkipped("no MAGIC events within the scanned time range")
    t_cand = t_magic[candidates]
    counts = coincidence_profile(t_lst, t_cand, offsets, window_ns)
    if not counts.any():
        raise TelescopeSkipped("no coincident events at any scanned offset")
    average = average_offset(offsets, counts, window_ns)
    if average is None:
        raise TelescopeSkipped("no coincident events around the profile maximum")
    idx_lst, idx_magic = coincident_pairs(t_lst, t_cand, average, window_ns)
    return TelescopeCoincidence(pre, offsets, counts, average, candidates, idx_lst, idx_magic)
