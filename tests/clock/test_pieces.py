"""clock/pieces: the pairs of each piece of a stepped offset, the LST time of each MAGIC
event under it, what it leaves unexplained, the slice peaks around it, on hand-made
broken-GPS subruns (against brute force where a definition allows)."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.clock.curve import OffsetCurve
from lmcoinc.clock.drift import DriftSearch, near_pairs
from lmcoinc.clock.pieces import (
    covers,
    magic_lst_times,
    pair_times,
    piece_pairs,
    slice_groups,
    slice_peaks_of,
    stands_out,
    unexplained,
)
from lmcoinc.clock.piecewise import SteppedCurve
from lmcoinc.clock.stepped import find_stepped_curve
from lmcoinc.clock.steps import Stretch

from ..helpers import bruteforce
from ..helpers.driftdata import T0_NS, stepped_gps

SEARCH = DriftSearch(window_ns=300, max_offset_ns=10**10, max_drift_ns_per_s=20_000.0)
#: The clock of the "gps fine" case before and after its step (-150 µs at 5 s).
BEFORE = OffsetCurve(T0_NS, (-3200.0,))
AFTER = OffsetCurve(T0_NS, (-153_200.0,))
STEP_NS = T0_NS + 5 * 10**9


def test_piece_pairs_and_magic_lst_times_against_brute_force():
    events, truth = stepped_gps("two steps", 1)
    curve = find_stepped_curve(events.t_lst, events.intensity_lst, events.t_magic,
                               events.intensity_magic, SEARCH)
    il, im = piece_pairs(events.t_lst, events.t_magic, curve, 300)
    rows = np.arange(0, len(events.t_lst), 11)
    expected = set()
    for piece_rows, piece in _by_piece(curve, events.t_lst, rows):
        expected |= {(int(piece_rows[i]), j) for i, j in bruteforce.near_pairs(
            events.t_lst[piece_rows], events.t_magic, piece, 300)}
    mine = np.isin(il, rows)
    assert set(zip(il[mine].tolist(), im[mine].tolist(), strict=True)) == expected
    u = magic_lst_times(events.t_magic, curve)
    inside = (u > events.t_lst[0]) & (u < events.t_lst[-1])
    error = np.abs(u + np.rint(curve(u)).astype(np.int64) - events.t_magic)[inside]
    # where the clock jumps back 2 ms, a MAGIC time of those 2 ms has an LST time on each side
    assert np.mean(error <= 1) > 0.99


def _by_piece(curve, t_lst, rows):
    which = curve.piece_index(t_lst[rows])
    return [(rows[which == k], piece) for k, piece in enumerate(curve.pieces)]


def test_pair_times_against_brute_force():
    events, _ = stepped_gps("gps fine", 2)
    lo, end = T0_NS + 2 * 10**9, T0_NS + 3 * 10**9
    found = pair_times(events.t_lst, events.t_magic, BEFORE, lo, end, 300)
    inside = np.flatnonzero((events.t_lst >= lo) & (events.t_lst < end))
    pairs = bruteforce.near_pairs(events.t_lst[inside], events.t_magic, BEFORE, 300)
    np.testing.assert_array_equal(found, events.t_lst[inside][[i for i, _ in pairs]])
    assert len(found) > 50
    # after the step the old offset pairs by chance only
    assert len(pair_times(events.t_lst, events.t_magic, BEFORE, STEP_NS + 10**8,
                          STEP_NS + 11 * 10**8, 300)) < 5


def test_unexplained_finds_what_follows_a_step():
    events, _ = stepped_gps("gps fine", 1)
    found = unexplained(events.t_lst, events.t_magic, SteppedCurve.smooth(BEFORE), 300)
    strongest = found[0]
    assert abs(strongest.start_ns - STEP_NS) < 0.03e9
    assert strongest.end_ns > events.t_lst[-1] - 0.03e9
    assert strongest.n_events > 10 * strongest.n_paired
    assert [s.evidence for s in found] == sorted((s.evidence for s in found), reverse=True)
    # the curve with the step explains every stretch
    stepped = SteppedCurve((BEFORE, AFTER), (STEP_NS,))
    assert all(s.evidence < strongest.evidence / 10
               for s in unexplained(events.t_lst, events.t_magic, stepped, 300))


def test_stands_out_counts_the_pairs_of_the_clock_only():
    events, _ = stepped_gps("gps fine", 1)
    first = events.t_lst[events.t_lst < STEP_NS]
    n = stands_out(first, events.t_magic, BEFORE, 300)
    assert n == len(near_pairs(first, events.t_magic, BEFORE, 300)[0]) > 100
    assert stands_out(first, events.t_magic, AFTER, 300) == 0
    assert stands_out(first, events.t_magic, OffsetCurve(T0_NS, (-1e6,)), 300) == 0


def test_slice_groups_cut_where_the_slices_disagree():
    """A 1 µs step lies within the tracking tolerance: every slice's peak is strong, and
    the slices on each side make one piece each, fitted to the clock of that side."""
    events, truth = stepped_gps("1 us", 1)
    peaks = slice_peaks_of(events.t_lst, events.t_magic, SteppedCurve.smooth(BEFORE), SEARCH)
    assert peaks.strong.all()
    assert 0 < peaks.fraction <= 1
    spans = slice_groups(peaks, int(events.t_lst[-1]) + 1, 300)
    assert len(spans) == 2
    (a, tau, first), (tau_, end, second) = spans
    assert a == peaks.starts[0] and tau == tau_ and end == events.t_lst[-1] + 1
    assert abs(tau - STEP_NS) <= 10**9  # at the edge of the slice that follows the step
    assert first(a) == pytest.approx(truth(a), abs=20)
    assert second(end) == pytest.approx(truth(end - 1), abs=20)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((0, 10), (2, 8), True), ((0, 10), (5, 15), True), ((0, 10), (6, 16), False),
    ((0, 10), (20, 30), False), ((4, 5), (0, 10), False)])
def test_covers_most_of_a_stretch(a, b, expected):
    def stretch(span):
        return Stretch(span[0], span[1], 0, 0, 0.0)

    assert covers(stretch(a), stretch(b)) is expected
