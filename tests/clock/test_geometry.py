"""Geometric delay against light from a distant source placed with astropy; nearest in time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import AltAz, SkyCoord
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.clock.geometry import (
    SPEED_OF_LIGHT_M_PER_NS,
    baseline_m,
    geometric_delay_ns,
    nearest_in_time,
    shift_times,
)
from lmcoinc.instrument import RELATIVE_POSITIONS

_DISTANCE_M = 1e8  # far enough that the front is plane to 1e-4 ns over 150 m


def _delays_from_a_far_source(alt_rad, az_rad, telescope):
    """Per event: a source 1e8 m away in the direction astropy gives; distances by math.dist."""
    coords = SkyCoord(alt=alt_rad * u.rad, az=az_rad * u.rad, frame=AltAz())
    north, east, up = (np.asarray(v) for v in (coords.cartesian.x, coords.cartesian.y,
                                                 coords.cartesian.z))
    out = []
    for x, y, z in zip(north, east, up, strict=True):
        source = (_DISTANCE_M * x, -_DISTANCE_M * y, _DISTANCE_M * z)  # ground frame: y west
        t_magic = math.dist(source, RELATIVE_POSITIONS[telescope]) / SPEED_OF_LIGHT_M_PER_NS
        t_lst = math.dist(source, RELATIVE_POSITIONS["LST-1"]) / SPEED_OF_LIGHT_M_PER_NS
        out.append(t_magic - t_lst)
    return np.array(out)


@pytest.mark.parametrize("telescope", ["MAGIC-I", "MAGIC-II"])
def test_delay_is_that_of_light_from_a_far_source(telescope):
    rng = np.random.default_rng(1)
    alt = rng.uniform(np.radians(5), np.radians(90), 200)
    az = rng.uniform(0, 2 * np.pi, 200)
    np.testing.assert_allclose(geometric_delay_ns(alt, az, baseline_m(telescope)),
                               _delays_from_a_far_source(alt, az, telescope), atol=1e-3)


def test_delay_extremes_and_zenith():
    # |r_MAGIC - r_LST| / c: 147.5 m and 94.6 m, the largest delay over the sky.
    for telescope, distance in (("MAGIC-I", 147.5), ("MAGIC-II", 94.6)):
        b = baseline_m(telescope)
        assert np.linalg.norm(b) == pytest.approx(distance, abs=0.05)
        alt, az = np.meshgrid(np.radians(np.linspace(-90, 90, 721)),
                              np.radians(np.linspace(0, 360, 1441)))
        delays = geometric_delay_ns(alt.ravel(), az.ravel(), b)
        assert delays.max() == pytest.approx(distance / SPEED_OF_LIGHT_M_PER_NS, rel=1e-3)
        assert delays.min() == pytest.approx(-distance / SPEED_OF_LIGHT_M_PER_NS, rel=1e-3)
    # At zenith only the heights count: MAGIC-I is 1.75 m below LST-1, the light arrives later.
    zenith = geometric_delay_ns(np.array([np.pi / 2]), np.array([0.0]), baseline_m("MAGIC-I"))
    assert zenith[0] == pytest.approx(1.75 / SPEED_OF_LIGHT_M_PER_NS)
    # Pointing north (az 0) at the horizon: MAGIC-I is 47.39 m north, it is reached first.
    north = geometric_delay_ns(np.array([0.0]), np.array([0.0]), baseline_m("MAGIC-I"))
    assert north[0] == pytest.approx(-47.39 / SPEED_OF_LIGHT_M_PER_NS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=1, max_size=30),
       st.lists(st.integers(-60, 60), min_size=1, max_size=30))
def test_nearest_in_time_is_the_argmin(times, queries):
    t, q = np.array(times, dtype=np.int64), np.array(queries, dtype=np.int64)
    found = nearest_in_time(q, t)
    for query, index in zip(q, found, strict=True):
        distances = np.abs(t - query)
        assert distances[index] == distances.min()
        # ties: the earlier time
        assert t[index] == t[distances == distances.min()].min()


def test_shift_times_rounds_to_whole_ns():
    t = np.array([10, 10, 10, 10], dtype=np.int64)
    np.testing.assert_array_equal(shift_times(t, np.array([0.4, 0.5, 1.5, -2.6])),
                                  [10, 10, 12, 7])
