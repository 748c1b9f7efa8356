"""Contents of the MAGIC DL1 parameters tables, one per telescope.

Every accepted stereo shower trigger is a row in both files (same event id and
time), except the ~5 % whose image the cleaning lost in one telescope.
"""

from __future__ import annotations

import numpy as np

from .config import SimulationConfig
from .events import EventStream
from .pointing import telescope_pointing
from .shapes import shower_shapes

__all__ = ["MAGIC_FOCAL_LENGTH_M", "MAGIC_N_PIXELS", "MAGIC_TELS", "magic_columns"]

MAGIC_N_PIXELS = 1039
#: effective focal length of ctapipe_io_magic's CameraFrame
MAGIC_FOCAL_LENGTH_M = 17 * 1.0713
#: tel_id of MAGIC-I and MAGIC-II in the MAGIC-LST-Array
MAGIC_TELS = (2, 3)
_TELS_WITH_TRIGGER = 2**2 + 2**3  # stereo trigger [M1, M2] encoded as magic_calib_to_dl1
_GAIN = (80.0, 85.0)  # p.e. per unit shower size, M1 and M2
_ALT_SHIFT = (0.0, 4e-5)
_AZ_SHIFT = (3e-5, -1e-5)


def _image_columns(
    rng: np.random.Generator, intensity: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    """Image parameters in magic-cta-pipe's units (m, deg) for the given intensities."""
    shapes = shower_shapes(rng, intensity, r_max_m=0.45)
    focal = MAGIC_FOCAL_LENGTH_M
    cols = {
        "n_pixels": np.round(3 + 1.2 * intensity**0.55).astype(np.int64),
        "n_islands": shapes["n_islands"],
        "intensity": intensity,
    }
    for name in ("skewness", "kurtosis", "x", "y", "r"):
        cols[name] = shapes[name]
    cols["phi"] = np.rad2deg(shapes["phi"])
    for name in ("length", "length_uncertainty", "width", "width_uncertainty"):
        cols[name] = focal * np.tan(np.deg2rad(shapes[name]))
    cols["psi"] = np.rad2deg(shapes["psi"])
    cols["psi_uncertainty"] = rng.uniform(0.5, 5.0, n) / np.sqrt(intensity / 100.0)
    cols["transverse_cog_uncertainty"] = cols["width_uncertainty"] * 1.2
    cols["intercept"] = rng.normal(28.0, 3.0, n)
    cols["deviation"] = rng.gamma(2.0, 0.5, n)
    cols["slope"] = rng.normal(0.0, 15.0, n)
    for name in ("pixels_width_1", "pixels_width_2", "intensity_width_1", "intensity_width_2"):
        cols[name] = shapes[f"leakage_{name}"]
    for name in ("cog", "core", "pixel"):
        cols[f"concentration_{name}"] = shapes[f"concentration_{name}"]
    return cols


def magic_columns(
    stream: EventStream, config: SimulationConfig, rng: np.random.Generator
) -> dict[int, dict[str, np.ndarray]]:
    """Column arrays of the MAGIC parameters tables.

    Parameters
    ----------
    stream : EventStream
        The accepted triggers.
    config : SimulationConfig
        MAGIC run number and pointing.
    rng : numpy.random.Generator
        Random generator (the draws are made in a fixed order).

    Returns
    -------
    dict
        tel_id (2: M1, 3: M2) → column name → values, in event-id order.
    """
    sh = stream.magic_shower
    n = sh.size
    event_id = np.arange(1, n + 1, dtype=np.int64)
    log_size = stream.shower_log_size[sh]
    out: dict[int, dict[str, np.ndarray]] = {}
    for i_tel, tel_id in enumerate(MAGIC_TELS):
        intensity = _GAIN[i_tel] * 10**log_size * 10 ** rng.normal(0.0, 0.12, n)
        alt, az = telescope_pointing(
            config, stream.t0_ns, stream.magic_true_ns, _ALT_SHIFT[i_tel], _AZ_SHIFT[i_tel]
        )
        time_sec, time_nanosec = np.divmod(stream.t0_ns + stream.magic_stamps_ns[i_tel], 10**9)
        cols = {
            "obs_id": np.full(n, config.magic_obs_id, np.uint64),
            "event_id": event_id,
            "tel_id": np.full(n, tel_id, np.int64),
            "pointing_alt": alt,
            "pointing_az": az,
            "tels_with_trigger": np.full(n, _TELS_WITH_TRIGGER, np.int64),
            "time_sec": time_sec,
            "time_nanosec": time_nanosec,
            "time_diff": stream.magic_diffs_s[i_tel],
        }
        cols.update(_image_columns(rng, intensity, n))
        keep = stream.magic_lost != i_tel + 1
        out[tel_id] = {k: v[keep] for k, v in cols.items()}
    return out
