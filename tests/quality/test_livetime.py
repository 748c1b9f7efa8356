"""Effective time: the trigger fit, the gap-free spans and the combined live time, against
brute force and a two-system simulation with known dead times."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.quality.livetime import (
    combined_live_fraction,
    covered_intervals,
    effective_time,
    fit_triggers,
    intersect_intervals,
    total_ns,
)

from ..helpers.detectors import accepted, two_systems


def _dead_time_stream(rng, rate_hz, dead_ns, n):
    raw = np.cumsum(rng.exponential(1e9 / rate_hz, n)).astype(np.int64)
    return raw[accepted(raw, dead_ns)]


@pytest.mark.parametrize(("rate_hz", "dead_ns"), [(6000.0, 7600), (300.0, 26000), (25000.0, 7600)])
def test_fit_recovers_rate_and_dead_time(rate_hz, dead_ns):
    t = _dead_time_stream(np.random.default_rng(int(rate_hz)), rate_hz, dead_ns, 30_000)
    fit = fit_triggers(np.diff(t) * 1e-9)
    assert fit.rate_hz == pytest.approx(rate_hz, rel=0.03)
    assert fit.dead_time_s * 1e9 == pytest.approx(dead_ns, abs=0.02 * 1e9 / rate_hz + 50)
    # the live fraction of the stream: each accepted trigger but the last is dead for dead_ns
    live = 1 - (len(t) - 1) * dead_ns / (t[-1] - t[0])
    assert fit.live_fraction == pytest.approx(live, rel=0.002)


def test_dead_time_unbiased_with_few_events():
    """A subrun's few hundred MAGIC triggers: the edge is the smallest time difference, which
    lies on average 1/(N rate) above the dead time."""
    rng = np.random.default_rng(8)
    found = [fit_triggers(np.diff(_dead_time_stream(rng, 300.0, 26000, 800)) * 1e-9)
             for _ in range(80)]
    dead_us = np.array([f.dead_time_s for f in found]) * 1e6
    assert dead_us.mean() == pytest.approx(26.0, abs=1.5)  # 80 draws of ~5 µs scatter
    assert dead_us.std() < 6.0


def test_fit_ignores_gaps_outliers_and_junk():
    t = _dead_time_stream(np.random.default_rng(2), 5000.0, 7600, 20_000)
    dt = np.diff(t) * 1e-9
    clean = fit_triggers(dt)
    junk = np.concatenate([dt, [0.0, -1e-3, np.nan, np.inf, 3.0, 40.0], np.full(5, 1e-6)])
    dirty = fit_triggers(junk)
    assert dirty.rate_hz == pytest.approx(clean.rate_hz, rel=1e-3)
    assert dirty.dead_time_s == pytest.approx(clean.dead_time_s, abs=1.5e-7)
    assert fit_triggers(dt[:10]) is None
    assert fit_triggers(dt, dead_time_s=26e-6).dead_time_s == 26e-6


def _cells(t, gap):
    """Brute force: the unit cells [x, x + 1) between consecutive events closer than ``gap``."""
    t = sorted(t)
    return {x for a, b in zip(t[:-1], t[1:], strict=True) if b - a <= gap for x in range(a, b)}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 400), max_size=30), st.lists(st.integers(0, 400), max_size=30),
       st.integers(0, 60), st.integers(0, 90))
def test_spans_and_intersection_match_bruteforce(a, b, gap, lead):
    ia = covered_intervals(np.array(a, dtype=np.int64), gap * 1e-9)
    ib = covered_intervals(np.array(b, dtype=np.int64), gap * 1e-9)
    assert total_ns(ia) == len(_cells(a, gap))
    # the trigger before the first event, when it is no gap
    led = covered_intervals(np.array(a, dtype=np.int64), gap * 1e-9, lead * 1e-9)
    before = [min(a) - lead] if a and 0 < lead <= gap else []
    assert total_ns(led) == len(_cells(a + before, gap))
    assert total_ns(intersect_intervals(ia, ib)) == len(_cells(a, gap) & _cells(b, gap))


def test_effective_time_matches_the_true_live_time():
    sim = two_systems(np.random.default_rng(4), duration_s=3.0)
    n_common = int(np.isin(sim.lst_shower[sim.lst_shower >= 0], sim.magic_shower).sum())
    found = effective_time(sim.lst_t, sim.lst_diff, sim.magic_t - sim.offset, sim.magic_diff,
                           n_common)
    assert found.elapsed_s == pytest.approx(sim.duration_ns * 1e-9, rel=1e-3)
    assert found.effective_s == pytest.approx(sim.live_ns * 1e-9, rel=0.002)
    # without the dead time shared by the common triggers it would be too small
    product = found.elapsed_s * found.lst.live_fraction * found.magic.live_fraction
    assert product < found.effective_s
    assert combined_live_fraction(found.lst, found.magic) == pytest.approx(
        found.lst.live_fraction * found.magic.live_fraction)


def test_gaps_are_left_out_of_the_elapsed_time():
    sim = two_systems(np.random.default_rng(5), duration_s=2.0)
    stop = (sim.lst_t > 0.5e9) & (sim.lst_t < 1.0e9)  # LST-1 records nothing for 0.5 s
    lst_t, lst_diff = sim.lst_t[~stop], sim.lst_diff[~stop]
    found = effective_time(lst_t, lst_diff, sim.magic_t - sim.offset, sim.magic_diff)
    assert found.elapsed_s == pytest.approx(1.5, rel=2e-3)
    assert found.lst.rate_hz == pytest.approx(
        effective_time(sim.lst_t, sim.lst_diff, sim.magic_t - sim.offset,
                       sim.magic_diff).lst.rate_hz, rel=0.02)
