"""The pieces of a clock offset against the events: their pairs, and what they leave unexplained.

For a :class:`~.piecewise.SteppedCurve` over a subrun: the pairs of each
piece where it holds (:func:`piece_pairs`), the LST time of each MAGIC
event under it (:func:`magic_lst_times`), the stretches it leaves
unexplained (:func:`unexplained`: MAGIC events unpaired far beyond chance,
or pairs that stop), and the densest residual of each time slice around it
(:func:`slice_peaks_of`), which :func:`slice_groups` cuts into pieces where
neighbouring slices disagree by more than the window. Pure functions on
int64 ns arrays; LST and MAGIC times sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .curve import OffsetCurve, fit_offset_curve
from .drift import (
    MIN_PEAK_PAIRS,
    MIN_SLICE_PAIRS,
    TRACK_TOLERANCE_NS,
    DriftSearch,
    near_pairs,
    slice_peaks,
)
from .piecewise import SteppedCurve
from .steps import Stretch, pair_gaps, unexplained_stretches

__all__ = [
    "STRONG_FRACTION",
    "SlicePeaks",
    "Span",
    "covers",
    "magic_lst_times",
    "pair_times",
    "piece_pairs",
    "slice_groups",
    "slice_peaks_of",
    "stands_out",
    "unexplained",
]

#: A slice whose peak holds less than this fraction of the upper quartile (per second) is
#: no evidence.
STRONG_FRACTION = 0.25

#: A piece of a curve: where it holds, ``[start, end)`` (ns), and its offset.
Span = tuple[int, int, OffsetCurve]


def piece_pairs(
    t_lst: np.ndarray, t_magic: np.ndarray, curve: SteppedCurve, tolerance_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every (LST, MAGIC) pair within ``tolerance`` of the piece that holds at its LST time.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        LST and MAGIC indices.
    """
    bounds = [0, *np.searchsorted(t_lst, curve.breaks_ns, "left").tolist(), len(t_lst)]
    il, im = [], []
    for k, piece in enumerate(curve.pieces):
        i0, i1 = bounds[k], bounds[k + 1]
        if i1 > i0:
            a, b, _r = near_pairs(t_lst[i0:i1], t_magic, piece, tolerance_ns)
            il.append(a + i0)
            im.append(b)
    empty = np.zeros(0, dtype=np.int64)
    return (np.concatenate(il) if il else empty), (np.concatenate(im) if im else empty)


def magic_lst_times(t_magic: np.ndarray, curve: SteppedCurve) -> np.ndarray:
    """The LST time of each MAGIC event under the offset: ``u`` with ``u + curve(u) = t_M``."""
    u = t_magic - np.rint(curve(t_magic)).astype(np.int64)
    for _ in range(2):  # drift × offset: 200 µs at most, then 4 ns
        u = t_magic - np.rint(curve(u)).astype(np.int64)
    return u


def unexplained(t_lst: np.ndarray, t_magic: np.ndarray, curve: SteppedCurve,
                window_ns: int, reference: float = 0.0) -> list[Stretch]:
    """The stretches of the LST span that the offset leaves unexplained, the strongest first:
    where its MAGIC events stay unpaired (the paired fraction where it holds: at least
    ``reference``), and where its pairs stop (the MAGIC events of a piece may lie beyond
    the span under the offset of another)."""
    u = magic_lst_times(t_magic, curve)
    inside = np.flatnonzero((u >= t_lst[0]) & (u <= t_lst[-1]))
    il, im = piece_pairs(t_lst, t_magic, curve, window_ns)
    paired = np.zeros(len(t_magic), dtype=bool)
    paired[im] = True
    order = inside[np.argsort(u[inside], kind="stable")]
    found = unexplained_stretches(u[order], paired[order], t_lst, window_ns, reference)
    gaps = pair_gaps(np.unique(t_lst[il]), int(t_lst[0]), int(t_lst[-1]))
    found += [g for g in gaps if not any(covers(s, g) for s in found)]
    return sorted(found, key=lambda s: -s.evidence)


@dataclass(frozen=True)
class SlicePeaks:
    """The pairs of each time slice's densest residual around a model (as tracking takes them).

    Attributes
    ----------
    t, d : numpy.ndarray
        LST time and MAGIC minus LST time of the pairs in the peaks.
    which : numpy.ndarray
        Slice of each.
    starts : numpy.ndarray
        Start of each slice (from the first LST time).
    strong : numpy.ndarray of bool
        Per slice: its peak holds at least :data:`MIN_SLICE_PAIRS` pairs, five
        standard deviations above chance, and :data:`STRONG_FRACTION` of the
        upper quartile of the peaks per second. Beyond a step farther than the
        tracking tolerance the peak is a chance cluster of a few pairs: no evidence.
    fraction : float
        Pairs of the strong slices' peaks per MAGIC event in those slices.
    """

    t: np.ndarray
    d: np.ndarray
    which: np.ndarray
    starts: np.ndarray
    strong: np.ndarray
    fraction: float


