"""A drifting clock offset from the event times alone: search, tracking, fit.

For a broken MAGIC GPS the MAGIC clock is off by seconds and drifts by µs per
second. :func:`find_offset_curve` finds ``offset(t)`` (MAGIC minus LST clock
at LST time ``t``) in three steps, none building an N×M matrix:

1. :func:`coarse_peak`: the differences of the brightest LST events of a
   block of the subrun and the brightest MAGIC events within the largest
   clock offset, histogrammed in bins wide enough to hold the drift over the
   block: the two adjacent bins with the most differences hold the bright
   true pairs; :func:`robust_line` gives their offset and drift.
2. Tracking (:func:`track`): around the current model, every MAGIC event is
   paired with the LST events within a tolerance (binary search on the
   model-corrected LST times, :func:`near_pairs`); in each time slice the
   densest residual (:func:`slice_peaks`) selects the true pairs, to which
   the model is fitted; the fitted range grows until it covers the subrun.
3. The model is refitted on the pairs within the window around it.

Pure functions on int64 ns arrays; LST times sorted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .curve import OffsetCurve, fit_offset_curve

__all__ = [
    "DriftSearch",
    "DriftSearchFailed",
    "coarse_bin_width",
    "coarse_peak",
    "expand_ranges",
    "find_offset_curve",
    "follow_prior",
    "near_pairs",
    "robust_line",
    "slice_peaks",
    "track",
]

#: Residual tolerance while tracking beyond the fitted range (ns).
TRACK_TOLERANCE_NS = 50_000
#: Fewest pairs in the coarse peak, and in a slice peak, to be believed.
MIN_PEAK_PAIRS = 10
MIN_SLICE_PAIRS = 3
#: Most histogram bins of the coarse search (bounds its memory).
MAX_COARSE_BINS = 1 << 20
#: Differences computed at once in the coarse search.
CHUNK = 1 << 20


class DriftSearchFailed(Exception):  # noqa: N818 - an outcome, as TelescopeSkipped
    """No drifting offset found; the message says why."""


@dataclass(frozen=True)
class DriftSearch:
    """Settings of the search.

    Attributes
    ----------
    window_ns : int
        Coincidence window half width.
    max_offset_ns : int
        Largest clock offset searched (either sign).
    max_drift_ns_per_s : float
        Largest drift searched (either sign).
    slice_ns : int
        Length of the tracking slices.
    n_events : int
        Brightest LST events per block in the coarse search (MAGIC: as many
        per block length of their wider time range).
    block_ns : int
        Longest block of the coarse search.
    """

    window_ns: int
    max_offset_ns: int
    max_drift_ns_per_s: float
    slice_ns: int = 1_000_000_000
    n_events: int = 1000
    block_ns: int = 10_000_000_000


def _brightest(intensity: np.ndarray, n: int) -> np.ndarray:
    finite = np.where(np.isfinite(intensity), intensity, -np.inf)
    n = min(n, len(finite))
    return np.argpartition(finite, len(finite) - n)[len(finite) - n:] if n else finite[:0]


def coarse_bin_width(search: DriftSearch, length_ns: int) -> int:
    """Bin of the coarse search for a block: the window plus the largest drift over it (ns)."""
    return int(max(2 * search.window_ns + search.max_drift_ns_per_s * length_ns * 1e-9,
                   2 * (search.max_offset_ns + search.window_ns) / MAX_COARSE_BINS)) + 1


def coarse_peak(
    t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, search: DriftSearch, block: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """The bright pairs of the offset peak of one block of LST time.

    Parameters
    ----------
    t_lst, intensity_lst : numpy.ndarray
        LST times (int64 ns, sorted) and intensities.
    t_magic, intensity_magic : numpy.ndarray
        MAGIC times (int64 ns, sorted) and intensities.
    search : DriftSearch
        Settings.
    block : (int, int)
        The LST time range (ns, both included).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        LST time and MAGIC minus LST time of the differences in the peak.

    Raises
    ------
    DriftSearchFailed
        If no peak stands out (too few bright events, no time overlap).
    """
    lo, hi = block
    w, reach = search.window_ns, search.max_offset_ns
    i0, i1 = int(np.searchsorted(t_lst, lo, "left")), int(np.searchsorted(t_lst, hi, "right"))
    j0 = int(np.searchsorted(t_magic, lo - reach - w, "left"))
    j1 = int(np.searchsorted(t_magic, hi + reach + w, "right"))
    if i1 <= i0 or j1 <= j0:
        raise DriftSearchFailed("no MAGIC events within the largest clock offset of the LST events")
    length = max(hi - lo, 1)
    t_l = t_lst[i0:i1][_brightest(intensity_lst[i0:i1], search.n_events)]
    n_m = int(search.n_events * (length + 2 * reach) / length)
    t_m = t_magic[j0:j1][_brightest(intensity_magic[j0:j1], n_m)]
    width = coarse_bin_width(search, length)
    first = -reach - w - width
    n_bins = (2 * (reach + w + width)) // width + 1
    counts = np.zeros(n_bins, dtype=np.int64)
    for d in _differences(t_m, t_l):
        b = (d.ravel() - first) // width
        counts += np.bincount(b[(b >= 0) & (b < n_bins)], minlength=n_bins)
    pairs = counts[:-1] + counts[1:]
    best = int(np.argmax(pairs))
    peak = int(pairs[best])
    others = pairs.copy()
    others[max(best - 2, 0):best + 3] = 0
    background = int(others.max()) if len(others) else 0
    if peak < MIN_PEAK_PAIRS or peak < 2 * background:
        raise DriftSearchFailed(
            f"too few bright events for the clock offset search ({peak} bright pairs at the "
            f"best offset, {background} at the next best)"
        )
    # The differences in [d_lo, d_lo + 2 width): t_M - d_lo - 2 width < t_L <= t_M - d_lo.
    d_lo = first + best * width
    t_l = np.sort(t_l)
    im, il = expand_ranges(np.searchsorted(t_l, t_m - d_lo - 2 * width, "right"),
                           np.searchsorted(t_l, t_m - d_lo, "right"))
    return t_l[il], t_m[im] - t_l[il]


def expand_ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All ``(k, i)`` with ``lo[k] <= i < hi[k]``: the row ``k`` and the index ``i``."""
    n = np.maximum(hi - lo, 0)
    rows = np.repeat(np.arange(len(lo)), n)
    return rows, np.repeat(lo, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))


