"""Placing and refitting the pieces of a clock offset with steps.

:func:`insert` lets a new piece hold over a stretch and as far on each side
as its pairs outnumber those of the curve
(:func:`lmcoinc.clock.steps.change_point`); :func:`refine` refits every
piece on its own pairs, moves each boundary to where the pairs of one piece
stop and those of the next start, joins neighbouring pieces that meet within
the window and drops a piece that adds fewer than
:data:`~lmcoinc.clock.drift.MIN_PEAK_PAIRS` pairs to what a neighbour would
pair. Pure functions on int64 ns arrays; LST and MAGIC times sorted.
"""

from __future__ import annotations

import numpy as np

from .curve import OffsetCurve, fit_offset_curve
from .drift import MIN_PEAK_PAIRS, MIN_SLICE_PAIRS, near_pairs
from .pieces import Span, pair_times, piece_pairs
from .piecewise import SteppedCurve
from .steps import Stretch, change_point

__all__ = ["insert", "join", "refine", "refit"]


def join(spans: list[Span]) -> SteppedCurve:
    """The curve of consecutive spans (start, end, piece); empty spans left out, neighbours
    with the same piece joined."""
    kept: list[Span] = []
    for a, b, c in spans:
        if b <= a:
            continue
        if kept and kept[-1][2] is c:
            kept[-1] = (kept[-1][0], b, c)
        else:
            kept.append((a, b, c))
    return SteppedCurve(tuple(c for _, _, c in kept), tuple(a for a, _, _ in kept[1:]))


def insert(t_lst: np.ndarray, t_magic: np.ndarray, curve: SteppedCurve, piece: OffsetCurve,
           stretch: Stretch, window_ns: int) -> SteppedCurve:
    """The curve with ``piece`` holding over the stretch and as far on each side as its pairs
    outnumber those of the curve."""
    t_lo, t_end = int(t_lst[0]), int(t_lst[-1]) + 1
    il, _im = piece_pairs(t_lst, t_magic, curve, window_ns)
    current = t_lst[il]
    new = t_lst[near_pairs(t_lst, t_magic, piece, window_ns)[0]]
    left, _ = change_point(current, new, t_lo, stretch.start_ns - 1)
    right, _ = change_point(new, current, stretch.end_ns + 1, t_end - 1)
    return join([*curve.spans(t_lo, left), (left, right, piece), *curve.spans(right, t_end)])


def refit(t: np.ndarray, t_magic: np.ndarray, model: OffsetCurve, w: int) -> OffsetCurve:
    """The model fitted twice on the pairs within the window around it (as the end of
    :func:`~lmcoinc.clock.drift.track`), kept when they are too few."""
    for _ in range(2):
        il, im, _r = near_pairs(t, t_magic, model, w)
        if len(il) < MIN_SLICE_PAIRS:
            return model
        model = fit_offset_curve(t[il], t_magic[im] - t[il])
    return model


def _boundaries(t_lst: np.ndarray, t_magic: np.ndarray, spans: list[Span],
                w: int) -> list[Span]:
    """Each boundary moved to where the pairs of one piece stop and those of the next start."""
    spans = list(spans)
    for k in range(len(spans) - 1):
        (a, _, c1), (_, b, c2) = spans[k], spans[k + 1]
        tau, _ = change_point(pair_times(t_lst, t_magic, c1, a, b, w),
                              pair_times(t_lst, t_magic, c2, a, b, w), a, b - 1)
        tau = min(max(tau, a), b)
        spans[k], spans[k + 1] = (a, tau, c1), (tau, b, c2)
    return [s for s in spans if s[1] > s[0]]


def _merge(t_lst: np.ndarray, t_magic: np.ndarray, spans: list[Span],
           w: int) -> list[Span] | None:
    """The spans with one piece fewer, or None when every piece holds.

    Two neighbouring pieces whose offsets meet within the window at their
    boundary are one clock: the one with more pairs is refitted over both
    spans. A piece that adds fewer than ``MIN_PEAK_PAIRS`` pairs to what a
    neighbour pairs over its span is dropped, its span given to that neighbour.
    """
    def pairs(curve: OffsetCurve, a: int, b: int) -> int:
        return len(pair_times(t_lst, t_magic, curve, a, b, w))

    for k in range(len(spans) - 1):
        (a, tau, c1), (_, b, c2) = spans[k], spans[k + 1]
        if abs(float(c1(tau)) - float(c2(tau))) <= w:
            keep = c1 if pairs(c1, a, tau) >= pairs(c2, tau, b) else c2
            joined = refit(t_lst[slice(*np.searchsorted(t_lst, [a, b]))], t_magic, keep, w)
            return [*spans[:k], (a, b, joined), *spans[k + 2:]]
    for k, (a, b, c) in enumerate(spans):
        own = pairs(c, a, b)
        near = [j for j in (k - 1, k + 1) if 0 <= j < len(spans)]
        j = max(near, key=lambda j: pairs(spans[j][2], a, b))
        if own - pairs(spans[j][2], a, b) < MIN_PEAK_PAIRS:
            lo, hi, keep = spans[j]
            out = [*spans]
            out[j] = (min(lo, a), max(hi, b), keep)
            del out[k]
            return out
    return None


def refine(t_lst: np.ndarray, t_magic: np.ndarray, curve: SteppedCurve,
           window_ns: int) -> SteppedCurve:
    """Every piece refitted on its own pairs, its boundaries where its pairs stop; pieces that
    meet within the window joined, those that add too few pairs dropped (:func:`_merge`)."""
    w = window_ns
    t_lo, t_end = int(t_lst[0]), int(t_lst[-1]) + 1
    spans = curve.spans(t_lo, t_end)
    while True:
        spans = [(a, b, refit(t_lst[slice(*np.searchsorted(t_lst, [a, b]))], t_magic, c, w))
                 for a, b, c in spans]
        spans = _boundaries(t_lst, t_magic, spans, w)
        merged = _merge(t_lst, t_magic, spans, w) if len(spans) > 1 else None
        if merged is None:
            return join(spans)
        spans = merged
