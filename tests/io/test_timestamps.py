import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.io.timestamps import magic_ns, ns_to_seconds, seconds_to_ns, seconds_to_ns_reference


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


def test_exact_arithmetic_matches_decimal_at_the_edges():
    """The float64 arithmetic of UNIX times 2**30..2**33 s against Decimal: values with few
    decimals (the shortest is short), next to integers and to powers of two (where the
    rounding interval is lopsided), any bit pattern of the range, and just outside it."""
    rng = np.random.default_rng(7)
    whole = np.floor(1.7e9 + rng.random(2000) * 1e6)
    edges = [2.0**30, 2.0**31, 2.0**32, 2.0**33]
    x = np.concatenate([
        np.concatenate([np.round(1.7e9 + rng.random(500) * 1e4, d) for d in range(9)]),
        np.nextafter(whole, np.inf), np.nextafter(whole, 0.0), whole + 0.5, whole + 0.25,
        [np.nextafter(e, d) for e in edges for d in (0.0, np.inf)], edges,
        rng.integers(np.float64(2.0**30).view(np.int64), np.float64(2.0**33).view(np.int64),
                     20_000).view(np.float64),
        [2.0**30 - 1e-6, 2.0**33 + 1e-5, 1.5, 1e-7],
    ])
    np.testing.assert_array_equal(seconds_to_ns(x), seconds_to_ns_reference(x))


def test_many_values_outside_the_exact_range_match_decimal():
    """Values outside 2**30..2**33 s, many at once (the text route, exponent forms too)."""
    rng = np.random.default_rng(8)
    x = np.concatenate([rng.random(300) * 1e9, -rng.random(100) * 1e9, rng.random(100) * 1e-6,
                        2.0**33 + rng.random(100) * 5e8, [0.0, -0.0, 5e-324, 1e-7]])
    np.testing.assert_array_equal(seconds_to_ns(x), seconds_to_ns_reference(x))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=int(np.float64(2.0**30).view(np.int64)),
                   max_value=int(np.float64(2.0**33).view(np.int64)) - 1),
       st.integers(min_value=0, max_value=7))
def test_exact_range_bit_patterns_and_short_decimals_match_decimal(bits, digits):
    """Any float of 2**30..2**33 s, and the float of it rounded to few decimals, in the
    integer arithmetic of one power of two and of several at once."""
    x = np.array([bits], dtype=np.int64).view(np.float64)
    x = np.concatenate([x, np.round(x, digits), x * 2 if x[0] < 2.0**32 else x / 2])
    np.testing.assert_array_equal(seconds_to_ns(x), seconds_to_ns_reference(x))
    for one in x:
        np.testing.assert_array_equal(seconds_to_ns(np.array([one])),
                                      seconds_to_ns_reference([one]))
