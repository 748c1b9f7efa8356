"""Where an offset stops explaining the pairs, and where one offset gives way to another.

A clock step shows in the MAGIC events: under the offset that holds before
the step, about a fixed fraction ``p`` of them find an LST partner within the
window; after it, only the accidental ones do. :func:`unexplained_stretches`
finds the runs of MAGIC events (in LST time) that an offset leaves unpaired
far beyond chance: the stretches of largest log-likelihood ratio of "paired
with probability ``q`` (accidental)" against "with probability ``p``"
(:data:`MIN_EVIDENCE` nats at least, i.e. some 25 unpaired MAGIC events in a
row at a typical ``p`` of 0.5), where LST-1 did record events.
:func:`change_point` puts the boundary between two offsets where the pairs of
the first stop and those of the second start. Pure functions on int64 ns arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .curve import OffsetCurve
from .drift import robust_line

__all__ = [
    "MIN_EVIDENCE",
    "Stretch",
    "change_point",
    "densest_line",
    "max_subarray",
    "pair_gaps",
    "seed_line",
    "strong_runs",
    "unexplained_stretches",
]

#: Log-likelihood ratio (nats) that an unexplained stretch must reach.
MIN_EVIDENCE = 20.0
#: Paired fraction taken where the offset is wrong, at least (accidentals, and a margin).
MIN_WRONG_FRACTION = 0.01
#: Below this paired fraction nothing is said: too few pairs to tell a step from chance.
MIN_PAIRED_FRACTION = 0.05
#: MAGIC events per block when the paired fraction of the good blocks is measured.
BLOCK_EVENTS = 100
#: A stretch counts only where LST-1 recorded at least this fraction of its mean rate.
MIN_LST_FRACTION = 0.3


@dataclass(frozen=True)
class Stretch:
    """MAGIC events that an offset leaves unpaired, far beyond chance.

    Attributes
    ----------
    start_ns, end_ns : int
        LST time of the first and the last of them.
    n_events, n_paired : int
        MAGIC events in the stretch (0: a stretch of LST time where the pairs
        stop, :func:`pair_gaps`), and how many pairs the offset has there.
    evidence : float
        Log-likelihood ratio (nats) of the stretch being unexplained.
    """

    start_ns: int
    end_ns: int
    n_events: int
    n_paired: int
    evidence: float


def max_subarray(score: np.ndarray) -> tuple[int, int, float]:
    """The slice ``[i, j)`` of largest sum, and the sum (``(0, 0, 0.0)`` when none is positive)."""
    if len(score) == 0:
        return 0, 0, 0.0
    total = np.concatenate([[0.0], np.cumsum(score)])
    low = np.minimum.accumulate(total)
    j = int(np.argmax(total - low))
    best = float(total[j] - low[j])
    if best <= 0:
        return 0, 0, 0.0
    i = int(np.flatnonzero(total[: j + 1] == low[j])[-1])
    return i, j, best


def strong_runs(score: np.ndarray) -> list[tuple[int, int, float]]:
    """The disjoint slices ``[i, j)`` whose sum reaches :data:`MIN_EVIDENCE`, and the sums:
    the largest (:func:`max_subarray`), then the largest of what lies on either side."""
    found, todo = [], [(0, len(score))]
    while todo:
        lo, hi = todo.pop()
        i, j, best = max_subarray(score[lo:hi])
        if best >= MIN_EVIDENCE:
            found.append((lo + i, lo + j, best))
            todo += [(lo, lo + i), (lo + j, hi)]
    return found


def _reference_fraction(paired: np.ndarray) -> float:
    """The paired fraction where the offset holds: the upper quartile of blocks of
    :data:`BLOCK_EVENTS` MAGIC events (at least the overall fraction)."""
    n_blocks = max(1, len(paired) // BLOCK_EVENTS)
    fractions = [float(np.mean(b)) for b in np.array_split(paired, n_blocks)]
    return max(float(np.quantile(fractions, 0.75)), float(np.mean(paired)))


def unexplained_stretches(
    u_ns: np.ndarray, paired: np.ndarray, t_lst: np.ndarray, window_ns: int,
    reference: float = 0.0,
) -> list[Stretch]:
    """The stretches of MAGIC events that an offset leaves unpaired beyond chance.

    Parameters
    ----------
    u_ns : numpy.ndarray of int64
        LST time of each MAGIC event under the offset (its time minus the
        offset), sorted.
    paired : numpy.ndarray of bool
        Whether each has an LST partner within the window under the offset.
    t_lst : numpy.ndarray of int64
        The LST times (sorted): their rate gives the accidental pairs, and a
        stretch where LST-1 recorded few events is no evidence.
    window_ns : int
        The coincidence window half width.
    reference : float
        The paired fraction where the offset holds, when known better than
        from ``paired`` (at least the upper quartile of its blocks of
        :data:`BLOCK_EVENTS` MAGIC events is taken).

    Returns
    -------
    list of Stretch
        Disjoint, the strongest first; empty when the offset pairs too few
        MAGIC events anywhere to tell (below :data:`MIN_PAIRED_FRACTION`).
    """
    n = len(u_ns)
    if n < BLOCK_EVENTS or len(t_lst) < 2:
        return []
    p = min(max(_reference_fraction(paired), reference), 0.95)
    if p < MIN_PAIRED_FRACTION:
        return []
    lst_rate = (len(t_lst) - 1) / max(int(t_lst[-1] - t_lst[0]), 1)  # per ns
    q = min(p / 4, max(MIN_WRONG_FRACTION, 3 * lst_rate * (2 * window_ns + 1)))
    score = np.where(paired, np.log(q / p), np.log((1 - q) / (1 - p)))
    found = []
    for i, j, evidence in strong_runs(score):
        start, end = int(u_ns[i]), int(u_ns[j - 1])
        n_lst = np.searchsorted(t_lst, end, "right") - np.searchsorted(t_lst, start, "left")
        if n_lst >= MIN_LST_FRACTION * lst_rate * (end - start):
            found.append(Stretch(start, end, j - i, int(np.sum(paired[i:j])), evidence))
    return sorted(found, key=lambda s: -s.evidence)


def pair_gaps(t_pairs: np.ndarray, t_lo: int, t_hi: int) -> list[Stretch]:
    """The stretches of ``[t_lo, t_hi]`` where the pairs stop, far beyond chance.

    Where the offset is wrong, its pairs are the accidental ones, a hundredth
    (:data:`MIN_WRONG_FRACTION`) of its rate where it holds, or fewer; that
    rate is the upper quartile of blocks of :data:`BLOCK_EVENTS` pairs. The
    stretches of largest log-likelihood ratio, :data:`MIN_EVIDENCE` at least
    (as :func:`unexplained_stretches`, on the LST side: it sees the MAGIC
    events that an offset maps beyond the LST span, a MAGIC data gap too).

    Parameters
    ----------
    t_pairs : numpy.ndarray of int64
        LST times of the pairs (sorted).
    t_lo, t_hi : int
        The LST span.
    """
    if len(t_pairs) < 2:
        return []
    blocks = np.array_split(t_pairs, max(1, len(t_pairs) // BLOCK_EVENTS))
    rates = [(len(b) - 1) / max(int(b[-1] - b[0]), 1) for b in blocks if len(b) > 1]
    rate = float(np.quantile(rates, 0.75))
    edges = np.concatenate([[t_lo], t_pairs, [t_hi]])
    gaps = rate * (1 - MIN_WRONG_FRACTION) * np.diff(edges)
    score = np.full(2 * len(gaps) - 1, np.log(MIN_WRONG_FRACTION))
    score[::2] = gaps  # gap, pair, gap, ..., gap
    # score[2k] is the gap from edges[k] to edges[k + 1]: a run starts and ends with gaps
    found = [Stretch(int(edges[i // 2]), int(edges[(j + 1) // 2]), 0, (j - i) // 2, evidence)
             for i, j, evidence in strong_runs(score)]
    return sorted(found, key=lambda s: -s.evidence)


def change_point(t_before: np.ndarray, t_after: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """Where one offset gives way to another within ``[lo, hi]``.

    The boundary ``tau`` maximises the pairs of the first offset before it
    plus those of the second from it on; it lies halfway between the two pair
    times around it (``lo``: the second offset holds throughout; ``hi + 1``:
    the first does). Of equally good boundaries, the middle one.

    Parameters
    ----------
    t_before, t_after : numpy.ndarray of int64
        LST times of the pairs of the first and of the second offset (any order).
    lo, hi : int
        The range searched (ns, both included); pairs outside it are ignored.

    Returns
    -------
    (int, int)
        ``tau`` and the pairs the two offsets then keep.
    """
    a = np.sort(t_before[(t_before >= lo) & (t_before <= hi)])
    b = np.sort(t_after[(t_after >= lo) & (t_after <= hi)])
    t = np.concatenate([a, b])
    order = np.argsort(t, kind="stable")
    t = t[order]
    gain = np.where(order < len(a), 1, -1)
    score = np.concatenate([[0], np.cumsum(gain)]) + len(b)  # pairs kept, tau after k events
    cut = np.ones(len(t) + 1, dtype=bool)
    cut[1:-1] = t[1:] > t[:-1]  # tau cannot fall between equal times
    score = np.where(cut, score, -1)
    best = np.flatnonzero(score == score.max())
    k = int(best[len(best) // 2])
    if k == 0:
        return lo, int(score[k])
    if k == len(t):
        return hi + 1, int(score[k])
    return int(t[k - 1] + (t[k] - t[k - 1] + 1) // 2), int(score[k])


def densest_line(t: np.ndarray, d: np.ndarray, max_drift_ns_per_s: float,
                 half_width_ns: int) -> np.ndarray:
    """Which points lie in the band ``±half_width`` around the line through most of them.

    The slopes within ``±max_drift`` in steps that move the ends by
    ``half_width`` at most; at each, the densest band of ``d - slope * t``.

    Parameters
    ----------
    t, d : numpy.ndarray
        Times (int64 ns) and offsets (ns) of the points.

    Returns
    -------
    numpy.ndarray of bool
        The points of the best band (the first slope of the most points).
    """
    x = (t - int(np.median(t))) * 1e-9
    span = max(float(np.ptp(x)), 1e-9)
    n_slopes = 2 * int(np.ceil(max_drift_ns_per_s * span / half_width_ns)) + 1
    slopes = np.linspace(-max_drift_ns_per_s, max_drift_ns_per_s, n_slopes)
    y = np.sort(d[None, :] - slopes[:, None] * x[None, :], axis=1)
    counts = np.array([np.searchsorted(row, row + 2 * half_width_ns, "right") for row in y])
    counts -= np.arange(len(t))[None, :]
    s, i = np.unravel_index(int(np.argmax(counts)), counts.shape)
    residual = d - slopes[s] * x
    return (residual >= y[s, i]) & (residual <= y[s, i] + 2 * half_width_ns)


def seed_line(t: np.ndarray, d: np.ndarray, max_drift_ns_per_s: float,
              window_ns: int) -> OffsetCurve:
    """The line through the bright pairs of the coarse peak, robust to a clock step among them.

    The Theil–Sen line (:func:`~lmcoinc.clock.drift.robust_line`) when it
    passes within the window of at least four fifths of the points of the
    densest band (:func:`densest_line`): a clock without a step. Else the
    points of two offsets mix in the peak and the Theil–Sen line runs between
    them: the line through the densest band's points only.
    """
    line = robust_line(t, d)
    band = densest_line(t, d, max_drift_ns_per_s, window_ns)
    if np.count_nonzero(np.abs(d - line(t)) <= window_ns) >= 0.8 * np.count_nonzero(band):
        return line
    return robust_line(t[band], d[band])
