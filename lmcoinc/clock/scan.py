"""Time offset between the LST-1 and MAGIC clocks: pre-search, scan, average.

Pure functions on int64 nanosecond arrays. Arrays of timestamps are given in
the row order of the event tables (sorted by event id), as the reference
uses them; none of these functions builds an N×M matrix.
"""

from __future__ import annotations

import numpy as np

from ..utils.arrays import in_order

__all__ = [
    "TIME_ACCURACY_NS",
    "window_pairs",
    "average_offset",
    "coincidence_profile",
    "in_range",
    "magic_time_range",
    "pre_offset_search",
    "scan_offsets",
    "search_window",
]

#: Step of the offset scan: the last digit of the timestamps.
TIME_ACCURACY_NS = 100


def in_range(t: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Boolean mask of ``lo <= t <= hi``."""
    return (t >= lo) & (t <= hi)


def search_window(
    t_first: int, t_last: int, offset_lo: int, offset_hi: int, window_ns: int
) -> tuple[int, int]:
    """MAGIC times that can pair with LST times in ``[t_first, t_last]`` at offsets in
    ``[offset_lo, offset_hi]``.

    Returns
    -------
    (int, int)
        ``(t_first + offset_lo - w, t_last + offset_hi + w)``, both included.
    """
    return int(t_first) + int(offset_lo) - window_ns, int(t_last) + int(offset_hi) + window_ns


def magic_time_range(
    t_min: int, t_max: int, window_ns: int, scan_range_ns: tuple[int, int] | None = None
) -> tuple[int, int]:
    """A superset of the MAGIC times that the coincidence of an LST subrun can use.

    With the pre-offset search (``scan_range_ns`` None) the MAGIC events of
    the search lie within ``w`` of the LST times and the LST events within
    ``w`` of those, so the pre-offset (a mean of differences, rounded to
    0.1 µs) lies within ``±(D + w + 50 ns)``, ``D = t_max - t_min``; the scan
    adds ``±3 w`` and the candidates ``±w``. With a fixed scan range the
    offsets are those of the range. A margin of two timestamp steps covers
    the roundings.

    Parameters
    ----------
    t_min, t_max : int
        First and last LST timestamp (ns).
    window_ns : int
        Coincidence window half width.
    scan_range_ns : (int, int), optional
        The fixed scan range (start, stop); None with the pre-offset search.
    """
    margin = 2 * TIME_ACCURACY_NS
    if scan_range_ns is None:
        reach = (t_max - t_min) + 4 * window_ns + margin
        return search_window(t_min, t_max, -reach, reach, window_ns)
    start, stop = scan_range_ns
    return search_window(t_min, t_max, start - margin, stop + margin, window_ns)


def _brightest(intensity: np.ndarray, n: int) -> np.ndarray:
    """The reference's ``np.argsort(intensity)[::-1][:n]``.

    When the ``n`` largest values are distinct, finite and larger than all
    others, that is their order by value, whatever the sort: found by a
    partition and a sort of those ``n``. Otherwise (ties decide) the same
    numpy call as the reference, same ties.
    """
    m = len(intensity)
    if 0 < n < m // 4:
        part = np.argpartition(intensity, m - n - 1)
        top = part[m - n :]
        top = top[np.argsort(intensity[top])[::-1]]
        values = intensity[top]
        if (np.all(values[:-1] > values[1:]) and values[-1] > intensity[part[m - n - 1]]
                and np.isfinite(intensity).all()):
            return top
    return np.argsort(intensity, kind="quicksort")[::-1][:n]


def pre_offset_search(
    t_lst: np.ndarray,
    intensity_lst: np.ndarray,
    t_magic: np.ndarray,
    intensity_magic: np.ndarray,
    window_ns: int,
    n_events: int,
) -> int | None:
    """Estimate the offset from the brightest events (SPEC step 6a).

    Parameters
    ----------
    t_lst, intensity_lst : numpy.ndarray
        LST timestamps (int64 ns) and intensities, in table order.
    t_magic, intensity_magic : numpy.ndarray
        The same for one MAGIC telescope.
    window_ns : int
        Coincidence window half width.
    n_events : int
        Number of brightest events taken on each side.

    Returns
    -------
    int or None
        The pre-offset in ns (a multiple of 100 ns), or None when no MAGIC
        event overlaps the LST data or no LST event overlaps those.
    """
    if len(t_lst) == 0 or len(t_magic) == 0:
        return None
    mask_m = in_range(t_magic, t_lst[0] - window_ns, t_lst[-1] + window_ns)
    if not mask_m.any():
        return None
    t_m = t_magic[mask_m]
    mask_l = in_range(t_lst, t_m[0] - window_ns, t_m[-1] + window_ns)
    if not mask_l.any():
        return None
    t_m = t_m[_brightest(intensity_magic[mask_m], n_events)]
    t_l = t_lst[mask_l][_brightest(intensity_lst[mask_l], n_events)]
    # All differences, LST-major as the reference's meshgrid.
    diffs = (t_m[np.newaxis, :] - t_l[:, np.newaxis]).ravel()
    ordered = np.sort(diffs)
    # Number of differences strictly within the window of each one.
    if len(ordered) * int(np.abs(ordered[[0, -1]]).max()) < 2**53:
        # Every partial sum of the mean exact in float64: the mean does not depend on the
        # order of the differences, taken sorted (sorted queries: a faster search).
        counts = _within(ordered, ordered, window_ns)
        mean_ns = ordered[counts == counts.max()].mean()
    else:  # in the reference's order, whose roundings the mean follows
        counts = _within(ordered, diffs, window_ns)
        mean_ns = diffs[counts == counts.max()].mean()
    # Quantity(mean, ns).to("us").round(1), kept as an integer count of 100 ns.
    tenths_of_us = np.rint(mean_ns * 0.001 * 10.0)
    return int(tenths_of_us) * TIME_ACCURACY_NS


def _within(ordered: np.ndarray, values: np.ndarray, window_ns: int) -> np.ndarray:
    """Number of the sorted ``ordered`` strictly within ``window_ns`` of each of ``values``."""
    return (np.searchsorted(ordered, values + window_ns, side="left")
            - np.searchsorted(ordered, values - window_ns, side="right"))


def scan_offsets(start_ns: int, stop_ns: int, step_ns: int = TIME_ACCURACY_NS) -> np.ndarray:
    """Offsets ``start, start + step, ...`` below ``stop`` (int64 ns)."""
    n = max(0, -(-(stop_ns - start_ns) // step_ns))
    return start_ns + step_ns * np.arange(n, dtype=np.int64)


def coincidence_profile(
    t_lst: np.ndarray, t_magic: np.ndarray, offsets: np.ndarray, window_ns: int
) -> np.ndarray:
    """Number of pairs ``t_L + o - w <= t_M <= t_L + o + w`` for each offset o.

    Linear in the number of events. For offsets in equal steps (a scan), each
    MAGIC event is located once in the time-sorted LST times, the LST events
    its window can reach at any offset are paired with it, and each pair
    counts for the offsets within ``w`` of its time difference (a range of
    offsets: one pass over the pairs). Otherwise, or when the scan is so wide
    that those pairs would take too much memory, each MAGIC event is located
    once per offset.

    Returns
    -------
    numpy.ndarray of int64, one count per offset.
    """
    t_sorted = in_order(t_lst)
    counts = np.zeros(len(offsets), dtype=np.int64)
    if len(t_sorted) == 0 or len(t_magic) == 0 or len(offsets) == 0:
        return counts
    offsets = np.asarray(offsets, dtype=np.int64)
    step = int(offsets[1] - offsets[0]) if len(offsets) > 1 else 1
    if step > 0 and np.all(np.diff(offsets) == step):
        found = window_pairs(t_sorted, t_magic, -offsets[-1] - window_ns,
                             -offsets[0] + window_ns, _MAX_PAIRS)
        if found is not None:
            magic, lst = found
            d = t_magic[magic] - t_sorted[lst] - offsets[0]  # the pairs' differences
            first = -((window_ns - d) // step)  # ceil((d - w) / step)
            last = (d + window_ns) // step
            first, last = np.maximum(first, 0), np.minimum(last, len(offsets) - 1)
            reach = first <= last
            edges = np.bincount(first[reach], minlength=len(offsets) + 1)
            edges -= np.bincount(last[reach] + 1, minlength=len(offsets) + 1)
            return np.cumsum(edges[:-1])
    # Chunks of offsets keep the temporary arrays below ~32 MB.
    chunk = max(1, 2_000_000 // len(t_magic))
    for first in range(0, len(offsets), chunk):
        shifted = t_magic[np.newaxis, :] - offsets[first : first + chunk, np.newaxis]
        hi = np.searchsorted(t_sorted, shifted + window_ns, side="right")
        lo = np.searchsorted(t_sorted, shifted - window_ns, side="left")
        counts[first : first + chunk] = (hi - lo).sum(axis=1)
    return counts


#: Pairs that :func:`coincidence_profile` forms at most in one pass (~80 MB of temporaries).
_MAX_PAIRS = 2_000_000


def window_pairs(
    t_sorted: np.ndarray, t: np.ndarray, lo: int, hi: int, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """All (i, j) with ``t[i] + lo <= t_sorted[j] <= t[i] + hi``, by i then j.

    Parameters
    ----------
    t_sorted : numpy.ndarray
        Times sorted in increasing order (int64 ns).
    t : numpy.ndarray
        Times in any order.
    lo, hi : int
        The window around each ``t[i]``, both ends included.
    limit : int, optional
        None (nothing formed) when there would be more pairs.
    """
    first = np.searchsorted(t_sorted, t + lo, side="left")
    n = np.maximum(np.searchsorted(t_sorted, t + hi, side="right") - first, 0)
    total = int(n.sum())
    if limit is not None and total > limit:
        return None
    i = np.repeat(np.arange(len(t)), n)
    starts = np.cumsum(n) - n
    return i, np.arange(total) - np.repeat(starts - first, n)


def average_offset(offsets: np.ndarray, counts: np.ndarray, window_ns: int) -> int | None:
    """Weighted average offset around the maximum of the profile (SPEC step 6e).

    The mean of the offsets with the most pairs is the centre; the counts
    weight the offsets within two half widths of it.

    Returns
    -------
    int or None
        The average offset in ns, rounded half to even; None when the
        weights around the centre are all zero.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    centre = offsets[counts == counts.max()].mean()
    mask = (offsets >= np.round(centre - 2 * window_ns)) & (
        offsets <= np.round(centre + 2 * window_ns)
    )
    if counts[mask].sum() == 0:
        return None
    return int(np.round(np.average(offsets[mask], weights=counts[mask])))
