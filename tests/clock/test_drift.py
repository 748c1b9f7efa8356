"""Drift search: each step against its brute-force restatement, the whole on broken-GPS events."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.clock import drift
from lmcoinc.clock.curve import OffsetCurve
from lmcoinc.clock.drift import (
    DriftSearch,
    DriftSearchFailed,
    coarse_bin_width,
    coarse_peak,
    find_offset_curve,
    near_pairs,
    robust_line,
    search_blocks,
    slice_peaks,
)

from ..helpers import bruteforce
from ..helpers.driftdata import T0_NS, broken_gps

SEARCH = DriftSearch(window_ns=300, max_offset_ns=10**10, max_drift_ns_per_s=20_000.0)


def test_coarse_peak_is_the_densest_pair_of_bins_of_all_bright_differences():
    events, _ = broken_gps(seed=3, duration_s=2.0, magic_margin_s=3.0)
    search = DriftSearch(window_ns=300, max_offset_ns=3 * 10**9, max_drift_ns_per_s=20_000.0,
                         n_events=60)
    block = (int(events.t_lst[0]), int(events.t_lst[-1]))
    length = block[1] - block[0]
    t, d = coarse_peak(events.t_lst, events.intensity_lst, events.t_magic,
                       events.intensity_magic, search, block)
    width = coarse_bin_width(search, length)
    reach = search.max_offset_ns + search.window_ns
    in_reach = np.abs(events.t_magic - (block[0] + block[1]) // 2) <= length // 2 + reach
    n_magic = int(60 * (length + 2 * search.max_offset_ns) / length)
    expected = bruteforce.coarse_peak(
        events.t_lst, events.intensity_lst, events.t_magic[in_reach],
        events.intensity_magic[in_reach], 60, n_magic,
        -reach - width, width, (2 * (reach + width)) // width + 1, drift.MIN_PEAK_PAIRS,
    )
    assert sorted(zip(t.tolist(), d.tolist(), strict=True)) == expected
    # Most of them are the bright true pairs: offsets near 2.437 s.
    assert np.median(d) == pytest.approx(2.437e9, abs=20_000)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_events=st.integers(1, 40), signal=st.integers(0, 40))
def test_coarse_peak_on_small_integer_times(seed, n_events, signal):
    """Differences on the bin edges, ties, failures: the same as the brute force."""
    rng = np.random.default_rng(seed)
    search = DriftSearch(window_ns=50, max_offset_ns=1000, max_drift_ns_per_s=0.0,
                         n_events=n_events)
    t_lst = np.sort(rng.integers(0, 500, 50))
    t_magic = np.sort(np.r_[rng.integers(-1500, 2000, 40), rng.choice(t_lst, signal) + 303])
    i_lst, i_magic = rng.permutation(len(t_lst)) * 1.0, rng.permutation(len(t_magic)) * 1.0
    block = (int(t_lst[0]), int(t_lst[-1]))
    length = max(block[1] - block[0], 1)
    width = coarse_bin_width(search, length)
    assert width == 101
    near = (t_magic >= block[0] - 1050) & (t_magic <= block[1] + 1050)
    expected = bruteforce.coarse_peak(
        t_lst, i_lst, t_magic[near], i_magic[near], n_events,
        int(n_events * (length + 2000) / length), -1050 - width, width,
        (2 * (1050 + width)) // width + 1, drift.MIN_PEAK_PAIRS,
    )
    try:
        t, d = coarse_peak(t_lst, i_lst, t_magic, i_magic, search, block)
    except DriftSearchFailed:
        assert expected is None
    else:
        assert sorted(zip(t.tolist(), d.tolist(), strict=True)) == expected


def test_coarse_peak_fails_without_bright_pairs():
    events, _ = broken_gps(seed=4, duration_s=2.0, magic_rate_hz=2.0)
    block = (int(events.t_lst[0]), int(events.t_lst[-1]))
    with pytest.raises(DriftSearchFailed, match="too few bright events"):
        coarse_peak(events.t_lst, events.intensity_lst, events.t_magic, events.intensity_magic,
                    SEARCH, block)
    far = events.t_magic + 30 * 10**9  # beyond the largest clock offset
    with pytest.raises(DriftSearchFailed, match="no MAGIC events within"):
        coarse_peak(events.t_lst, events.intensity_lst, far, events.intensity_magic, SEARCH, block)


def test_robust_line_ignores_a_fifth_of_outliers():
    rng = np.random.default_rng(0)
    t = T0_NS + np.sort(rng.integers(0, 10**10, 300))
    d = 2.0e9 + 4321.0 * (t - T0_NS) * 1e-9
    bad = rng.random(300) < 0.2
    d[bad] += rng.uniform(-2e5, 2e5, bad.sum())
    line = robust_line(t, d)
    good = ~bad
    assert np.abs(line(t[good]) - d[good]).max() < 1.0
    assert line.drift(t[0]) == pytest.approx(4321.0, abs=0.1)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    slope=st.sampled_from([0.0, 1e4, -2e4, 1234.5]),
    tolerance=st.integers(0, 30).map(lambda k: 100 * k),
)
def test_near_pairs_against_the_full_mask(seed, slope, tolerance):
    # Times on a 100 ns grid: many differences fall on the tolerance exactly.
    rng = np.random.default_rng(seed)
    t_lst = T0_NS + np.sort(rng.integers(0, 10**5, 200)) * 100
    t_magic = np.sort(rng.choice(t_lst, 60) + 5_000 + rng.integers(-20, 20, 60) * 100)
    model = OffsetCurve(int(t_lst[0]), (5_000.0, slope))
    il, im, r = near_pairs(t_lst, t_magic, model, tolerance)
    assert sorted(zip(il.tolist(), im.tolist(), strict=True)) == bruteforce.near_pairs(
        t_lst, t_magic, model, tolerance)
    np.testing.assert_array_equal(
        r, t_magic[im] - t_lst[il] - np.rint(model(t_lst[il])).astype(np.int64))


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    n_slices=st.integers(1, 4),
    signal=st.floats(0.0, 0.5),
)
def test_slice_peaks_against_the_per_slice_loop(seed, n, n_slices, signal):
    # Residuals on a 100 ns grid (ties at the half width), the background near the threshold.
    rng = np.random.default_rng(seed)
    tolerance, half_width = 3000, 300
    slices = rng.integers(0, n_slices, n) + 7
    residual = rng.integers(-30, 31, n) * 100
    peak = rng.random(n) < signal
    residual[peak] = rng.integers(-2, 2, peak.sum()) * 100 + 1000 * slices[peak] - 8000
    got = slice_peaks(slices, residual, half_width, tolerance)
    np.testing.assert_array_equal(got, bruteforce.slice_peaks(
        slices, residual, half_width, tolerance, drift.MIN_SLICE_PAIRS))


def test_search_blocks_tile_the_span_from_the_middle():
    blocks = search_blocks(0, 35, 10)
    assert sorted(blocks) == [(0, 8), (8, 17), (17, 26), (26, 35)]
    assert blocks[0] in [(8, 17), (17, 26)] and blocks[-1] in [(0, 8), (26, 35)]
    assert search_blocks(5, 5, 10) == [(5, 5)]


@pytest.mark.parametrize(
    ("seed", "offset_ns", "drift_ns_per_s", "curvature", "duration_s"),
    [
        (0, 2.437e9, 3100.0, 0.0, 10.0),
        (1, -7.3e9, -9800.0, 0.0, 10.0),
        (2, 1.0e9, 1000.0, 30.0, 10.0),
        (3, -3200.0, 0.0, 0.0, 10.0),
        (4, 4.2e9, 6000.0, 1.0, 40.0),   # longer than a search block: tracked outwards
        (5, 9.0e9, -15_000.0, 0.0, 2.0),
    ],
)
def test_find_offset_model_follows_the_true_clock(seed, offset_ns, drift_ns_per_s, curvature,
                                                  duration_s):
    events, truth = broken_gps(seed, duration_s, offset_ns, drift_ns_per_s, curvature)
    model = find_offset_curve(events.t_lst, events.intensity_lst, events.t_magic,
                              events.intensity_magic, SEARCH)
    error = model(events.t_lst) - truth(events.t_lst)
    assert np.abs(error).max() < 30.0  # ns, at realistic rates
    assert model.drift(events.t_lst[len(events.t_lst) // 2]) == pytest.approx(
        drift_ns_per_s + 2 * curvature * duration_s / 2, abs=5.0)


def test_find_offset_model_fails_on_sparse_or_far_data():
    events, _ = broken_gps(seed=6, duration_s=2.0, magic_rate_hz=1.0)
    with pytest.raises(DriftSearchFailed, match="too few bright events"):
        find_offset_curve(events.t_lst, events.intensity_lst, events.t_magic,
                          events.intensity_magic, SEARCH)
    events, _ = broken_gps(seed=6, duration_s=2.0, offset_ns=14e9)  # beyond max_clock_offset
    with pytest.raises(DriftSearchFailed):
        find_offset_curve(events.t_lst, events.intensity_lst, events.t_magic,
                          events.intensity_magic, SEARCH)


def test_follow_prior_pairs_a_sparse_subrun():
    """Too few bright pairs for a search of its own: the run's model, refined, still pairs it."""
    events, truth = broken_gps(seed=7, duration_s=10.0, magic_rate_hz=3.0)
    args = (events.t_lst, events.intensity_lst, events.t_magic, events.intensity_magic, SEARCH)
    with pytest.raises(DriftSearchFailed):
        find_offset_curve(*args)
    t_mid = int(events.t_lst[len(events.t_lst) // 2])
    prior = OffsetCurve(t_mid, (float(truth(t_mid)) + 150.0, 3100.0 + 2.0))  # slightly off
    model = find_offset_curve(*args, prior=prior)
    assert np.abs(model(events.t_lst) - truth(events.t_lst)).max() < 100.0
    # Unrelated MAGIC data (another source, no common showers): no peak, no pairs.
    other, _ = broken_gps(seed=8, duration_s=10.0)
    with pytest.raises(DriftSearchFailed, match="pairs follow the run's clock offset"):
        find_offset_curve(events.t_lst, events.intensity_lst, other.t_magic,
                          other.intensity_magic, SEARCH, prior=prior)
