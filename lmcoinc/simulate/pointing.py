"""Where the telescopes point (alt, az in rad) as a function of time."""

from __future__ import annotations

import numpy as np

__all__ = ["pointing"]


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
