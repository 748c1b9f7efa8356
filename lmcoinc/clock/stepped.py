"""A clock offset with steps, from the event times: the pieces a smooth offset misses.

:func:`resolve_steps` starts from an offset over the whole subrun (drift
mode's smooth curve, or constant mode's one offset) and, while a stretch of
the subrun is left unexplained (:func:`lmcoinc.clock.pieces.unexplained`:
MAGIC events unpaired far beyond chance, or pairs that stop), searches the
offset of that stretch on the stretch's own events (:func:`search_stretch`:
first near the offset that fails there, then over the whole
``max_clock_offset``), lets it hold where its pairs outnumber those of the
current curve and refits every piece on its own pairs
(:mod:`lmcoinc.clock.refine`). :func:`find_stepped_curve` is drift mode's
search. Pure functions on int64 ns arrays; LST and MAGIC times sorted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from .curve import OffsetCurve
from .drift import (
    MIN_PEAK_PAIRS,
    TRACK_TOLERANCE_NS,
    DriftSearch,
    DriftSearchFailed,
    coarse_peak,
    find_offset_curve,
    follow_prior,
    near_pairs,
    robust_line,
    search_blocks,
    slice_peaks,
    track,
)
from .pieces import (
    covers,
    pair_times,
    piece_pairs,
    slice_groups,
    slice_peaks_of,
    stands_out,
    unexplained,
)
from .piecewise import SteppedCurve
from .refine import insert, join, refine, refit
from .steps import Stretch, densest_line, seed_line

__all__ = ["MAX_ROUNDS", "find_stepped_curve", "resolve_steps", "search_span", "search_stretch"]

#: Pieces searched at most per subrun and telescope.
MAX_ROUNDS = 8
#: Residuals searched around the offset that fails, before the coarse search (ns).
WIDE_TOLERANCE_NS = 10_000_000
#: Fewest bright LST events of the coarse search of a stretch.
MIN_BRIGHT = 200


def search_stretch(
    t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, stretch: Stretch, curve: SteppedCurve, search: DriftSearch,
) -> OffsetCurve | None:
    """The offset of the LST events of a stretch, or None when none stands out.

    :func:`search_span` on them, near the piece of the curve there, on the
    MAGIC events that the curve leaves unpaired (the others belong to other
    pieces); it must pair more than twice what that piece pairs there.
    """
    i0, i1 = np.searchsorted(t_lst, [stretch.start_ns, stretch.end_ns + 1])
    t, w = t_lst[i0:i1], search.window_ns
    if i1 - i0 < MIN_PEAK_PAIRS:
        return None
    guess = curve.pieces[int(curve.piece_index((int(t[0]) + int(t[-1])) // 2))]
    free = np.ones(len(t_magic), dtype=bool)
    free[piece_pairs(t_lst, t_magic, curve, w)[1]] = False
    return search_span(t, intensity_lst[i0:i1], t_magic, intensity_magic, free, guess, search,
                       current=len(near_pairs(t, t_magic, guess, w)[0]))


def search_span(
    t: np.ndarray, intensity: np.ndarray, t_magic: np.ndarray, intensity_magic: np.ndarray,
    free: np.ndarray, guess: OffsetCurve | None, search: DriftSearch, current: int = 0,
) -> OffsetCurve | None:
    """The offset of LST events ``t``, wherever it holds among them; None when none stands out.

    Tracked over them from each start of :func:`_starts` in turn, the
    strongest piece of the track (:func:`_strongest_piece`) must pair
    significantly (:func:`~lmcoinc.clock.pieces.stands_out`) and more than
    twice ``current``.
    """
    for start, fitted in _starts(t, intensity, t_magic, intensity_magic, free, guess, search):
        try:
            model = _strongest_piece(t, t_magic, track(t, t_magic, start, fitted, search),
                                     search)
        except DriftSearchFailed:
            continue
        if model is not None and stands_out(t, t_magic, model, search.window_ns) > 2 * current:
            return model
    return None


def _starts(
    t: np.ndarray, intensity: np.ndarray, t_magic: np.ndarray, intensity_magic: np.ndarray,
    free: np.ndarray, guess: OffsetCurve | None, search: DriftSearch,
) -> Iterator[tuple[OffsetCurve, tuple[int, int]]]:
    """Lines to track the offset of LST events ``t`` from, and the range each holds over.

    All on the MAGIC events ``free``. First (with a ``guess``) the densest
    residual within the tracking tolerance of it (a small step), then within
    :data:`WIDE_TOLERANCE_NS`. Then the coarse search over
    ``max_clock_offset``, with bright events in proportion to the span (the
    fewer, the less chance background) and as many as for a whole block;
    then on its halves and quarters, the middle first: a span that holds two
    offsets gives each a peak, which no longer stands out above the other.
    """
    w = search.window_ns
    span = (int(t[0]), int(t[-1]))
    for tolerance in (TRACK_TOLERANCE_NS, WIDE_TOLERANCE_NS) if guess is not None else ():
        _il, _im, r = near_pairs(t, t_magic[free], guess, tolerance)
        keep = slice_peaks(np.zeros(len(r), dtype=np.int64), r, w, tolerance)
        if keep.sum() >= MIN_PEAK_PAIRS:
            yield guess.shifted(float(np.median(r[keep]))), span
    for parts in (1, 2, 4):
        length = (span[1] - span[0]) // parts + 1
        scaled = max(MIN_BRIGHT, search.n_events * length // search.block_ns)
        counts = sorted({min(scaled, search.n_events), search.n_events}) if parts == 1 else [
            min(scaled, search.n_events)]
        for block in search_blocks(*span, length):
            for n_events in counts:
                try:
                    bright_t, bright_d = coarse_peak(
                        t, intensity, t_magic[free], intensity_magic[free],
                        replace(search, n_events=n_events), block)
                except DriftSearchFailed:
                    continue
                band = densest_line(bright_t, bright_d, search.max_drift_ns_per_s, w)
                yield seed_line(bright_t, bright_d, search.max_drift_ns_per_s, w), block
                yield robust_line(bright_t[band], bright_d[band]), block


def _strongest_piece(t_lst: np.ndarray, t_magic: np.ndarray, model: OffsetCurve,
                     search: DriftSearch) -> OffsetCurve | None:
    """The piece of a tracked model with the most pairs in its slices' peaks: tracking may
    have followed a chance cluster beyond a step, or bent through a small one."""
    peaks = slice_peaks_of(t_lst, t_magic, SteppedCurve.smooth(model), search)
    groups = slice_groups(peaks, int(t_lst[-1]) + 1, search.window_ns)
    if len(groups) == 1 and peaks.strong.all():
        return model
    best = None
    for a, b, piece in groups:
        n = len(pair_times(t_lst, t_magic, piece, a, b, search.window_ns))
        if best is None or n > best[0]:
            best = (n, piece, a, b)
    if best is None:
        return None
    _n, piece, a, b = best
    return refit(t_lst[slice(*np.searchsorted(t_lst, [a, b]))], t_magic, piece,
                 search.window_ns)


def resolve_steps(
    t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, start: SteppedCurve, search: DriftSearch,
) -> tuple[SteppedCurve, list[Stretch]]:
    """The pieces that ``start`` misses, found and fitted; and what stays unexplained.

    Returns
    -------
    (SteppedCurve, list of Stretch)
        ``start`` itself when it leaves no stretch unexplained; else the curve
        with the pieces found, and the stretches it still leaves unpaired.
    """
    w = search.window_ns
    curve, tried = start, []
    if len(start.pieces) == 1:
        peaks = slice_peaks_of(t_lst, t_magic, start, search)
        if not unexplained(t_lst, t_magic, start, w, peaks.fraction):
            return start, []
        # the start may bend through a step within the tracking tolerance: its slices' peaks
        groups = slice_groups(peaks, int(t_lst[-1]) + 1, w)
        curve = refine(t_lst, t_magic, join(groups), w) if groups else start
    for _ in range(MAX_ROUNDS):
        stretches = [s for s in unexplained(t_lst, t_magic, curve, w)
                     if not any(covers(f, s) for f in tried)]
        if not stretches:
            break
        piece = None
        for stretch in stretches:
            piece = search_stretch(t_lst, intensity_lst, t_magic, intensity_magic, stretch,
                                   curve, search)
            if piece is not None:
                break
            tried.append(stretch)  # in vain: not searched again
        if piece is None:
            break
        curve = refine(t_lst, t_magic, insert(t_lst, t_magic, curve, piece, stretch, w), w)
    if len(curve.pieces) == 1:  # no step after all: the offset as it was found
        curve = start
    return curve, unexplained(t_lst, t_magic, curve, w)


def find_stepped_curve(
    t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, search: DriftSearch, prior: SteppedCurve | None = None,
) -> SteppedCurve:
    """The clock offset of LST-1 and one MAGIC telescope, with its steps.

    The smooth offset of :func:`~lmcoinc.clock.drift.find_offset_curve`, then
    the pieces it misses (:func:`resolve_steps`). A prior (the run's, in a
    batch) is followed piece by piece instead (its steps kept; a piece with
    too few events stays the prior's).

    Raises
    ------
    DriftSearchFailed
        With the reason.
    """
    if prior is not None:
        return _follow(t_lst, t_magic, prior, search)
    smooth = _smooth_search(t_lst, intensity_lst, t_magic, intensity_magic, search)
    return resolve_steps(t_lst, intensity_lst, t_magic, intensity_magic,
                         SteppedCurve.smooth(smooth), search)[0]


def _smooth_search(
    t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, search: DriftSearch,
) -> OffsetCurve:
    """:func:`~lmcoinc.clock.drift.find_offset_curve` from the line of
    :func:`~lmcoinc.clock.steps.seed_line`; when it fails (the bright pairs of
    several offsets in the coarse search, a track through steps), the offset
    of :func:`search_span` over the whole span, which holds where it holds."""
    try:
        return find_offset_curve(
            t_lst, intensity_lst, t_magic, intensity_magic, search,
            line=lambda t, d: seed_line(t, d, search.max_drift_ns_per_s, search.window_ns))
    except DriftSearchFailed as failure:
        model = search_span(t_lst, intensity_lst, t_magic, intensity_magic,
                            np.ones(len(t_magic), dtype=bool), None, search)
        if model is None:
            raise failure from None
        return model


def _follow(t_lst: np.ndarray, t_magic: np.ndarray, prior: SteppedCurve,
            search: DriftSearch) -> SteppedCurve:
    """:func:`~lmcoinc.clock.drift.follow_prior` on each piece of the prior within the LST span."""
    spans = prior.spans(int(t_lst[0]), int(t_lst[-1]) + 1)
    if len(spans) == 1:
        return SteppedCurve.smooth(follow_prior(t_lst, t_magic, spans[0][2], search))
    pieces, followed = [], 0
    for a, b, piece in spans:
        i0, i1 = np.searchsorted(t_lst, [a, b])
        try:
            pieces.append(follow_prior(t_lst[i0:i1], t_magic, piece, search))
            followed += 1
        except (DriftSearchFailed, IndexError):
            pieces.append(piece)
    if not followed:
        raise DriftSearchFailed("no piece of the run's clock offset is followed by the pairs")
    return SteppedCurve(tuple(pieces), tuple(a for a, _, _ in spans[1:]))