def slice_peaks_of(t_lst: np.ndarray, t_magic: np.ndarray, model: SteppedCurve,
                   search: DriftSearch) -> SlicePeaks:
    """The slice peaks of the pairs within the tracking tolerance of a model."""
    w, tolerance = search.window_ns, TRACK_TOLERANCE_NS
    il, im = piece_pairs(t_lst, t_magic, model, tolerance)
    t = t_lst[il]
    d = t_magic[im] - t
    which = (t - t_lst[0]) // search.slice_ns
    keep = slice_peaks(which, d - np.rint(model(t)).astype(np.int64), w, tolerance)
    n_slices = int((t_lst[-1] - t_lst[0]) // search.slice_ns) + 1
    chance = np.bincount(which, minlength=n_slices) * (2 * w + 1) / (2 * tolerance + 1)
    t, d, which = t[keep], d[keep], which[keep]
    starts = t_lst[0] + np.arange(n_slices, dtype=np.int64) * search.slice_ns
    count = np.bincount(which, minlength=n_slices)
    rate = count / ((np.minimum(starts + search.slice_ns, t_lst[-1] + 1) - starts) * 1e-9)
    typical = np.quantile(rate[count > 0], 0.75) if count.any() else 0.0
    strong = ((count >= np.maximum(MIN_SLICE_PAIRS, chance + 5 * np.sqrt(chance)))
              & (rate >= STRONG_FRACTION * typical))
    u = magic_lst_times(t_magic, model)
    u_slice = (u[(u >= t_lst[0]) & (u <= t_lst[-1])] - t_lst[0]) // search.slice_ns
    n_magic = np.count_nonzero(strong[u_slice])
    fraction = float(count[strong].sum()) / n_magic if n_magic else 0.0
    return SlicePeaks(t, d, which, starts, strong, fraction)


def slice_groups(peaks: SlicePeaks, t_end: int, window_ns: int) -> list[Span]:
    """The pieces of the strong slices: consecutive strong slices whose lines (each fitted
    to its peak) meet within the window are one piece, fitted to their peaks; a piece holds
    from its first slice to the next piece's (the first from the span's start)."""
    groups: list[list[int]] = []
    previous = None
    for k in np.flatnonzero(peaks.strong).tolist():
        mine = peaks.which == k
        line = fit_offset_curve(peaks.t[mine], peaks.d[mine])
        edge = int(peaks.starts[k])
        if previous is not None and abs(float(line(edge)) - float(previous(edge))) <= window_ns:
            groups[-1].append(k)
        else:
            groups.append([k])
        previous = line
    spans = []
    for i, group in enumerate(groups):
        mine = np.isin(peaks.which, group)
        start = int(peaks.starts[0]) if i == 0 else int(peaks.starts[group[0]])
        end = t_end if i + 1 == len(groups) else int(peaks.starts[groups[i + 1][0]])
        spans.append((start, end, fit_offset_curve(peaks.t[mine], peaks.d[mine])))
    return spans


def stands_out(t_lst: np.ndarray, t_magic: np.ndarray, model: OffsetCurve, w: int) -> int:
    """The pairs within the window around ``model`` when they stand five standard deviations
    above those expected by chance (from the residuals beyond five windows), else 0."""
    tolerance = TRACK_TOLERANCE_NS
    _il, _im, r = near_pairs(t_lst, t_magic, model, tolerance)
    inside = int(np.count_nonzero(np.abs(r) <= w))
    chance = np.count_nonzero(np.abs(r) > 5 * w) * (2 * w + 1) / (2 * (tolerance - 5 * w))
    return inside if inside >= max(MIN_PEAK_PAIRS, chance + 5 * np.sqrt(chance)) else 0


def pair_times(t_lst: np.ndarray, t_magic: np.ndarray, model: OffsetCurve, lo: int, end: int,
               w: int) -> np.ndarray:
    """The LST times of the pairs within the window of ``model`` in ``[lo, end)``."""
    i0, i1 = np.searchsorted(t_lst, [lo, end])
    return t_lst[i0:i1][near_pairs(t_lst[i0:i1], t_magic, model, w)[0]]


def covers(a: Stretch, b: Stretch) -> bool:
    """Whether stretch ``a`` covers most of stretch ``b``."""
    overlap = min(a.end_ns, b.end_ns) - max(a.start_ns, b.start_ns)
    return overlap >= 0.5 * (b.end_ns - b.start_ns)
