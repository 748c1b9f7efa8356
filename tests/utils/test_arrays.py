"""in_order: np.sort's result, without sorting what already is."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.utils.arrays import in_order


@pytest.mark.parametrize("values", [
    [], [5], [1, 2, 2, 9], [3, 1, 2], [1, 2, 3, 2], [2**62, -(2**62), 0],
    [1.5, np.nan, 0.5], [0.5, 1.5, np.nan], [np.nan, 0.5],
])
def test_equals_np_sort(values):
    a = np.array(values)
    assert np.array_equal(in_order(a), np.sort(a), equal_nan=a.dtype.kind == "f")


def test_sorted_values_are_not_copied_and_others_are_left_alone():
    ordered = np.arange(10, dtype=np.int64)
    assert in_order(ordered) is ordered
    shuffled = np.array([3, 1, 2])
    assert np.array_equal(in_order(shuffled), [1, 2, 3])
    assert np.array_equal(shuffled, [3, 1, 2])


def test_random_times_like_the_events():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.integers(0, 400_000, 50_000))
    t[rng.integers(0, len(t), 20)] -= 1_000_000  # a few times out of order
    assert np.array_equal(in_order(t), np.sort(t))
