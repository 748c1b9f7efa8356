"""The clock offset with steps, from the event times of hand-made broken-GPS subruns."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.clock.curve import OffsetCurve
from lmcoinc.clock.drift import DriftSearch, DriftSearchFailed, find_offset_curve
from lmcoinc.clock.piecewise import SteppedCurve
from lmcoinc.clock.stepped import find_stepped_curve, resolve_steps

from ..helpers.driftdata import STEP_CASES, T0_NS, broken_gps, stepped_gps

SEARCH = DriftSearch(window_ns=300, max_offset_ns=10**10, max_drift_ns_per_s=20_000.0)

@pytest.mark.parametrize("name", STEP_CASES)
def test_each_step_found_and_each_side_fitted(name):
    steps = STEP_CASES[name][2]
    for seed in (1, 2):
        events, truth = stepped_gps(name, seed)
        curve = find_stepped_curve(events.t_lst, events.intensity_lst, events.t_magic,
                                   events.intensity_magic, SEARCH)
        found = curve.steps()
        assert len(found) == len(steps), (name, seed, found)
        for step, (at_s, size) in zip(found, steps, strict=True):
            # between the last pair before and the first after: a few ms at 140 pairs/s
            assert abs(step.time_ns - T0_NS - at_s * 1e9) < 0.03e9
            assert step.size_ns == pytest.approx(size, abs=30)
        # each side follows the clock within the timestamps' spread, away from the steps
        t = T0_NS + np.linspace(0.05e9, 9.95e9, 400).astype(np.int64)
        away = np.all([np.abs(t - T0_NS - at * 1e9) > 0.05e9 for at, _ in steps], axis=0)
        assert np.abs(curve(t) - truth(t))[away].max() < 50


@pytest.mark.parametrize("seed", range(6))
def test_without_a_step_the_smooth_offset_exactly(seed):
    """No step: the drift search's offset itself (the same outputs as before steps); where
    the coarse search of the whole subrun finds no peak that stands out, that of its halves
    may, and it must then be the clock."""
    rng = np.random.default_rng(seed)
    events, truth = broken_gps(
        seed=seed, offset_ns=float(rng.choice([-3200, 2.437e9, -1.2e9])),
        drift_ns_per_s=float(rng.choice([0, 3100, -6500])),
        curvature_ns_per_s2=float(rng.choice([0, 500])), magic_rate_hz=float(rng.choice([250, 30])))
    args = events.t_lst, events.intensity_lst, events.t_magic, events.intensity_magic
    curve = find_stepped_curve(*args, SEARCH)
    try:
        assert curve == SteppedCurve.smooth(find_offset_curve(*args, SEARCH))
    except DriftSearchFailed:
        assert curve.breaks_ns == ()
        t = np.linspace(events.t_lst[0], events.t_lst[-1], 50).astype(np.int64)
        assert np.abs(curve(t) - truth(t)).max() < 100


def test_a_magic_data_gap_is_no_step():
    events, _ = broken_gps(seed=3, offset_ns=2.437e9, drift_ns_per_s=3100.0)
    clock = events.t_magic - int(2.437e9) - T0_NS
    keep = (clock < 3.5e9) | (clock > 5.0e9)  # no MAGIC data for 1.5 s
    args = (events.t_lst, events.intensity_lst, events.t_magic[keep],
            events.intensity_magic[keep])
    smooth = SteppedCurve.smooth(find_offset_curve(*args, SEARCH))
    curve, left = resolve_steps(*args, smooth, SEARCH)
    assert curve is smooth
    assert len(left) == 1  # the pairs stop there, and no offset explains it


def test_a_sparse_subrun_follows_the_steps_of_the_run():
    events, truth = broken_gps(seed=5, offset_ns=851e6, drift_ns_per_s=6000.0,
                               magic_rate_hz=15.0, steps=((5.0, -150_000.0),))
    at = T0_NS + 5 * 10**9
    prior = SteppedCurve(  # the run's model, 40 ns off on each side
        (OffsetCurve(at, (float(truth(at - 1)) + 40, 6000.0)),
         OffsetCurve(at, (float(truth(at)) - 40, 6000.0))), (at,))
    curve = find_stepped_curve(events.t_lst, events.intensity_lst, events.t_magic,
                               events.intensity_magic, SEARCH, prior)
    assert curve.breaks_ns == (at,)
    t = T0_NS + np.linspace(0.1e9, 9.9e9, 50).astype(np.int64)
    assert np.abs(curve(t) - truth(t)).max() < 60
