"""Where an offset stops explaining the pairs: each function against its brute-force definition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.clock.drift import robust_line
from lmcoinc.clock.steps import (
    MIN_EVIDENCE,
    change_point,
    densest_line,
    max_subarray,
    pair_gaps,
    seed_line,
    strong_runs,
    unexplained_stretches,
)

T0 = 1_700_000_000 * 10**9


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), max_size=40))
def test_max_subarray_is_the_best_slice(values):
    score = np.array(values)
    i, j, best = max_subarray(score)
    sums = [(score[a:b].sum(), a, b) for a in range(len(score)) for b in range(a + 1,
                                                                               len(score) + 1)]
    top = max([s for s, _, _ in sums], default=0.0)
    if top <= 0:
        assert (i, j, best) == (0, 0, 0.0)
    else:
        assert best == pytest.approx(top) and score[i:j].sum() == pytest.approx(top)


def test_strong_runs_are_disjoint_and_each_above_the_evidence():
    rng = np.random.default_rng(2)
    score = np.where(rng.random(3000) < 0.6, -3.0, 0.8)
    score[500:560] = 0.8  # two runs of unexplained events
    score[2000:2100] = 0.8
    runs = sorted(strong_runs(score))
    assert [(i <= 500 and j >= 560) for i, j, _ in runs][:1] == [True]
    assert any(i <= 2000 and j >= 2100 for i, j, _ in runs) and len(runs) == 2
    for (i, j, best) in runs:
        assert best >= MIN_EVIDENCE and score[i:j].sum() == pytest.approx(best)


def _magic(n, p, rng, unpaired=()):
    u = T0 + np.sort(rng.integers(0, 10**10, n))
    paired = rng.random(n) < p
    for lo, hi in unpaired:
        paired[(u >= T0 + lo) & (u < T0 + hi)] = rng.random() < 0.003  # accidentals at most
    return u, paired


def test_a_stretch_of_unpaired_magic_events_is_found():
    rng = np.random.default_rng(4)
    t_lst = T0 + np.sort(rng.integers(0, 10**10, 50_000))
    u, paired = _magic(2500, 0.57, rng, [(4 * 10**9, 5 * 10**9)])
    (stretch,) = unexplained_stretches(u, paired, t_lst, 300)
    assert abs(stretch.start_ns - (T0 + 4 * 10**9)) < 2 * 10**7
    assert abs(stretch.end_ns - (T0 + 5 * 10**9)) < 2 * 10**7
    assert stretch.n_paired <= 2 and stretch.n_events > 200
    # Without: nothing, over many draws (chance runs of unpaired events are short).
    for seed in range(20):
        u, paired = _magic(2500, 0.57, np.random.default_rng(seed))
        assert unexplained_stretches(u, paired, t_lst, 300) == []


def test_no_stretch_where_lst_recorded_nothing_or_too_few_pairs():
    rng = np.random.default_rng(5)
    t_lst = T0 + np.sort(rng.integers(0, 10**10, 50_000))
    u, paired = _magic(2500, 0.57, rng, [(4 * 10**9, 5 * 10**9)])
    gap = t_lst[(t_lst < T0 + 4 * 10**9) | (t_lst >= T0 + 5 * 10**9)]  # LST-1 was dead there
    assert unexplained_stretches(u, paired, gap, 300) == []
    # An offset that pairs almost nothing: nothing can be told.
    assert unexplained_stretches(u, rng.random(2500) < 0.01, t_lst, 300) == []


def test_pair_gaps_where_the_pairs_stop():
    rng = np.random.default_rng(6)
    t = T0 + np.sort(rng.integers(0, 10**10, 1400))
    t = t[(t < T0 + 9_500_000_000)]  # the pairs stop 0.5 s before the end
    (gap,) = pair_gaps(t, T0, T0 + 10**10)
    assert gap.start_ns == t[-1] and gap.end_ns == T0 + 10**10 and gap.n_paired == 0
    inside = np.r_[t[t < T0 + 3 * 10**9], T0 + 3_200_000_000, t[t > T0 + 3_400_000_000]]
    found = pair_gaps(inside, T0, T0 + 10**10)  # a pair by chance within a gap: one gap
    assert any(g.start_ns < T0 + 3_010_000_000 and g.end_ns > T0 + 3_390_000_000
               and g.n_paired == 1 for g in found)
    assert pair_gaps(T0 + np.sort(rng.integers(0, 10**10, 1400)), T0, T0 + 10**10) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=12), st.lists(st.integers(0, 60), max_size=12))
def test_change_point_keeps_the_most_pairs(before, after):
    t_a, t_b = np.array(before, dtype=np.int64), np.array(after, dtype=np.int64)
    tau, kept = change_point(t_a, t_b, 0, 60)
    best = max(np.sum(t_a < x) + np.sum(t_b >= x) for x in range(0, 62))
    assert kept == best == np.sum(t_a < tau) + np.sum(t_b >= tau)
    assert 0 <= tau <= 61


def test_change_point_halfway_between_the_pairs():
    a = np.array([10, 20, 30], dtype=np.int64)
    b = np.array([50, 60], dtype=np.int64)
    assert change_point(a, b, 0, 100) == (40, 5)
    assert change_point(a, np.zeros(0, dtype=np.int64), 0, 100) == (101, 3)
    assert change_point(np.zeros(0, dtype=np.int64), b, 0, 100) == (0, 2)


def test_densest_line_against_all_bands():
    rng = np.random.default_rng(7)
    t = T0 + np.sort(rng.integers(0, 4 * 10**9, 60))
    x = (t - T0) * 1e-9
    d = np.where(np.arange(60) < 35, 1000.0 + 2000.0 * x, 150_000.0 - 500.0 * x)
    d = d + rng.normal(0, 50, 60)
    band = densest_line(t, d, 20_000.0, 300)
    assert band[:35].all() and not band[35:].any()


def test_seed_line_is_theil_sen_without_a_step_and_one_side_with():
    rng = np.random.default_rng(8)
    t = T0 + np.sort(rng.integers(0, 10**10, 300))
    x = (t - T0) * 1e-9
    steady = 2.437e9 + 3100.0 * x + rng.normal(0, 80, 300)
    assert seed_line(t, steady, 20_000.0, 300) == robust_line(t, steady)
    stepped = steady - 150_000.0 * (x >= 5.2)  # a step: Theil-Sen runs between the sides
    line = seed_line(t, stepped, 20_000.0, 300)
    assert np.count_nonzero(np.abs(line(t) - stepped) < 300) >= 0.45 * len(t)
    assert line.coef[1] == pytest.approx(3100.0, abs=50)
