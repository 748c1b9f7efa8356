import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.timestamps import magic_ns, ns_to_seconds, seconds_to_ns, seconds_to_ns_reference


def test_matches_decimal_on_realistic_lst_times():
    rng = np.random.default_rng(1)
    ns = 1_700_000_000 * 10**9 + 100 * rng.integers(0, 10**8, 200_000)
    seconds = ns / 1e9  # what lstchain stores: float64, 238 ns spacing
    got = seconds_to_ns(seconds)
    np.testing.assert_array_equal(got, seconds_to_ns_reference(seconds))
    # the naive conversions differ, which is why the decimal route exists
    assert (np.round(seconds * 1e9).astype(np.int64) != got).mean() > 0.5


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-4e9, max_value=4e9, allow_nan=False, allow_infinity=False))
def test_any_float_matches_decimal(x):
    np.testing.assert_array_equal(seconds_to_ns(np.array([x])), seconds_to_ns_reference([x]))


def test_scientific_notation_and_small_values():
    x = np.array([1e-7, 5e-324, -2.5e-5, 1.5, 0.0, -0.0, 123456.123456789123])
    np.testing.assert_array_equal(seconds_to_ns(x), seconds_to_ns_reference(x))


def test_rejects_non_finite():
    with pytest.raises(ValueError):
        seconds_to_ns(np.array([1.0, np.nan]))


def test_magic_ns_and_seconds():
    ns = magic_ns(np.array([1_700_000_000]), np.array([123_456_789]))
    assert ns[0] == 1_700_000_000_123_456_789
    assert ns_to_seconds(ns)[0] == np.float64(1_700_000_000_123_456_789) * 1e-09
