"""Coincidence of LST-1 with one MAGIC telescope: offset, profile and pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .match import coincident_pairs
from .offsets import average_offset, coincidence_profile, in_range, pre_offset_search, scan_offsets

__all__ = ["TelescopeCoincidence", "coincide_telescope"]


@dataclass(frozen=True)
class TelescopeCoincidence:
    """Result of the coincidence of LST-1 with one MAGIC telescope.

    Attributes
    ----------
    pre_offset_ns : int or None
        Offset found by the pre-offset search (None when not run).
    offsets_ns, counts : numpy.ndarray
        The scanned offsets and the number of pairs at each.
    average_offset_ns : int
        Weighted average offset, where the pairs are taken.
    candidates : numpy.ndarray
        Indices of the MAGIC rows within the scanned time range.
    idx_lst, idx_magic : numpy.ndarray
        The pairs: LST rows and positions in ``candidates``.
    """

    pre_offset_ns: int | None
    offsets_ns: np.ndarray
    counts: np.ndarray
    average_offset_ns: int
    candidates: np.ndarray
    idx_lst: np.ndarray
    idx_magic: np.ndarray


def coincide_telescope(
    t_lst: np.ndarray,
    intensity_lst: np.ndarray,
    t_magic: np.ndarray,
    intensity_magic: np.ndarray,
    *,
    window_ns: int,
    pre_offset_search_events: int | None,
    offset_range_ns: tuple[int, int],
) -> TelescopeCoincidence | str:
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

    Returns
    -------
    TelescopeCoincidence or str
        The result, or the reason why this telescope is skipped.
    """
    pre = None
    if pre_offset_search_events is not None:
        pre = pre_offset_search(
            t_lst, intensity_lst, t_magic, intensity_magic, window_ns, pre_offset_search_events
        )
        if pre is None:
            return "no events overlap in time for the pre-offset search"
        start, stop = pre - 3 * window_ns, pre + 3 * window_ns
    else:
        start, stop = offset_range_ns
    offsets = scan_offsets(start, stop)
    if len(offsets) == 0 or len(t_lst) == 0:
        return "empty offset scan range or no LST events"
    lo = t_lst[0] + offsets[0] - window_ns
    hi = t_lst[-1] + offsets[-1] + window_ns
    candidates = np.flatnonzero(in_range(t_magic, lo, hi))
    if len(candidates) == 0:
        return "no MAGIC events within the scanned time range"
    t_cand = t_magic[candidates]
    counts = coincidence_profile(t_lst, t_cand, offsets, window_ns)
    if not counts.any():
        return "no coincident events at any scanned offset"
    average = average_offset(offsets, counts, window_ns)
    if average is None:
        return "no coincident events around the profile maximum"
    idx_lst, idx_magic = coincident_pairs(t_lst, t_cand, average, window_ns)
    return TelescopeCoincidence(pre, offsets, counts, average, candidates, idx_lst, idx_magic)
