import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.match import coincident_pairs, last_partner

from . import bruteforce as bf

times = st.lists(st.integers(0, 5000), max_size=50)


@settings(max_examples=400, deadline=None)
@given(times, times, st.integers(-600, 600), st.integers(1, 400))
def test_pairs_match_bruteforce(t_lst, t_magic, offset, w):
    t_lst, t_magic = np.array(t_lst, dtype=np.int64), np.array(t_magic, dtype=np.int64)
    got = coincident_pairs(t_lst, t_magic, offset, w)
    want = bf.pairs(t_lst, t_magic, offset, w)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_window_edges_included_and_multiple_candidates():
    t_lst = np.array([10_000, 20_000], dtype=np.int64)
    # offset -3200, w 300: window of the first LST event is [6500, 7100]
    t_magic = np.array([6_499, 6_500, 6_800, 6_800, 7_100, 7_101, 16_800], dtype=np.int64)
    i, j = coincident_pairs(t_lst, t_magic, -3200, 300)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [
        (0, 1), (0, 2), (0, 3), (0, 4), (1, 6)
    ]


def test_last_partner_is_largest_lst_row():
    i = np.array([0, 1, 1, 3])
    j = np.array([2, 0, 2, 2])
    np.testing.assert_array_equal(last_partner(i, j, 4), [1, -1, 3, -1])
