"""The instruments as the real pipelines describe them: the MAGIC camera, the subarrays,
MAGIC's event-info containers, the timing fit without numba."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.simulate.instrument import (
    magic_camera_geometry,
    magic_container_classes,
    subarrays,
    timing_parameters,
)
from lmcoinc.simulate.magic import MAGIC_FOCAL_LENGTH_M, MAGIC_N_PIXELS


def test_magic_camera():
    geom = magic_camera_geometry()
    x, y = geom.pix_x.to_value("m"), geom.pix_y.to_value("m")
    assert geom.name == "MAGICCam" and geom.n_pixels == MAGIC_N_PIXELS == 1039
    assert (x[0], y[0]) == (0.0, 0.0) and np.hypot(x, y).max() < 0.5075
    distance = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(distance, np.inf)
    nearest = distance.min(axis=1)
    assert nearest.min() > 0.0299 and nearest.max() < 0.0302  # a hexagonal grid, 30 mm pitch
    # in rings from the centre: ring r has 6 r pixels, between r * pitch * sqrt(3) / 2 and r pitch
    r = np.hypot(x, y)
    for ring in range(1, 18):  # the complete rings
        members = r[1 + 3 * ring * (ring - 1):1 + 3 * ring * (ring + 1)]
        assert members.size == 6 * ring
        assert (members > ring * 0.0300 * np.sqrt(3) / 2 - 1e-3).all()
        assert (members < ring * 0.0301).all()
    assert geom.frame.focal_length.to_value("m") == pytest.approx(MAGIC_FOCAL_LENGTH_M)
    assert np.allclose(geom.pix_area.to_value("m2"), 0.0007794228515625)


def test_subarrays():
    lst, magic_lst = subarrays()
    assert lst.tel_ids.tolist() == [1] and lst.tel[1].camera.geometry.n_pixels == 1855
    assert magic_lst.name == "MAGIC-LST-Array" and sorted(magic_lst.tel_ids) == [1, 2, 3]
    assert magic_lst.tel[1] == lst.tel[1]
    for tel_id in (2, 3):
        tel = magic_lst.tel[tel_id]
        assert tel.camera.geometry.n_pixels == 1039 and tel.camera.readout.n_pixels == 1039
        assert tel.optics.equivalent_focal_length.to_value("m") == pytest.approx(16.97)
    positions = {t: magic_lst.positions[t].to_value("m").tolist() for t in (1, 2, 3)}
    assert positions == {1: [-8.09, 77.13, 0.78], 2: [39.3, -62.55, -0.97],
                         3: [-31.21, -14.57, 0.2]}
    location = magic_lst.reference_location
    assert (location.lon.deg, location.lat.deg) == pytest.approx((-17.890879, 28.761579))


def test_magic_containers():
    base, real = magic_container_classes()
    assert issubclass(real, base)
    fields = real.fields
    assert list(base.fields) == ["obs_id", "event_id", "tel_id", "pointing_alt", "pointing_az",
                                 "n_pixels", "n_islands", "tels_with_trigger"]
    assert list(fields)[-3:] == ["time_sec", "time_nanosec", "time_diff"]
    assert [str(fields[n].unit) for n in ("pointing_alt", "time_sec", "time_nanosec")] == [
        "rad", "s", "ns"]
    event = real(obs_id=5093711, event_id=3)
    assert (event.obs_id, event.event_id, event.tel_id) == (5093711, 3, -1)


def test_timing_fit_is_a_least_squares_line():
    from astropy import units as u
    from ctapipe.image import hillas_parameters

    geom = magic_camera_geometry()
    x, y = geom.pix_x.to_value(u.m), geom.pix_y.to_value(u.m)
    image = 200.0 * np.exp(-0.5 * (((x - 0.1) / 0.06) ** 2 + ((y + 0.05) / 0.025) ** 2))
    mask = image > 6.0
    hillas = hillas_parameters(geom[mask], image[mask])
    psi = hillas.psi.to_value(u.rad)
    lon = (x - hillas.x.to_value(u.m)) * np.cos(psi) + (y - hillas.y.to_value(u.m)) * np.sin(psi)
    rng = np.random.default_rng(0)
    peak_time = 28.0 + 40.0 * lon + rng.normal(0, 0.5, x.size)
    found = timing_parameters(geom[mask], image[mask], peak_time[mask], hillas)
    slope, intercept = np.polyfit(lon[mask], peak_time[mask], 1)
    residual = peak_time[mask] - (slope * lon[mask] + intercept)
    assert found.slope.unit == 1 / u.m
    assert found.slope.value == pytest.approx(slope) and found.intercept == pytest.approx(intercept)
    assert found.deviation == pytest.approx(np.sqrt(np.mean(residual**2)))
    assert slope == pytest.approx(40.0, rel=0.05)
