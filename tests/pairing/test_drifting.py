"""Drift mode per telescope: pairs, residual profile and outputs."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.clock.curve import OffsetCurve
from lmcoinc.clock.drift import DriftSearch
from lmcoinc.clock.piecewise import SteppedCurve
from lmcoinc.pairing.drifting import (
    DriftCoincidence,
    coincide_telescope_drift,
    drift_outputs,
    limit_warnings,
    slice_summary,
)

from ..helpers.driftdata import STEP_CASES, T0_NS, broken_gps, constant_coincidence, stepped_gps

SEARCH = DriftSearch(window_ns=300, max_offset_ns=10**10, max_drift_ns_per_s=20_000.0)


def _pairs(idx_lst, idx_magic) -> set[tuple[int, int]]:
    return set(zip(idx_lst.tolist(), idx_magic.tolist(), strict=True))


@pytest.fixture(scope="module")
def drifting():
    events, _ = broken_gps(seed=11, offset_ns=2.437e9, drift_ns_per_s=3100.0)
    found = coincide_telescope_drift(events.t_lst, events.intensity_lst, events.t_magic,
                                     events.intensity_magic, search=SEARCH)
    return events, found


def test_drift_mode_pairs_are_the_true_pairs(drifting):
    events, found = drifting
    true = _pairs(events.true_lst, events.true_magic)
    got = _pairs(found.idx_lst, found.candidates[found.idx_magic])
    assert len(got & true) / len(true) >= 0.98
    assert len(got & true) / len(got) >= 0.99
    assert constant_coincidence(events).idx_lst.size < 0.1 * len(true)  # one offset pairs few


def test_pairs_are_those_of_each_events_own_offset(drifting):
    """Brute force: the N×M window mask around the model at each LST time."""
    events, found = drifting
    model, w = found.curve, 300
    # The model's mean is the scan's weighted average, where the pairs are taken.
    assert model.mean(*found.t_range_ns) == pytest.approx(found.average_offset_ns, abs=1e-3)
    rows = np.arange(0, len(events.t_lst), 7)  # a seventh of the LST events: a smaller mask
    shift = np.rint(model(events.t_lst[rows]) - found.average_offset_ns).astype(np.int64)
    t_cand = events.t_magic[found.candidates]
    lo = events.t_lst[rows] + shift + found.average_offset_ns - w
    mask = (t_cand[None, :] >= lo[:, None]) & (t_cand[None, :] <= lo[:, None] + 2 * w)
    i, j = np.nonzero(mask)
    in_rows = found.idx_lst % 7 == 0
    assert _pairs(rows[i], j) == _pairs(found.idx_lst[in_rows], found.idx_magic[in_rows])
    assert in_rows.sum() > 150
    # The profile is that of the residuals: its peak at the model's mean.
    assert found.offsets_ns[np.argmax(found.counts)] == pytest.approx(
        found.average_offset_ns, abs=2 * w)
    assert found.drift_us_per_s == pytest.approx(3.1, abs=0.01)
    assert found.residual_rms_ns < 150


def test_drift_free_data_same_pairs_as_constant_mode():
    for seed in (12, 13):
        events, _ = broken_gps(seed=seed, offset_ns=-3200.0, drift_ns_per_s=0.0)
        constant = constant_coincidence(events)
        found = coincide_telescope_drift(events.t_lst, events.intensity_lst, events.t_magic,
                                         events.intensity_magic, search=SEARCH)
        true = _pairs(events.true_lst, events.true_magic)
        c = _pairs(constant.idx_lst, constant.candidates[constant.idx_magic])
        d = _pairs(found.idx_lst, found.candidates[found.idx_magic])
        assert len(c & d) >= 0.995 * len(c)
        assert len(d - true) <= len(c - true)


def test_slice_summary_against_loops():
    rng = np.random.default_rng(3)
    t_lo, t_hi, slice_ns = 1000, 5_400, 1000
    t = np.sort(rng.integers(t_lo, t_hi + 1, 50))
    t = t[(t < 3000) | (t >= 4000)]  # an empty slice
    residual = rng.normal(0, 50, len(t))
    got = slice_summary(t, residual, t_lo, t_hi, slice_ns)
    starts = list(range(t_lo, t_hi + 1, slice_ns))
    assert got["slice_time_ns"].tolist() == [
        (s + min(s + slice_ns, t_hi + 1)) // 2 for s in starts]
    for k, s in enumerate(starts):
        inside = (t >= s) & (t < s + slice_ns)
        assert got["slice_pairs"][k] == inside.sum()
        if inside.any():
            assert got["slice_residual_ns"][k] == pytest.approx(residual[inside].mean())
        else:
            assert np.isnan(got["slice_residual_ns"][k])


def test_outputs_of_drift_telescopes(drifting):
    events, found = drifting
    constant = constant_coincidence(broken_gps(seed=14, offset_ns=-3200.0, drift_ns_per_s=0.0)[0])
    extra, tables = drift_outputs({2: found, 3: constant})
    assert extra["drift_us_per_s"] == [found.drift_us_per_s, None]
    assert extra["residual_rms_ns"] == [found.residual_rms_ns, None]
    table = tables["offset_model"]
    assert table.columns == ["tel_id", "time", "offset_us", "drift_us_per_s", "n_pairs",
                             "residual_ns", "segment"]
    assert table["segment"].to_list() == [0] * 10
    assert table["tel_id"].unique().to_list() == [2]
    assert table.height == 10  # 1 s slices of a 10 s subrun
    assert table["n_pairs"].sum() == len(found.idx_lst)
    centre = np.asarray(table["time"]) * 1e9
    np.testing.assert_allclose(table["offset_us"], found.curve(centre.astype(np.int64)) / 1000,
                               rtol=0, atol=1e-3)
    assert drift_outputs({3: constant}) == ({}, {})


def test_limit_warnings():
    def found(coef):
        return DriftCoincidence(None, np.zeros(1), np.zeros(1), 0, np.zeros(0), np.zeros(0),
                                np.zeros(0), curve=SteppedCurve.smooth(OffsetCurve(T0_NS, coef)),
                                t_range_ns=(T0_NS, T0_NS + 10**10))

    search = DriftSearch(window_ns=300, max_offset_ns=3 * 10**9, max_drift_ns_per_s=20_000.0)
    assert limit_warnings(found((1e9, 19_000.0)), search) == []
    (drift,) = limit_warnings(found((1e9, -23_000.0)), search)
    assert "drift reaches 23.00 us/s, beyond max_drift_us_per_s = 20" in drift
    (edge,) = limit_warnings(found((-2.9999e9, 10.0)), search)
    assert "clock offset reaches 2.999900 s, at the edge of max_clock_offset = 3 s" in edge


@pytest.mark.parametrize("name", STEP_CASES)
def test_drift_mode_pairs_each_side_of_a_step(name):
    _, drift, steps = STEP_CASES[name]
    events, _ = stepped_gps(name, seed=21)
    found = coincide_telescope_drift(events.t_lst, events.intensity_lst, events.t_magic,
                                     events.intensity_magic, search=SEARCH)
    true = _pairs(events.true_lst, events.true_magic)
    got = _pairs(found.idx_lst, found.candidates[found.idx_magic])
    assert len(got & true) / len(true) >= 0.98 and len(got & true) / len(got) >= 0.99
    assert len(found.steps) == len(steps)
    # no pair across a step: each LST event paired at its own side's offset
    t_lst = events.t_lst[found.idx_lst]
    d = events.t_magic[found.candidates[found.idx_magic]] - t_lst
    assert np.abs(d - found.curve(t_lst)).max() <= 2 * 300
    # the mean drift leaves the steps out
    assert found.drift_us_per_s == pytest.approx(drift / 1000, abs=0.05)


def test_slice_summary_cuts_the_slice_of_a_step():
    rng = np.random.default_rng(4)
    t_lo, t_hi, slice_ns, at = 1000, 5_400, 1000, 2_350
    t = np.sort(rng.integers(t_lo, t_hi + 1, 80))
    residual = rng.normal(0, 50, len(t))
    got = slice_summary(t, residual, t_lo, t_hi, slice_ns, (at,))
    starts = [1000, 2000, at, 3000, 4000, 5000]
    ends = [*starts[1:], t_hi + 1]
    assert got["slice_time_ns"].tolist() == [(s + e) // 2 for s, e in zip(starts, ends,
                                                                            strict=True)]
    assert got["slice_segment"].tolist() == [0, 0, 1, 1, 1, 1]
    for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
        inside = (t >= s) & (t < e)
        assert got["slice_pairs"][k] == inside.sum()
        assert got["slice_residual_ns"][k] == pytest.approx(residual[inside].mean())
    without = slice_summary(t, residual, t_lo, t_hi, slice_ns)  # no step: one segment
    assert without["slice_segment"].tolist() == [0] * 5


def test_segment_table_of_a_step():
    events, _ = stepped_gps("drifting clock", seed=22)
    found = coincide_telescope_drift(events.t_lst, events.intensity_lst, events.t_magic,
                                     events.intensity_magic, search=SEARCH)
    _, tables = drift_outputs({2: found})
    segments = tables["offset_segments"]
    assert segments.columns == ["tel_id", "segment", "start", "end", "offset_us",
                                "drift_us_per_s", "n_pairs", "step_us"]
    (step,) = found.steps
    assert segments["segment"].to_list() == [0, 1]
    assert segments["start"].to_list() == [found.t_range_ns[0] * 1e-9, step.time_ns * 1e-9]
    assert segments["end"].to_list() == [step.time_ns * 1e-9, found.t_range_ns[1] * 1e-9]
    assert segments["n_pairs"].sum() == found.n_pairs
    np.testing.assert_allclose(segments["drift_us_per_s"], 6.0, atol=0.05)
    assert np.isnan(segments["step_us"][0]) and segments["step_us"][1] == pytest.approx(-150.0,
                                                                                        abs=0.05)
    model = tables["offset_model"]
    # the step cuts its slice in two: 11 rows, those before it of segment 0
    assert model.height == 11 and model["n_pairs"].sum() == found.n_pairs
    before = int(np.sum(np.arange(10) * 1e9 + found.t_range_ns[0] < step.time_ns))
    assert model["segment"].to_list() == [0] * before + [1] * (11 - before)
