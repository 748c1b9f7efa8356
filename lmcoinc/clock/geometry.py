"""Light-travel delay between LST-1 and a MAGIC telescope along the pointing direction.

A plane shower front from the direction ``n = (cos alt cos az, -cos alt sin
az, sin alt)`` (ground frame: x north, y west, z up; azimuth from north
towards east) reaches a telescope at ``r`` at ``t0 - r·n / c``, so the same
shower is seen at MAGIC ``t_MAGIC - t_LST = -(r_MAGIC - r_LST)·n / c`` after
LST-1: up to ±492 ns for MAGIC-I (147.5 m away) and ±316 ns for MAGIC-II
(94.6 m). Pure functions on numpy arrays; angles in rad.
"""

from __future__ import annotations

import numpy as np

from ..instrument import RELATIVE_POSITIONS

__all__ = [
    "SPEED_OF_LIGHT_M_PER_NS",
    "baseline_m",
    "geometric_delay_ns",
    "nearest_in_time",
    "shift_times",
]

#: Speed of light in vacuum (m/ns); the air's refractive index (1.0003) changes a
#: delay by less than 0.2 ns.
SPEED_OF_LIGHT_M_PER_NS = 0.299792458


def baseline_m(telescope: str, reference: str = "LST-1") -> np.ndarray:
    """Position of ``telescope`` minus that of ``reference`` (m, ground frame).

    Parameters
    ----------
    telescope, reference : str
        Names of :data:`lmcoinc.instrument.RELATIVE_POSITIONS`.
    """
    return np.subtract(RELATIVE_POSITIONS[telescope], RELATIVE_POSITIONS[reference])


def geometric_delay_ns(alt: np.ndarray, az: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Arrival time at ``reference + baseline`` minus at the reference, of a plane front (ns).

    Parameters
    ----------
    alt, az : numpy.ndarray
        Pointing of each event (rad; azimuth from north towards east).
    baseline : numpy.ndarray
        Shape (3,): the telescope's position relative to the reference (m),
        e.g. :func:`baseline_m`.

    Returns
    -------
    numpy.ndarray of float64
        ``-baseline·n / c`` for each event.
    """
    alt, az = np.asarray(alt, dtype=np.float64), np.asarray(az, dtype=np.float64)
    cos_alt = np.cos(alt)
    along = (baseline[0] * cos_alt * np.cos(az) - baseline[1] * cos_alt * np.sin(az)
             + baseline[2] * np.sin(alt))
    return -along / SPEED_OF_LIGHT_M_PER_NS


def nearest_in_time(t_query: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each time of ``t_query``, the index of the nearest time in ``t`` (any order).

    Ties go to the earlier time; ``t`` must not be empty.
    """
    if len(t) == 1:
        return np.zeros(len(t_query), dtype=np.int64)
    order = np.argsort(t, kind="stable")
    t_sorted = t[order]
    right = np.clip(np.searchsorted(t_sorted, t_query, side="left"), 1, len(t_sorted) - 1)
    left = right - 1
    take_right = (t_sorted[right] - t_query) < (t_query - t_sorted[left])
    return order[np.where(take_right, right, left)]


def shift_times(t_ns: np.ndarray, shift_ns: np.ndarray) -> np.ndarray:
    """``t_ns`` (int64) plus ``shift_ns`` rounded to whole nanoseconds (half to even)."""
    return t_ns + np.rint(shift_ns).astype(np.int64)