def _differences(t_m: np.ndarray, t_l: np.ndarray) -> Iterator[np.ndarray]:
    """All ``t_M - t_L``, about :data:`CHUNK` at a time (rows: MAGIC events)."""
    step = max(1, CHUNK // max(len(t_l), 1))
    for start in range(0, len(t_m), step):
        yield t_m[start:start + step, None] - t_l[None, :]


def robust_line(t: np.ndarray, d: np.ndarray, max_points: int = 400) -> OffsetCurve:
    """Theil–Sen line ``d = o + s (t - t_mid)``: the median of pairwise slopes.

    Robust to a quarter of outliers; on at most ``max_points`` points spread
    evenly in time.
    """
    order = np.argsort(t, kind="stable")
    take = order[np.unique(np.linspace(0, len(t) - 1, min(len(t), max_points)).astype(int))]
    t, d = t[take], d[take].astype(np.float64)
    t_mid = int(np.median(t))
    x = (t - t_mid) * 1e-9
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx > 0
    slope = float(np.median((d[j] - d[i])[ok] / dx[ok])) if ok.any() else 0.0
    offset = float(np.median(d - slope * x))
    return OffsetCurve(t_mid, (offset, slope))


def near_pairs(
    t_lst: np.ndarray, t_magic: np.ndarray, model: OffsetCurve, tolerance_ns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (LST, MAGIC) pair with ``|t_M - t_L - model(t_L)| <= tolerance``.

    Binary search of each MAGIC time among the model-corrected LST times
    (sorted, as the model's drift is far below 1).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        LST indices, MAGIC indices and residuals ``t_M - t_L - model(t_L)`` (ns).
    """
    corrected = t_lst + np.rint(model(t_lst)).astype(np.int64)
    idx_magic, idx_lst = expand_ranges(
        np.searchsorted(corrected, t_magic - tolerance_ns, side="left"),
        np.searchsorted(corrected, t_magic + tolerance_ns, side="right"),
    )
    return idx_lst, idx_magic, t_magic[idx_magic] - corrected[idx_lst]


def slice_peaks(
    slice_index: np.ndarray, residual: np.ndarray, half_width_ns: int, tolerance_ns: int
) -> np.ndarray:
    """The residuals within ``half_width`` of their slice's densest residual.

    A slice counts when its peak holds at least :data:`MIN_SLICE_PAIRS`
    residuals and twice the background expected in ``±half_width`` from
    residuals spread evenly over ``±tolerance``.

    Parameters
    ----------
    slice_index, residual : numpy.ndarray of int64
        Slice and residual (ns, within ±tolerance) of each candidate pair.

    Returns
    -------
    numpy.ndarray of bool
        Which candidates are in their slice's peak.
    """
    keep = np.zeros(len(residual), dtype=bool)
    if len(residual) == 0:
        return keep
    span = 2 * tolerance_ns + 4 * half_width_ns + 1
    key = (slice_index - slice_index.min()) * span + (residual + tolerance_ns)
    order = np.argsort(key, kind="stable")
    k = key[order]
    count = (np.searchsorted(k, k + half_width_ns, "right")
             - np.searchsorted(k, k - half_width_ns, "left"))
    s = slice_index[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sizes = np.diff(np.r_[starts, len(s)])
    peak = np.maximum.reduceat(count, starts)
    at_peak = count == np.repeat(peak, sizes)
    # Centre: the median of the residuals that reach the slice's peak count.
    first_at_peak = np.flatnonzero(at_peak)
    group = np.searchsorted(starts, first_at_peak, side="right") - 1
    centre = np.zeros(len(starts))
    n_at = np.bincount(group, minlength=len(starts))
    r_sorted = residual[order]
    cut = np.r_[0, np.cumsum(n_at)]
    for g in np.flatnonzero(n_at):  # one per slice
        centre[g] = np.median(r_sorted[first_at_peak[cut[g]:cut[g + 1]]])
    background = sizes * (2 * half_width_ns + 1) / (2 * tolerance_ns + 1)
    good = (peak >= MIN_SLICE_PAIRS) & (peak >= 2 * background)
    near = np.abs(r_sorted - np.repeat(centre, sizes)) <= half_width_ns
    keep[order] = near & np.repeat(good, sizes)
    return keep


def track(
    t_lst: np.ndarray, t_magic: np.ndarray, start: OffsetCurve, fitted: tuple[int, int],
    search: DriftSearch,
) -> OffsetCurve:
    """Extend a model valid over ``fitted`` to all LST times, then refine it.

    The fitted range doubles at each step; the pairs within
    :data:`TRACK_TOLERANCE_NS` of the model there are filtered by
    :func:`slice_peaks` and the model refitted on them. Finally the model is
    fitted twice on all pairs within the window around it.

    Raises
    ------
    DriftSearchFailed
        If fewer than :data:`MIN_PEAK_PAIRS` pairs follow the model.
    """
    t_first, t_last = int(t_lst[0]), int(t_lst[-1])
    lo, hi = fitted
    model = start
    while True:
        lo, hi = max(t_first, lo - (hi - lo) // 2 - 1), min(t_last, hi + (hi - lo) // 2 + 1)
        i0, i1 = np.searchsorted(t_lst, [lo, hi + 1])
        il, im, r = near_pairs(t_lst[i0:i1], t_magic, model, TRACK_TOLERANCE_NS)
        t = t_lst[i0:i1][il]
        keep = slice_peaks((t - t_first) // search.slice_ns, r, search.window_ns,
                           TRACK_TOLERANCE_NS)
        if keep.sum() < MIN_PEAK_PAIRS:
            raise DriftSearchFailed(f"only {int(keep.sum())} pairs follow the clock offset found")
        model = fit_offset_curve(t[keep], (t_magic[im] - t)[keep])
        if lo == t_first and hi == t_last:
            break
    for _ in range(2):
        il, im, _r = near_pairs(t_lst, t_magic, model, search.window_ns)
        if len(il) < MIN_PEAK_PAIRS:
            raise DriftSearchFailed(f"only {len(il)} pairs follow the clock offset found")
        model = fit_offset_curve(t_lst[il], t_magic[im] - t_lst[il])
    return model


def search_blocks(t_first: int, t_last: int, block_ns: int) -> list[tuple[int, int]]:
    """Blocks of at most ``block_ns`` tiling ``[t_first, t_last]``, the middle ones first."""
    n = max(1, -(-(t_last - t_first) // block_ns))
    edges = [t_first + (t_last - t_first) * i // n for i in range(n + 1)]
    blocks = [(edges[i], edges[i + 1]) for i in range(n)]
    middle = (n - 1) / 2
    return sorted(blocks, key=lambda b: abs(blocks.index(b) - middle))


def follow_prior(t_lst: np.ndarray, t_magic: np.ndarray, prior: OffsetCurve,
                 search: DriftSearch) -> OffsetCurve:
    """A model known beforehand (e.g. the run's), refined on the events as far as they allow.

    Tracked and refitted as :func:`track` does when enough slices have a
    peak; else the prior shifted to the densest residual of the whole
    subrun (:func:`slice_peaks` with one slice). Either must be believed:
    the pairs within the window around it at least :data:`MIN_SLICE_PAIRS`
    and five standard deviations above those expected by chance (from the
    residuals beyond five windows, up to :data:`TRACK_TOLERANCE_NS`), which
    unrelated MAGIC data do not reach.

    Raises
    ------
    DriftSearchFailed
        If no significant residual peak follows the prior.
    """
    w, tolerance = search.window_ns, TRACK_TOLERANCE_NS
    try:
        model = track(t_lst, t_magic, prior, (int(t_lst[0]), int(t_lst[-1])), search)
    except DriftSearchFailed:
        _il, _im, r = near_pairs(t_lst, t_magic, prior, tolerance)
        keep = slice_peaks(np.zeros(len(r), dtype=np.int64), r, w, tolerance)
        model = prior.shifted(float(np.median(r[keep]))) if keep.any() else prior
    _il, _im, r = near_pairs(t_lst, t_magic, model, tolerance)
    inside = int(np.count_nonzero(np.abs(r) <= w))
    chance = np.count_nonzero(np.abs(r) > 5 * w) * (2 * w + 1) / (2 * (tolerance - 5 * w))
    if inside < max(MIN_SLICE_PAIRS, chance + 5 * np.sqrt(chance)):
        raise DriftSearchFailed(f"only {inside} pairs follow the run's clock offset "
                                f"({chance:.1f} expected by chance)")
    return model


def find_offset_curve(
    t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, search: DriftSearch, prior: OffsetCurve | None = None,
    line: Callable[[np.ndarray, np.ndarray], OffsetCurve] = robust_line,
) -> OffsetCurve:
    """The drifting clock offset of LST-1 and one MAGIC telescope.

    Parameters
    ----------
    t_lst, intensity_lst : numpy.ndarray
        LST times (int64 ns) and intensities, sorted by time.
    t_magic, intensity_magic : numpy.ndarray
        MAGIC times (int64 ns) and intensities, sorted by time.
    search : DriftSearch
        Settings.
    prior : OffsetCurve, optional
        A model known beforehand: followed (:func:`follow_prior`) instead of
        the coarse search.
    line : callable
        The line through the coarse peak's (time, offset) points that tracking starts from.

    Raises
    ------
    DriftSearchFailed
        With the reason (the last block's, when every block failed).
    """
    if len(t_lst) == 0 or len(t_magic) == 0:
        raise DriftSearchFailed("no events")
    if prior is not None:
        return follow_prior(t_lst, t_magic, prior, search)
    failure = None
    for block in search_blocks(int(t_lst[0]), int(t_lst[-1]), search.block_ns):
        try:
            t, d = coarse_peak(t_lst, intensity_lst, t_magic, intensity_magic, search, block)
        except DriftSearchFailed as err:
            failure = err
            continue
        return track(t_lst, t_magic, line(t, d), block, search)
    raise failure
