"""pairing/telescope: the reference's coincidence of LST-1 with one MAGIC telescope, against its
steps written out by brute force, and the reason of each skip."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.pairing.telescope import coincide_telescope
from lmcoinc.results import TelescopeSkipped

from ..helpers import bruteforce as bf


def _reference_telescope(t_lst, i_lst, t_magic, i_magic, w, n_pre, fixed):
    """The reference's steps for one telescope, brute force (None: skipped, "crash")."""
    if n_pre is not None:
        pre = bf.pre_offset(t_lst, i_lst, t_magic, i_magic, w, n_pre)
        if pre is None:
            return None
        offsets = bf.scan_range(pre, w)
    else:
        offsets = np.arange(fixed[0], fixed[1], 100.0).round().astype(np.int64)
    lo, hi = t_lst[0] + offsets[0] - w, t_lst[-1] + offsets[-1] + w
    candidates = np.flatnonzero((t_magic >= lo) & (t_magic <= hi))
    if len(candidates) == 0:
        return None
    counts = bf.profile(t_lst, t_magic[candidates], offsets, w)
    if not counts.any():
        return None
    try:
        average = bf.average(offsets, counts, w)
    except ZeroDivisionError:
        return "crash"
    pairs = bf.pairs(t_lst, t_magic[candidates], average, w)
    return offsets, counts, average, candidates, pairs


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(1, 3)), min_size=1, max_size=30),
    st.lists(st.tuples(st.integers(-20, 30), st.integers(1, 3)), min_size=1, max_size=30),
    st.integers(1, 4),
    st.one_of(st.none(), st.integers(1, 6)),
    st.integers(-15, 5),
    st.integers(1, 20),
)
def test_telescope_coincidence_matches_reference_steps(lst, magic, w100, n_pre, start, n):
    """Pre-offset search (or fixed range), scan, candidates, profile, average and pairs
    of one telescope against the reference's steps, on the 100 ns grid."""
    t_lst = np.array([100 * t for t, _ in lst], dtype=np.int64)
    t_magic = np.array([100 * t for t, _ in magic], dtype=np.int64)
    i_lst = np.array([i for _, i in lst], dtype=np.float64)
    i_magic = np.array([i for _, i in magic], dtype=np.float64)
    w = 100 * w100
    fixed = (100 * start, 100 * (start + n))
    want = _reference_telescope(t_lst, i_lst, t_magic, i_magic, w, n_pre, fixed)
    kwargs = {"window_ns": w, "pre_offset_search_events": n_pre, "offset_range_ns": fixed}
    if want is None or want == "crash":
        with pytest.raises(TelescopeSkipped):
            coincide_telescope(t_lst, i_lst, t_magic, i_magic, **kwargs)
        return
    got = coincide_telescope(t_lst, i_lst, t_magic, i_magic, **kwargs)
    offsets, counts, average, candidates, (idx_lst, idx_magic) = want
    np.testing.assert_array_equal(got.offsets_ns, offsets)
    np.testing.assert_array_equal(got.counts, counts)
    assert got.average_offset_ns == average
    np.testing.assert_array_equal(got.candidates, candidates)
    np.testing.assert_array_equal(got.idx_lst, idx_lst)
    np.testing.assert_array_equal(got.idx_magic, idx_magic)


def _times(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(("t_lst", "t_magic", "pre", "scan", "reason"), [
    (_times(0, 1000), _times(10**9, 10**9 + 100), 5, (-1000, 0),
     "no events overlap in time for the pre-offset search"),
    (_times(0, 1000), _times(0, 1000), None, (0, 0), "empty offset scan range or no LST events"),
    (_times(), _times(0, 1000), None, (-1000, 0), "empty offset scan range or no LST events"),
    (_times(0, 1000), _times(10**6), None, (-1000, 0),
     "no MAGIC events within the scanned time range"),
    (_times(0, 100_000), _times(50_000), None, (-1000, 0),
     "no coincident events at any scanned offset"),
    # two equal maxima 2 us apart, nothing between them: no average
    (_times(0), _times(0, 2000), None, (0, 2100),
     "no coincident events around the profile maximum"),
])
def test_skipped_with_its_reason(t_lst, t_magic, pre, scan, reason):
    with pytest.raises(TelescopeSkipped) as err:
        coincide_telescope(t_lst, np.ones(len(t_lst)), t_magic, np.ones(len(t_magic)),
                           window_ns=300, pre_offset_search_events=pre, offset_range_ns=scan)
    assert str(err.value) == reason


def test_result_of_a_hand_made_stream():
    """Candidates index the MAGIC rows, pairs index the candidates (fixed scan range)."""
    t_lst = _times(1000, 5000, 9000, 13_000)
    t_magic = _times(-10**6, 1000 - 3200, 5000 - 3200 + 40, 13_000 - 3200 - 40, 10**7)
    found = coincide_telescope(t_lst, np.ones(4), t_magic, np.ones(5), window_ns=300,
                               pre_offset_search_events=None, offset_range_ns=(-4000, -2000))
    assert found.pre_offset_ns is None
    np.testing.assert_array_equal(found.offsets_ns, np.arange(-4000, -2000, 100))
    np.testing.assert_array_equal(found.counts, bf.profile(t_lst, t_magic, found.offsets_ns, 300))
    assert found.average_offset_ns == bf.average(found.offsets_ns, found.counts, 300) == -3200
    np.testing.assert_array_equal(found.candidates, [1, 2, 3])
    assert list(zip(found.idx_lst.tolist(), found.idx_magic.tolist(), strict=True)) == [
        (0, 0), (1, 1), (3, 2)]
    assert found.n_pairs == 3
    assert (found.clock_offset_ns, found.geometric_delay_ns, found.offset_source) == (
        None, None, "local")
