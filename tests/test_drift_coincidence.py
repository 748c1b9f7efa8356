"""Drift mode per telescope: pairs, residual profile, outputs and the constant-mode symptom."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.coincidence import coincide_telescope
from lmcoinc.drift import DriftSearch
from lmcoinc.drift_coincidence import (
    DriftCoincidence,
    coincide_telescope_drift,
    drift_outputs,
    limit_warnings,
    profile_symptom,
    slice_summary,
)
from lmcoinc.offset_model import OffsetModel

from .driftdata import T0_NS, broken_gps

SEARCH = DriftSearch(window_ns=300, max_offset_ns=10**10, max_drift_ns_per_s=20_000.0)


def _pairs(idx_lst, idx_magic) -> set[tuple[int, int]]:
    return set(zip(idx_lst.tolist(), idx_magic.tolist(), strict=True))


def _constant(events, pre=100):
    return coincide_telescope(events.t_lst, events.intensity_lst, events.t_magic,
                              events.intensity_magic, window_ns=300,
                              pre_offset_search_events=pre, offset_range_ns=(-10_000, 0))


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
    assert _constant(events).idx_lst.size < 0.1 * len(true)  # one offset pairs few


def test_pairs_are_those_of_each_events_own_offset(drifting):
    """Brute force: the N×M window mask around the model at each LST time."""
    events, found = drifting
    model, w = found.model, 300
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
        constant = _constant(events)
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
    constant = _constant(broken_gps(seed=14, offset_ns=-3200.0, drift_ns_per_s=0.0)[0])
    extra, tables = drift_outputs({2: found, 3: constant})
    assert extra["drift_us_per_s"] == [found.drift_us_per_s, None]
    assert extra["residual_rms_ns"] == [found.residual_rms_ns, None]
    table = tables["offset_model"]
    assert table.columns == ["tel_id", "time", "offset_us", "drift_us_per_s", "n_pairs",
                             "residual_ns"]
    assert table["tel_id"].unique().to_list() == [2]
    assert table.height == 10  # 1 s slices of a 10 s subrun
    assert table["n_pairs"].sum() == len(found.idx_lst)
    centre = np.asarray(table["time"]) * 1e9
    np.testing.assert_allclose(table["offset_us"], found.model(centre.astype(np.int64)) / 1000,
                               rtol=0, atol=1e-3)
    assert drift_outputs({3: constant}) == ({}, {})


def test_limit_warnings():
    def found(coef):
        return DriftCoincidence(None, np.zeros(1), np.zeros(1), 0, np.zeros(0), np.zeros(0),
                                np.zeros(0), model=OffsetModel(T0_NS, coef),
                                t_range_ns=(T0_NS, T0_NS + 10**10))

    search = DriftSearch(window_ns=300, max_offset_ns=3 * 10**9, max_drift_ns_per_s=20_000.0)
    assert limit_warnings(found((1e9, 19_000.0)), search) == []
    (drift,) = limit_warnings(found((1e9, -23_000.0)), search)
    assert "drift reaches 23.00 us/s, beyond max_drift_us_per_s = 20" in drift
    (edge,) = limit_warnings(found((-2.9999e9, 10.0)), search)
    assert "clock offset reaches 2.999900 s, at the edge of max_clock_offset = 3 s" in edge


def test_constant_mode_symptom():
    drifting_events, _ = broken_gps(seed=15, offset_ns=2.437e9, drift_ns_per_s=1000.0)
    assert profile_symptom(_constant(drifting_events), 300)
    steady, _ = broken_gps(seed=15, offset_ns=2.437e9, drift_ns_per_s=0.0)
    assert not profile_symptom(_constant(steady), 300)
    # A fixed scan range that misses the offset: no peak either.
    assert profile_symptom(_constant(steady, pre=None), 300)
