"""LST-1 DL1 reader (lstchain v0.9-v0.12 files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import InputError
from .hdf5 import open_hdf5, read_table, structured_to_polars

__all__ = [
    "LST_IMAGES_KEY",
    "LST_PARAMETERS_KEY",
    "OPTICS_KEY",
    "LSTData",
    "prepare_lst",
    "read_lst",
]

LST_PARAMETERS_KEY = "/dl1/event/telescope/parameters/LST_LSTCam"
LST_IMAGES_KEY = "/dl1/event/telescope/image/LST_LSTCam"
OPTICS_KEY = "/configuration/instrument/telescope/optics"

#: Event type of shower (subarray-triggered) events.
EVENT_TYPE_SUBARRAY = 32

_RENAME = {
    "obs_id": "obs_id_lst",
    "event_id": "event_id_lst",
    "delta_t": "time_diff",
    "alt_tel": "pointing_alt",
    "az_tel": "pointing_az",
    "leakage_pixels_width_1": "pixels_width_1",
    "leakage_pixels_width_2": "pixels_width_2",
    "leakage_intensity_width_1": "intensity_width_1",
    "leakage_intensity_width_2": "intensity_width_2",
    "time_gradient": "slope",
}
_REQUIRED = ("obs_id", "event_id", "tel_id", "event_type", "intensity", "time_gradient",
             "alt_tel", "az_tel", "length", "width", "phi", "psi")
_NAN_CHECKED = ("intensity", "time_gradient", "alt_tel", "az_tel")


@dataclass
class LSTData:
    """LST-1 events as read from a DL1 file.

    Attributes
    ----------
    path : Path
        The file.
    raw : polars.DataFrame
        The parameter table, all rows, file order.
    focal_length_m : float
        Equivalent focal length of the optics table (first row).
    """

    path: Path
    raw: pl.DataFrame
    focal_length_m: float


def read_lst(path: str | Path, timestamp_column: str = "dragon_time") -> LSTData:
    """Read the LST-1 parameter table and the focal length of a DL1 file.

    Raises
    ------
    InputError
        If the file is missing, not HDF5, corrupt, or not an LST-1 DL1 file.
    """
    path = Path(path)
    with open_hdf5(path, InputError) as handle:
        table = read_table(handle, path, LST_PARAMETERS_KEY, InputError, "not an LST-1 DL1 file?")
        optics = read_table(handle, path, OPTICS_KEY, InputError, "no optics description")
    raw = structured_to_polars(table)
    missing = [c for c in (*_REQUIRED, timestamp_column) if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: {LST_PARAMETERS_KEY} lacks column(s) {', '.join(missing)}")
    if "equivalent_focal_length" not in (optics.dtype.names or ()) or len(optics) == 0:
        raise InputError(f"{path}: {OPTICS_KEY} has no equivalent_focal_length")
    return LSTData(path, raw, float(optics["equivalent_focal_length"][0]))


def prepare_lst(raw: pl.DataFrame, focal_length_m: float) -> pl.DataFrame:
    """Select and arrange LST events as magic-cta-pipe's loader does (SPEC step 1).

    ``time_diff`` from consecutive ``dragon_time`` before any cut; shower
    events only; no NaN in intensity, time_gradient, alt_tel, az_tel; no
    repeated (obs_id, event_id); renamed columns; sorted by (obs_id_lst,
    event_id_lst, tel_id) with those first; length and width in m, phi and
    psi in deg.
    """
    df = raw
    if "dragon_time" in df.columns:
        df = df.with_columns(pl.col("dragon_time").diff().fill_null(0.0).alias("delta_t"))
    df = df.filter(pl.col("event_type") == EVENT_TYPE_SUBARRAY)
    for name in _NAN_CHECKED:
        col = pl.col(name)
        keep = col.is_not_null()
        if df.schema[name].is_float():
            keep = keep & col.is_not_nan()
        df = df.filter(keep)
    df = df.filter(pl.len().over("obs_id", "event_id") == 1)
    df = df.rename({k: v for k, v in _RENAME.items() if k in df.columns})
    index = ["obs_id_lst", "event_id_lst", "tel_id"]
    df = df.sort(index, maintain_order=True).select(
        *index, pl.exclude(index)
    )
    # Unit conversions with numpy, bit for bit as the reference computes them.
    f = np.float64(focal_length_m)
    return df.with_columns(
        pl.Series(c, f * np.tan(np.deg2rad(df[c].to_numpy()))) for c in ("length", "width")
    ).with_columns(pl.Series(c, np.rad2deg(df[c].to_numpy())) for c in ("phi", "psi"))
