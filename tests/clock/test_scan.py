"""Offset search, scan and average against brute force (their use for one telescope:
tests/pairing/test_telescope.py)."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lmcoinc.clock.scan import (
    average_offset,
    coincidence_profile,
    pre_offset_search,
    scan_offsets,
)

from ..helpers import bruteforce as bf


def _stream(rng, n_lst, n_magic, offset, span=10**8):
    """LST times with a MAGIC subset shifted by ``offset`` plus MAGIC-only events."""
    t_lst = np.sort(rng.integers(0, span, n_lst)) + 1_700_000_000 * 10**9
    common = rng.choice(n_lst, size=min(n_lst, n_magic // 2), replace=False)
    jitter = rng.integers(-60, 60, len(common))
    own = np.sort(rng.integers(0, span, n_magic - len(common))) + t_lst[0]
    t_magic = np.sort(np.concatenate([t_lst[common] + offset + jitter, own]))
    return t_lst, t_magic


def test_pre_offset_and_scan_match_bruteforce():
    rng = np.random.default_rng(3)
    for offset in (-3200, -76_039_300, 118_800, 0):
        t_lst, t_magic = _stream(rng, 3000, 400, offset)
        i_lst, i_magic = rng.lognormal(5, 1, len(t_lst)), rng.lognormal(5, 1, len(t_magic))
        pre = pre_offset_search(t_lst, i_lst, t_magic, i_magic, 300, 100)
        want = bf.pre_offset(t_lst, i_lst, t_magic, i_magic, 300, 100)
        if want is None:
            assert pre is None
            continue
        assert pre == round(want.to_value("ns"))
        np.testing.assert_array_equal(scan_offsets(pre - 900, pre + 900), bf.scan_range(want, 300))


def test_pre_offset_none_without_overlap():
    t = np.arange(10, dtype=np.int64) * 10**6
    assert pre_offset_search(t, t * 1.0, t + 10**9, t * 1.0, 300, 5) is None
    assert pre_offset_search(t[:0], t[:0] * 1.0, t, t * 1.0, 300, 5) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 20_000), max_size=60),
    st.lists(st.integers(0, 20_000), max_size=60),
    st.integers(-2000, 2000),
    st.integers(1, 700),
    st.integers(1, 40),
)
def test_profile_matches_bruteforce(t_lst, t_magic, start, w, n):
    t_lst, t_magic = np.array(t_lst, dtype=np.int64), np.array(t_magic, dtype=np.int64)
    offsets = scan_offsets(start, start + 100 * n)
    np.testing.assert_array_equal(
        coincidence_profile(t_lst, t_magic, offsets, w), bf.profile(t_lst, t_magic, offsets, w)
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=40), st.integers(-5000, 5000),
       st.integers(1, 700))
def test_average_matches_bruteforce(counts, start, w):
    counts = np.array(counts, dtype=np.int64)
    offsets = scan_offsets(start, start + 100 * len(counts))
    got = average_offset(offsets, counts, w)
    at_max = offsets[counts == counts.max()].mean()
    near = (offsets >= np.round(at_max - 2 * w)) & (offsets <= np.round(at_max + 2 * w))
    if counts[near].sum() == 0:
        assert got is None
    else:
        assert got == bf.average(offsets, counts, w)


def test_profile_ties_and_edges():
    # MAGIC exactly on both edges of the window, duplicated timestamps
    t_lst = np.array([1000, 1000, 5000], dtype=np.int64)
    t_magic = np.array([700, 1300, 1300, 5301], dtype=np.int64)
    offsets = np.array([0, 1], dtype=np.int64)
    np.testing.assert_array_equal(
        coincidence_profile(t_lst, t_magic, offsets, 300), bf.profile(t_lst, t_magic, offsets, 300)
    )


# --- point 3 of issue #4: empty inputs, duplicated timestamps, exact window edges,
# ties in the profile; timestamps on the 100 ns grid of the real clocks, so that
# with a window of whole 100 ns many pairs fall exactly on its edges

grid_times = st.lists(st.integers(0, 60).map(lambda k: 100 * k), max_size=40)


@settings(max_examples=300, deadline=None)
@given(grid_times, grid_times, st.integers(-10, 10), st.integers(1, 6), st.integers(1, 30))
@example([], [], 0, 3, 5)
@example([100, 200], [], 0, 3, 5)
@example([], [100, 200], 0, 3, 5)
@example([500, 500, 500], [200, 800, 800, 500], 0, 3, 7)  # duplicates, both edges
def test_profile_on_grid_matches_bruteforce(t_lst, t_magic, start, w100, n):
    t_lst, t_magic = np.array(t_lst, dtype=np.int64), np.array(t_magic, dtype=np.int64)
    w = 100 * w100
    offsets = scan_offsets(100 * start, 100 * (start + n))
    got = coincidence_profile(t_lst, t_magic, offsets, w)
    np.testing.assert_array_equal(got, bf.profile(t_lst, t_magic, offsets, w))
    if len(t_lst) == 0 or len(t_magic) == 0:
        assert not got.any()


def test_profile_empty_offsets():
    t = np.array([1, 2], dtype=np.int64)
    assert coincidence_profile(t, t, np.empty(0, dtype=np.int64), 300).shape == (0,)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=1, max_size=60), st.integers(-50, 50),
       st.integers(1, 7))
def test_average_with_tied_maxima_matches_bruteforce(counts, start, w100):
    """Counts of 0..2 over up to 60 offsets: several maxima almost always."""
    counts = np.array(counts, dtype=np.int64)
    w = 100 * w100
    offsets = scan_offsets(100 * start, 100 * (start + len(counts)))
    got = average_offset(offsets, counts, w)
    at_max = offsets[counts == counts.max()].mean()
    near = (offsets >= np.round(at_max - 2 * w)) & (offsets <= np.round(at_max + 2 * w))
    if counts[near].sum() == 0:
        assert got is None  # the reference divides by zero here
    else:
        assert got == bf.average(offsets, counts, w)


def test_average_ties_far_apart():
    # two equal maxima 2 us apart: the centre is between them, where the counts are zero
    offsets = scan_offsets(0, 2100)
    counts = np.zeros(len(offsets), dtype=np.int64)
    counts[[0, -1]] = 5
    assert average_offset(offsets, counts, 300) is None
    # three maxima close together: centre on the middle one, weights around it
    counts = np.zeros(len(offsets), dtype=np.int64)
    counts[[9, 10, 11]] = 4
    counts[[8, 12]] = 1
    assert average_offset(offsets, counts, 300) == bf.average(offsets, counts, 300) == 1000


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 4)), min_size=1, max_size=25),
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 4)), min_size=1, max_size=25),
    st.integers(1, 5),
    st.integers(1, 8),
)
def test_pre_offset_with_ties_matches_bruteforce(lst, magic, w100, n):
    """Duplicated timestamps, tied intensities (argsort order), tied counts."""
    t_lst = np.array([100 * t for t, _ in lst], dtype=np.int64)
    t_magic = np.array([100 * t for t, _ in magic], dtype=np.int64)
    i_lst = np.array([i for _, i in lst], dtype=np.float64)
    i_magic = np.array([i for _, i in magic], dtype=np.float64)
    w = 100 * w100
    got = pre_offset_search(t_lst, i_lst, t_magic, i_magic, w, n)
    want = bf.pre_offset(t_lst, i_lst, t_magic, i_magic, w, n)
    if want is None:
        assert got is None
    else:
        assert got == round(want.to_value("ns"))


@pytest.mark.parametrize("seed", range(4))
def test_pre_offset_of_differences_beyond_float_exactness_matches_bruteforce(seed):
    """Differences so large that the mean of the most populated ones is not exact in
    float64 (count times size beyond 2**53): their mean is taken in the reference's order."""
    rng = np.random.default_rng(seed)
    span = 10**16  # ns: differences up to ~1e16, 2**53 ~ 9e15
    t_lst = np.sort(rng.integers(0, span, 40)) + 10**17
    t_magic = np.sort(np.concatenate([t_lst[::3] + rng.integers(-3, 4, 14) * 1000,
                                      rng.integers(0, span, 20) + 10**17]))
    i_lst, i_magic = rng.lognormal(5, 1, len(t_lst)), rng.lognormal(5, 1, len(t_magic))
    for w in (300, 5_000, 10**14):
        got = pre_offset_search(t_lst, i_lst, t_magic, i_magic, w, 30)
        want = bf.pre_offset(t_lst, i_lst, t_magic, i_magic, w, 30)
        assert want is not None
        assert got == round(want.to_value("ns"))


