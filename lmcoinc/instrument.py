"""The LST-1 + MAGIC array: telescope positions and the reference location.

Values of magic-cta-pipe 0.6.2 (``RELATIVE_POSITIONS``, ``REFERENCE_LOCATION``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "REFERENCE_ITRS",
    "REFERENCE_LOCATION",
    "RELATIVE_POSITIONS",
    "telescope_positions",
]

#: Telescope positions (m) in a common ground frame (x north, y west, z up).
RELATIVE_POSITIONS = {
    "LST-1": [-70.930, -52.070, 43.00],
    "LST-2": [-35.270, 66.140, 32.00],
    "LST-3": [75.280, 50.490, 28.70],
    "LST-4": [30.910, -64.540, 32.00],
    "MAGIC-I": [-23.540, -191.750, 41.25],
    "MAGIC-II": [-94.05, -143.770, 42.42],
}

#: magic-cta-pipe's REFERENCE_LOCATION: longitude (deg), latitude (deg), height (m).
REFERENCE_LOCATION = (-17.890879, 28.761579, 2199.0)

#: :data:`REFERENCE_LOCATION` in ITRS (m), as astropy's EarthLocation gives it (tested).
REFERENCE_ITRS = (5326851.018149303, -1719589.592870251, 3051820.7780909366)


def telescope_positions(tel_ids: dict[str, int]) -> dict[int, np.ndarray]:
    """Positions (m) of the telescopes in use relative to their mean, rounded to 1 cm.

    Parameters
    ----------
    tel_ids : dict
        Telescope name → id (id ≤ 0: not in use), as ``mc_tel_ids``.
    """
    used = {name: tid for name, tid in tel_ids.items() if tid > 0}
    mean = np.array([RELATIVE_POSITIONS[name] for name in used]).mean(axis=0)
    return {
        tid: np.round(np.asarray(RELATIVE_POSITIONS[name]) - mean, 2) for name, tid in used.items()
    }
