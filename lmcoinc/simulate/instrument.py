"""Instrument descriptions as the real pipelines write them (ctapipe imported lazily).

The LST-1 subarray of ``ctapipe_io_lst``, the "MAGIC-LST-Array" of
magic-cta-pipe with a MAGIC camera built like ``ctapipe_io_magic``'s, the
MAGIC event-info containers of ``magicctapipe.io.containers`` and a numba-free
stand-in of ctapipe's timing fit.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .magic import MAGIC_FOCAL_LENGTH_M, MAGIC_N_PIXELS

__all__ = [
    "magic_camera_geometry",
    "magic_container_classes",
    "subarrays",
    "timing_parameters",
]


@functools.lru_cache(maxsize=1)
def magic_container_classes() -> tuple[type, type]:
    """``BaseEventInfoContainer``/``RealEventInfoContainer`` as in magicctapipe.io.containers."""
    from astropy import units as u
    from ctapipe.core import Container, Field

    default_value = -1

    class BaseEventInfoContainer(Container):
        """Base container to store event information"""

        obs_id = Field(default_value, "Observation ID")
        event_id = Field(default_value, "Event ID")
        tel_id = Field(default_value, "Telescope ID")
        pointing_alt = Field(np.nan * u.rad, "Altitude of the pointing direction", unit="rad")
        pointing_az = Field(np.nan * u.rad, "Azimuth of the pointing direction", unit="rad")
        n_pixels = Field(default_value, "Number of pixels after the image cleaning")
        n_islands = Field(default_value, "Number of islands after the image cleaning")
        tels_with_trigger = Field(
            None, "Integer indicating the combination of telescopes that triggered"
        )

    class RealEventInfoContainer(BaseEventInfoContainer):
        """Container to store real event information"""

        time_sec = Field(np.nan * u.s, "Seconds of the event trigger time", unit="s")
        time_nanosec = Field(np.nan * u.ns, "Nanoseconds of the event trigger time", unit="ns")
        time_diff = Field(np.nan * u.s, "Time difference from the previous event", unit="s")

    return BaseEventInfoContainer, RealEventInfoContainer


@functools.lru_cache(maxsize=1)
def magic_camera_geometry() -> Any:
    """The MAGIC camera (1039 hexagonal pixels) as in ctapipe_io_magic's MAGICCam.camgeom.

    Pixels lie on a hexagonal grid of 30 mm pitch rotated by 10.9 deg, ordered
    in rings from the centre (each ring clockwise from its corner), keeping the
    pixels within 0.505 m of the centre.
    """
    from astropy import units as u
    from ctapipe.coordinates import CameraFrame
    from ctapipe.instrument import CameraGeometry, PixelShape

    # grid units of the bundled geometry file and the ring corners in those units
    ux, uy = 0.00981969, 0.0056694
    corners = np.array([(-1, -5), (-3, -1), (-2, 4), (1, 5), (3, 1), (2, -4)])
    pts = [np.zeros((1, 2), dtype=np.int64)]
    for k in range(1, 21):
        for side in range(6):
            a0, a1 = corners[side] * k, corners[(side + 1) % 6] * k
            steps = np.arange(k)[:, None]
            pts.append(a0 + (a1 - a0) * steps // k)
    grid = np.concatenate(pts)
    x, y = grid[:, 0] * ux, grid[:, 1] * uy
    sel = np.hypot(x, y) < 0.5075
    x, y = x[sel], y[sel]
    n = x.size
    geom = CameraGeometry(
        name="MAGICCam",
        pix_id=np.arange(n),
        pix_x=u.Quantity(x, u.m),
        pix_y=u.Quantity(y, u.m),
        pix_area=u.Quantity(np.full(n, 0.0007794228515625), u.m**2),
        pix_type=PixelShape.HEXAGON,
        pix_rotation=u.Quantity(70.9, u.deg),
        cam_rotation=u.Quantity(0.0, u.deg),
        frame=CameraFrame(focal_length=u.Quantity(MAGIC_FOCAL_LENGTH_M, u.m)),
    )
    if n != MAGIC_N_PIXELS:  # pragma: no cover - guards the construction above
        raise RuntimeError(f"MAGIC camera construction gave {n} pixels")
    return geom


@functools.lru_cache(maxsize=1)
def subarrays() -> tuple[Any, Any]:
    """(LST-1 subarray as written by lstchain, MAGIC-LST-Array as written by magic_calib_to_dl1)."""
    import warnings

    from astropy import units as u
    from astropy.coordinates import EarthLocation
    from ctapipe.instrument import (
        CameraDescription,
        CameraReadout,
        OpticsDescription,
        ReflectorShape,
        SizeType,
        SubarrayDescription,
        TelescopeDescription,
    )
    from ctapipe_io_lst import LSTEventSource

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing provenance metadata of bundled resources
        lst = LSTEventSource.create_subarray(tel_id=1)

    optics = OpticsDescription(
        name="MAGIC",
        size_type=SizeType.LST,
        n_mirrors=1,
        n_mirror_tiles=964,
        reflector_shape=ReflectorShape.PARABOLIC,
        equivalent_focal_length=u.Quantity(16.97, u.m),
        effective_focal_length=u.Quantity(17 * 1.0713, u.m),
        mirror_area=u.Quantity(239.0, u.m**2),
    )
    geom = magic_camera_geometry()
    readout = CameraReadout(
        name="MAGICCam",
        sampling_rate=u.Quantity(1.64, u.GHz),
        reference_pulse_shape=np.array([[0.0, 1.0, 2.0, 1.0, 0.0], [1.0, 2.0, 3.0, 2.0, 1.0]]),
        reference_pulse_sample_width=u.Quantity(0.5, u.ns),
        n_channels=1,
        n_pixels=geom.n_pixels,
        n_samples=50,
    )
    magic_tel = TelescopeDescription(
        name="MAGIC", optics=optics, camera=CameraDescription("MAGICCam", geom, readout)
    )
    reference_location = EarthLocation(  # ctapipe_io_magic.constants.REFERENCE_LOCATION
        lon=-17.890879 * u.deg, lat=28.761579 * u.deg, height=2199 * u.m
    )
    magic_lst = SubarrayDescription(
        "MAGIC-LST-Array",
        {
            1: [-8.09, 77.13, 0.78] * u.m,
            2: [39.3, -62.55, -0.97] * u.m,
            3: [-31.21, -14.57, 0.2] * u.m,
        },
        {1: lst.tel[1], 2: magic_tel, 3: magic_tel},
        reference_location,
    )
    return lst, magic_lst


def timing_parameters(geom: Any, image: np.ndarray, peak_time: np.ndarray, hillas: Any) -> Any:
    """``ctapipe.image.timing_parameters`` for a camera-frame image, without numba.

    A plain least-squares line replaces the (JIT-compiled) robust fit; the
    returned container and the value types are the same.
    """
    from astropy import units as u
    from ctapipe.containers import CameraTimingParametersContainer
    from ctapipe.image import camera_to_shower_coordinates

    unit = hillas.x.unit
    pix_x, pix_y = geom.pix_x.to_value(unit), geom.pix_y.to_value(unit)
    longi, _ = camera_to_shower_coordinates(
        pix_x, pix_y, hillas.x.to_value(unit), hillas.y.to_value(unit), hillas.psi.to_value(u.rad)
    )
    peak_time = peak_time.astype(np.float64)
    beta = np.polyfit(longi, peak_time, 1)
    deviation = np.sqrt(np.mean((longi * beta[0] + beta[1] - peak_time) ** 2))
    return CameraTimingParametersContainer(
        slope=beta[0] / unit, intercept=beta[1], deviation=deviation
    )
