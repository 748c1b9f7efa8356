"""Where the telescopes point, and the light-travel delay between them that it causes.

Angles in rad; azimuth from north towards east. Ground frame of the delays:
x north, y west, z up, as the telescope positions of the reference.
"""

from __future__ import annotations

import math

import numpy as np

from .config import SimulationConfig

__all__ = [
    "LATITUDE_DEG",
    "SPEED_OF_LIGHT_M_PER_NS",
    "altaz_to_hadec",
    "geometric_delays_ns",
    "hadec_to_altaz",
    "pointing",
    "telescope_pointing",
    "tracked_pointing",
]

#: latitude of the site (magic-cta-pipe's REFERENCE_LOCATION)
LATITUDE_DEG = 28.761579
SPEED_OF_LIGHT_M_PER_NS = 0.299792458
_SIDEREAL_DAY_S = 86164.0905


def pointing(t_ns: np.ndarray, alt_shift: float, az_shift: float) -> tuple[np.ndarray, ...]:
    """Telescope pointing (alt, az in rad) tracking a source around alt 1.2 rad.

    Parameters
    ----------
    t_ns : numpy.ndarray
        True times (ns from the LST subrun start).
    alt_shift, az_shift : float
        Small per-telescope pointing differences (rad).
    """
    t_s = t_ns * 1e-9
    alt = 1.2 + 2.5e-5 * t_s + alt_shift
    az = 3.3 + 8.0e-5 * t_s + az_shift
    return alt, az


def _rotate(elevation: np.ndarray, angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rotation between the horizontal and the equatorial frame at the site.

    Written with azimuth from north towards east and hour angle westwards,
    the same formulas map (alt, az) to (dec, ha) and (dec, ha) to (alt, az).
    """
    lat = math.radians(LATITUDE_DEG)
    sin_out = np.sin(lat) * np.sin(elevation) + np.cos(lat) * np.cos(elevation) * np.cos(angle)
    out = np.arctan2(
        -np.sin(angle) * np.cos(elevation),
        np.cos(lat) * np.sin(elevation) - np.sin(lat) * np.cos(elevation) * np.cos(angle),
    )
    return np.arcsin(np.clip(sin_out, -1.0, 1.0)), out


def altaz_to_hadec(alt: np.ndarray, az: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hour angle and declination (rad) of a direction given in alt/az (rad) at the site."""
    dec, ha = _rotate(alt, az)
    return ha, dec


def hadec_to_altaz(ha: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alt and az (rad, az in [0, 2 pi)) of a direction given in hour angle/declination."""
    alt, az = _rotate(dec, ha)
    return alt, np.mod(az, 2 * np.pi)


def tracked_pointing(
    schedule: tuple[tuple[float, float, float], ...], unix_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Alt/az (rad) of a telescope following a pointing schedule.

    Parameters
    ----------
    schedule : tuple of (float, float, float)
        ``(start_unix_s, alt_deg, az_deg)`` segments in time order. At its
        start a segment points at alt/az, then tracks that sky position
        (fixed hour-angle rate); times before the first start belong to it.
    unix_s : numpy.ndarray
        Times (UNIX s).
    """
    starts = np.array([seg[0] for seg in schedule], dtype=np.float64)
    alt0 = np.radians([seg[1] for seg in schedule])
    az0 = np.radians([seg[2] for seg in schedule])
    ha0, dec = altaz_to_hadec(alt0, az0)
    seg = np.clip(np.searchsorted(starts, unix_s, side="right") - 1, 0, len(schedule) - 1)
    ha = ha0[seg] + 2 * np.pi / _SIDEREAL_DAY_S * (unix_s - starts[seg])
    return hadec_to_altaz(ha, dec[seg])


def telescope_pointing(
    config: SimulationConfig, t0_ns: int, t_ns: np.ndarray, alt_shift: float, az_shift: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointing (alt, az in rad) of one telescope at true times ``t_ns`` from ``t0_ns``."""
    if not config.pointing_schedule:
        return pointing(t_ns, alt_shift, az_shift)
    alt, az = tracked_pointing(config.pointing_schedule, (t0_ns + t_ns) * 1e-9)
    return alt + alt_shift, az + az_shift


def geometric_delays_ns(alt: np.ndarray, az: np.ndarray) -> np.ndarray:
    """Arrival time at MAGIC-I and MAGIC-II minus at LST-1 of a plane front (ns).

    ``t_MAGIC - t_LST = -(r_MAGIC - r_LST) . n / c`` for a front from the
    direction ``n = (cos alt cos az, -cos alt sin az, sin alt)`` (x north, y
    west, z up), with the telescope positions of the reference (LST-1 is
    147.5 m from MAGIC-I and 94.6 m from MAGIC-II).

    Returns
    -------
    numpy.ndarray
        Shape ``(2, n)``: MAGIC-I, MAGIC-II.
    """
    from ..instrument import RELATIVE_POSITIONS

    n = np.stack([np.cos(alt) * np.cos(az), -np.cos(alt) * np.sin(az), np.sin(alt)])
    lst = np.asarray(RELATIVE_POSITIONS["LST-1"])
    rel = np.array([RELATIVE_POSITIONS[name] for name in ("MAGIC-I", "MAGIC-II")]) - lst
    return -(rel @ n) / SPEED_OF_LIGHT_M_PER_NS
