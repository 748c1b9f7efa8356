"""clock/refine: placing a new piece of a stepped offset, refitting the pieces on their own
pairs, joining those that are one clock, on hand-made broken-GPS subruns."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.clock.curve import OffsetCurve
from lmcoinc.clock.drift import MIN_SLICE_PAIRS, near_pairs
from lmcoinc.clock.pieces import unexplained
from lmcoinc.clock.piecewise import SteppedCurve
from lmcoinc.clock.refine import insert, join, refine, refit

from ..helpers.driftdata import T0_NS, broken_gps, stepped_gps

BEFORE = OffsetCurve(T0_NS, (-3200.0,))
AFTER = OffsetCurve(T0_NS, (-153_200.0,))
STEP_NS = T0_NS + 5 * 10**9


def test_join_leaves_out_empty_spans_and_joins_equal_neighbours():
    a, b = OffsetCurve(0, (1.0,)), OffsetCurve(0, (2.0,))
    spans = [(0, 10, a), (10, 10, b), (10, 20, a), (20, 30, b), (30, 25, a)]
    curve = join(spans)
    assert curve.pieces == (a, b) and curve.breaks_ns == (20,)
    t = np.arange(0, 30)
    expected = np.where(t < 20, 1.0, 2.0)
    np.testing.assert_array_equal(curve(t), expected)


def test_insert_places_the_piece_where_its_pairs_outnumber():
    events, truth = stepped_gps("gps fine", 1)
    smooth = SteppedCurve.smooth(BEFORE)
    stretch = unexplained(events.t_lst, events.t_magic, smooth, 300)[0]
    curve = insert(events.t_lst, events.t_magic, smooth, AFTER, stretch, 300)
    assert curve.pieces == (BEFORE, AFTER)
    (step,) = curve.breaks_ns
    assert abs(step - STEP_NS) < 0.03e9
    t = np.linspace(events.t_lst[0], events.t_lst[-1], 200).astype(np.int64)
    away = np.abs(t - STEP_NS) > 0.03e9
    assert np.abs(curve(t) - truth(t))[away].max() < 50


def test_refit_follows_the_pairs_and_keeps_a_model_without_them():
    events, truth = broken_gps(seed=2, offset_ns=-3200.0, drift_ns_per_s=40.0)
    off = OffsetCurve(T0_NS, (-3100.0, 0.0))  # 100 ns off, no drift
    fitted = refit(events.t_lst, events.t_magic, off, 300)
    t = np.linspace(events.t_lst[0], events.t_lst[-1], 50).astype(np.int64)
    assert np.abs(fitted(t) - truth(t)).max() < 15
    nowhere, first = OffsetCurve(T0_NS, (-1e6,)), events.t_lst[:1000]
    assert len(near_pairs(first, events.t_magic, nowhere, 300)[0]) < MIN_SLICE_PAIRS
    assert refit(first, events.t_magic, nowhere, 300) is nowhere  # too few pairs: kept


def test_refine_joins_pieces_that_meet_within_the_window():
    events, truth = broken_gps(seed=4, offset_ns=-3200.0, drift_ns_per_s=0.0)
    t_lo = int(events.t_lst[0])
    halves = SteppedCurve((OffsetCurve(T0_NS, (-3150.0,)), OffsetCurve(T0_NS, (-3260.0,))),
                          (T0_NS + 4 * 10**9,))
    joined = refine(events.t_lst, events.t_magic, halves, 300)
    assert joined.breaks_ns == ()
    assert joined.pieces[0](t_lo) == pytest.approx(-3200.0, abs=20)
    apart = SteppedCurve((OffsetCurve(T0_NS, (-3200.0,)), OffsetCurve(T0_NS, (-4200.0,))),
                         (T0_NS + 4 * 10**9,))  # 1 µs apart, no pair on the second: dropped
    assert refine(events.t_lst, events.t_magic, apart, 300).breaks_ns == ()


def test_refine_moves_a_boundary_to_the_step():
    events, truth = stepped_gps("gps fine", 2)
    late = SteppedCurve((BEFORE, AFTER), (STEP_NS + 10**9,))  # placed 1 s late
    curve = refine(events.t_lst, events.t_magic, late, 300)
    (step,) = curve.breaks_ns
    assert abs(step - STEP_NS) < 0.03e9
    t = np.array([T0_NS + 10**9, T0_NS + 9 * 10**9])
    np.testing.assert_allclose(curve(t), truth(t), atol=20)
