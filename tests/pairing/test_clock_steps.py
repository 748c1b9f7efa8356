"""Clock steps within a subrun through the offset models: constant mode's warning, the run's
curve of drift mode; on hand-made event streams."""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
import pytest

from lmcoinc.config import load_config
from lmcoinc.pairing import TelescopeEvents, offset_model
from lmcoinc.pairing.clock_steps import describe_step, missed_steps
from lmcoinc.pairing.drift_model import Model as DriftModel
from lmcoinc.pairing.drifting import drift_search
from lmcoinc.pairing.telescope import coincide_telescope
from lmcoinc.results import ClockStep

from ..helpers.driftdata import T0_NS, broken_gps

SUBRUN = "dl1_LST-1.Run03265.0002.h5"


def _telescope(events) -> TelescopeEvents:
    zeros = np.zeros(len(events.t_magic))
    return TelescopeEvents(2, "MAGIC-I", events.t_lst, events.intensity_lst, events.t_magic,
                           events.intensity_magic, zeros + 1.2, zeros, SUBRUN)


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_constant_mode_keeps_its_pairs_and_warns_of_the_step(caplog):
    events, _ = broken_gps(seed=31, offset_ns=-3200.0, drift_ns_per_s=0.0,
                           steps=((5.0, -150_000.0),))
    config = load_config(None)
    with caplog.at_level(logging.WARNING):
        found = offset_model(config).coincide(_telescope(events))
    reference = coincide_telescope(events.t_lst, events.intensity_lst, events.t_magic,
                                   events.intensity_magic, window_ns=300,
                                   pre_offset_search_events=config.n_pre_offset_search_events,
                                   offset_range_ns=(0, 0))
    assert found.average_offset_ns == reference.average_offset_ns
    assert np.array_equal(found.idx_lst, reference.idx_lst)
    assert np.array_equal(found.candidates[found.idx_magic],
                          reference.candidates[reference.idx_magic])
    (step,) = found.steps
    assert step.size_ns == pytest.approx(-150_000.0, abs=30)
    assert abs(step.time_ns - (T0_NS + 5 * 10**9)) < 0.03e9
    (warning,) = [w for w in _warnings(caplog) if "steps by" in w]
    assert warning.startswith(f"{SUBRUN}: MAGIC-I: the clock offset steps by -150.0")
    assert "at 1700000005.0" in warning and "(5.0" in warning
    assert "try offset_model: drift" in warning
    # the pairs beyond the step, which one offset misses: as many as it keeps (mid-subrun)
    lost = int(warning.split("misses the ")[1].split()[0])
    assert 0.8 * found.n_pairs < lost < 1.2 * found.n_pairs


def test_constant_mode_is_quiet_without_a_step(caplog):
    events, _ = broken_gps(seed=32, offset_ns=-3200.0, drift_ns_per_s=0.0)
    with caplog.at_level(logging.WARNING):
        found = offset_model(load_config(None)).coincide(_telescope(events))
    assert found.steps == ()
    assert not [w for w in _warnings(caplog) if "steps by" in w or "no peak" in w]


def test_a_drifting_clock_is_no_step(caplog):
    """A broken GPS: the profile has no peak, which is said; no step is made up."""
    events, _ = broken_gps(seed=33, offset_ns=2.437e9, drift_ns_per_s=3100.0)
    with caplog.at_level(logging.WARNING):
        found = offset_model(load_config(None)).coincide(_telescope(events))
    assert found.steps == ()
    assert [w for w in _warnings(caplog) if "no peak" in w]
    assert not [w for w in _warnings(caplog) if "steps by" in w]


def test_missed_steps_of_two_steps():
    steps = ((3.0, 40_000.0), (7.0, -2_000_000.0))
    events, _ = broken_gps(seed=34, offset_ns=-3200.0, drift_ns_per_s=0.0, steps=steps)
    config = load_config(None)
    found = offset_model(config).coincide(_telescope(events))
    again, _ = missed_steps(_telescope(events), found, drift_search(config))
    assert [s.size_ns for s in again] == pytest.approx([40_000.0, -2_000_000.0], abs=30)
    assert again == found.steps


def test_describe_step():
    step = ClockStep(T0_NS + 5_003_000_000, -3200.0, -153_200.0)
    assert describe_step(step, T0_NS) == (
        "the clock offset steps by -150.000 us at 1700000005.003 (5.003 s into the subrun), "
        "from -3.200 us to -153.200 us")


def _table(time_s, offset_us, segment) -> pl.DataFrame:
    n = len(time_s)
    return pl.DataFrame({"tel_id": [2] * n, "time": time_s, "offset_us": offset_us,
                         "drift_us_per_s": [0.0] * n, "n_pairs": [100] * n,
                         "residual_ns": [0.0] * n, "segment": segment})


def test_run_curves_cut_at_the_steps_of_the_subruns():
    t0 = T0_NS * 1e-9
    first = _table([t0 + 0.5, t0 + 1.5, t0 + 2.5], [-3.2, -3.2, -3.2], [0, 0, 0])
    stepped = _table([t0 + 3.5, t0 + 4.2, t0 + 4.8, t0 + 5.5], [-3.2, -3.2, -153.2, -153.2],
                     [0, 0, 1, 1])
    last = _table([t0 + 6.5, t0 + 7.5], [-153.2, -153.2], [0, 0])
    (curve,) = DriftModel.run_curves([first, stepped, last]).values()
    assert curve.breaks_ns == (T0_NS + 4_500_000_000,)  # between the slices either side
    t = np.array([T0_NS, T0_NS + 4_400_000_000, T0_NS + 4_600_000_000, T0_NS + 9 * 10**9])
    np.testing.assert_allclose(curve(t), [-3200.0, -3200.0, -153_200.0, -153_200.0], atol=1e-6)
    # the same step told twice (a subrun read twice): one cut, no empty piece
    (twice,) = DriftModel.run_curves([first, stepped, stepped]).values()
    assert twice.breaks_ns == curve.breaks_ns
    # tables of before the steps (no segment column): one curve, as before
    (smooth,) = DriftModel.run_curves([first.drop("segment")]).values()
    assert smooth.breaks_ns == ()