@pytest.mark.parametrize("seed", range(6))
def test_profile_of_wide_scans_and_unequal_steps_matches_bruteforce(seed, monkeypatch):
    """The one-pass profile (offsets in equal steps), the per-offset one (other offsets, or
    more pairs than it forms at once): the same counts."""
    from lmcoinc.clock import scan

    rng = np.random.default_rng(seed)
    t_lst, t_magic = _stream(rng, 400, 200, -3200, span=10**6)
    for offsets, limit in [(scan_offsets(-40_000, 30_000), scan._MAX_PAIRS),
                           (scan_offsets(-40_000, 30_000), 10),
                           (np.sort(rng.integers(-10_000, 5_000, 50)), scan._MAX_PAIRS),
                           (scan_offsets(-3_500, -3_400), scan._MAX_PAIRS)]:
        monkeypatch.setattr(scan, "_MAX_PAIRS", limit)
        np.testing.assert_array_equal(coincidence_profile(t_lst, t_magic, offsets, 300),
                                      bf.profile(t_lst, t_magic, offsets, 300))


@pytest.mark.parametrize("seed", range(4))
def test_brightest_is_the_reference_argsort(seed):
    """Distinct values (a partition suffices) and ties (the reference's own sort decides)."""
    from lmcoinc.clock.scan import _brightest

    rng = np.random.default_rng(seed)
    for values in [rng.lognormal(5, 1, 5000), np.round(rng.lognormal(3, 1, 5000)),
                   np.concatenate([rng.random(900), [np.nan, np.inf]]), rng.random(30)]:
        for n in (1, 7, 100, 3000):
            np.testing.assert_array_equal(
                _brightest(values, n), np.argsort(values, kind="quicksort")[::-1][:n])


def test_window_pairs_match_bruteforce():
    from lmcoinc.clock.scan import window_pairs

    rng = np.random.default_rng(9)
    t_sorted = np.sort(rng.integers(0, 1000, 200))
    t = rng.integers(-50, 1050, 80)
    i, j = window_pairs(t_sorted, t, -30, 20)
    inside = (t_sorted[None, :] >= t[:, None] - 30) & (t_sorted[None, :] <= t[:, None] + 20)
    want = np.nonzero(inside)
    np.testing.assert_array_equal(i, want[0])
    np.testing.assert_array_equal(j, want[1])
    assert window_pairs(t_sorted, t, -30, 20, limit=len(i) - 1) is None
