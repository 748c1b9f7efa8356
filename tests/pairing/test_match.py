import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lmcoinc.pairing.match import coincident_pairs, last_partner

from ..helpers import bruteforce as bf

times = st.lists(st.integers(0, 5000), max_size=50)


@settings(max_examples=400, deadline=None)
@given(times, times, st.integers(-600, 600), st.integers(1, 400))
def test_pairs_match_bruteforce(t_lst, t_magic, offset, w):
    t_lst, t_magic = np.array(t_lst, dtype=np.int64), np.array(t_magic, dtype=np.int64)
    got = coincident_pairs(t_lst, t_magic, offset, w)
    want = bf.pairs(t_lst, t_magic, offset, w)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("seed", [1, 3, 1_000])
def test_many_pairs_in_any_time_order(seed):
    """LST times out of order, repeated, several MAGIC events per window: the same pairs."""
    rng = np.random.default_rng(seed)
    t_lst = rng.integers(0, 200_000, 300) // 100 * 100
    t_magic = np.concatenate([t_lst[::3] - 3200, rng.integers(0, 200_000, 60)])
    got = coincident_pairs(t_lst, t_magic, -3200, 300)
    want = bf.pairs(t_lst, t_magic, -3200, 300)
    assert len(want[0]) > 100
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


# --- point 3 of issue #4: empty inputs, duplicated timestamps, pairs exactly on the
# window edges (timestamps, offsets and windows on the 100 ns grid of the clocks)

grid_times = st.lists(st.integers(0, 50).map(lambda k: 100 * k), max_size=40)


@settings(max_examples=400, deadline=None)
@given(grid_times, grid_times, st.integers(-8, 8), st.integers(1, 5))
@example([], [], 0, 3)
@example([1000], [], 0, 3)
@example([], [1000], 0, 3)
@example([1000, 1000], [700, 1300, 1300, 1000, 1000], 0, 3)  # duplicates on both sides
def test_pairs_on_grid_match_bruteforce(t_lst, t_magic, offset100, w100):
    t_lst, t_magic = np.array(t_lst, dtype=np.int64), np.array(t_magic, dtype=np.int64)
    got = coincident_pairs(t_lst, t_magic, 100 * offset100, 100 * w100)
    want = bf.pairs(t_lst, t_magic, 100 * offset100, 100 * w100)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[0].dtype == got[1].dtype == np.int64


def test_empty_inputs_give_no_pairs():
    empty, one = np.empty(0, dtype=np.int64), np.array([5], dtype=np.int64)
    for t_lst, t_magic in ((empty, empty), (one, empty), (empty, one)):
        i, j = coincident_pairs(t_lst, t_magic, 0, 300)
        assert len(i) == len(j) == 0
    np.testing.assert_array_equal(last_partner(empty, empty, 3), [-1, -1, -1])


def test_exact_edges_with_negative_offset():
    # LST 10 000 at offset -3 200, w 300: window [6 500, 7 100], both edges included
    t_lst = np.array([10_000], dtype=np.int64)
    t_magic = np.array([7_100, 6_500, 6_400, 7_200], dtype=np.int64)
    i, j = coincident_pairs(t_lst, t_magic, -3_200, 300)
    assert j.tolist() == [0, 1]


@settings(max_examples=300, deadline=None)
@given(grid_times, grid_times, st.integers(-8, 8), st.integers(1, 5))
def test_last_partner_matches_reference_assignment(t_lst, t_magic, offset100, w100):
    """The reference assigns the LST ids to MAGIC rows with repeated labels: the
    last pair of a MAGIC row (in np.where order) wins."""
    t_lst, t_magic = np.array(t_lst, dtype=np.int64), np.array(t_magic, dtype=np.int64)
    i, j = bf.pairs(t_lst, t_magic, 100 * offset100, 100 * w100)
    want = np.full(len(t_magic), -1, dtype=np.int64)
    for a, b in zip(i, j, strict=True):
        want[b] = a
    np.testing.assert_array_equal(last_partner(i, j, len(t_magic)), want)


def test_joins_in_chunks_give_the_same_pairs(monkeypatch):
    """LST events joined a few at a time (bounded memory on merged runs): the same pairs."""
    from lmcoinc.pairing import match

    rng = np.random.default_rng(7)
    t_lst = rng.integers(0, 100_000, 500)
    t_magic = np.concatenate([t_lst[::2] + 1_000, rng.integers(0, 100_000, 100)])
    whole = coincident_pairs(t_lst, t_magic, 1_000, 300)
    monkeypatch.setattr(match, "JOIN_CHUNK_ROWS", 37)
    chunked = coincident_pairs(t_lst, t_magic, 1_000, 300)
    want = bf.pairs(t_lst, t_magic, 1_000, 300)
    assert len(want[0]) > 250
    for got in (whole, chunked):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
