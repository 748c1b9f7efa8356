import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.offsets import (
    average_offset,
    coincidence_profile,
    pre_offset_search,
    scan_offsets,
)

from . import bruteforce as bf


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
