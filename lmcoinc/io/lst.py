"""LST-1 DL1 reader (lstchain v0.9-v0.12 files).

Timestamp policy
----------------
The LST timestamp used for the coincidence (``timestamp_type_lst``, by
default ``dragon_time``, float64 UNIX seconds) is checked on the events that
the coincidence would use, i.e. after the reference's cuts (shower events,
no NaN parameter, no repeated event id):

* NaN, infinite, zero or negative values: those events are dropped, with a
  warning giving their number and the file. The reference crashes on NaN;
  a zero (e.g. a missing UCTS time) would stretch the time range of the
  offset search from 1970 to the subrun and corrupt the offset. If no event
  has a valid timestamp, or if it has no shower event at all, the file is
  rejected (InvalidFileError).
* Time going backwards with respect to the event id: the events are kept
  (the profile and the pairing work on time-sorted copies, so the results
  stay those of the reference), with a warning giving the number of
  backward steps: the pre-offset search and the candidate range take the
  first and last events in event-id order, as the reference does, which a
  disordered file can make unrepresentative.

``time_diff`` (consecutive ``dragon_time`` in file order, before any cut)
skips rows whose ``dragon_time`` is invalid: the next row's ``time_diff``
spans to the previous valid one, and the invalid row itself gets 0. On
valid input all of this changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import InvalidFileError
from ..timestamps import seconds_to_ns
from ..timing import StageTimer
from .hdf5 import open_hdf5, read_table, to_polars

__all__ = [
    "LST_IMAGES_KEY",
    "LST_PARAMETERS_KEY",
    "OPTICS_KEY",
    "LSTData",
    "invalid_timestamps",
    "load_lst",
    "prepare_lst",
    "read_lst",
]

log = logging.getLogger(__name__)

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
    InvalidFileError
        If the file is missing, not HDF5, corrupt, or not an LST-1 DL1 file.
    """
    path = Path(path)
    with open_hdf5(path) as handle:
        table = read_table(handle, LST_PARAMETERS_KEY, what="not an LST-1 DL1 file?")
        optics = read_table(handle, OPTICS_KEY, what="no optics description")
    raw = to_polars(table)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if timestamp_column not in raw.columns:
        missing.append(f"{timestamp_column} (the timestamp_type_lst of the config)")
    if missing:
        raise InvalidFileError(
            path, f"{LST_PARAMETERS_KEY} lacks column(s) {', '.join(missing)}"
        )
    if not raw.schema[timestamp_column].is_numeric():
        raise InvalidFileError(
            path, f"column {timestamp_column} is {raw.schema[timestamp_column]}, not a number"
        )
    if "equivalent_focal_length" not in (optics.dtype.names or ()) or len(optics) == 0:
        raise InvalidFileError(path, f"{OPTICS_KEY} has no equivalent_focal_length")
    return LSTData(path, raw, float(optics["equivalent_focal_length"][0]))


def invalid_timestamps(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where a timestamp (UNIX seconds) is null, NaN, infinite, zero or negative."""
    bad = column.is_null() | (column <= 0)
    if dtype.is_float():
        bad = bad | ~column.is_finite()
    return bad


def prepare_lst(
    raw: pl.DataFrame,
    focal_length_m: float,
    timestamp_column: str | None = None,
    path: str | Path = "LST-1 file",
) -> pl.DataFrame:
    """Select and arrange LST events as magic-cta-pipe's loader does (SPEC step 1).

    ``time_diff`` from consecutive ``dragon_time`` before any cut; shower
    events only; no NaN in intensity, time_gradient, alt_tel, az_tel; no
    repeated (obs_id, event_id); renamed columns; sorted by (obs_id_lst,
    event_id_lst, tel_id) with those first; length and width in m, phi and
    psi in deg.

    With ``timestamp_column``, the timestamp policy of this module is then
    applied (warnings and errors name ``path``).

    Raises
    ------
    InvalidFileError
        If no event is left with a valid timestamp.
    """
    df = raw
    if "dragon_time" in df.columns:
        dragon = pl.col("dragon_time")
        valid = pl.when(~invalid_timestamps(dragon, df.schema["dragon_time"])).then(dragon)
        df = df.with_columns(valid.forward_fill().diff().fill_null(0.0).alias("delta_t"))
    df = df.filter(pl.col("event_type") == EVENT_TYPE_SUBARRAY)
    for name in _NAN_CHECKED:
        col = pl.col(name)
        keep = col.is_not_null()
        if df.schema[name].is_float():
            keep = keep & col.is_not_nan()
        df = df.filter(keep)
    df = df.filter(pl.len().over("obs_id", "event_id") == 1)
    if timestamp_column is not None:
        df = _check_timestamps(df, timestamp_column, path)
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


def _check_timestamps(df: pl.DataFrame, column: str, path: str | Path) -> pl.DataFrame:
    """Drop events with an invalid timestamp, warn about time going backwards."""
    if df.height == 0:
        raise InvalidFileError(path, "no shower events (event_type 32) with valid parameters")
    bad = df.select(invalid_timestamps(pl.col(column), df.schema[column])).to_series()
    n_bad = int(bad.sum())
    if n_bad:
        if n_bad == df.height:
            raise InvalidFileError(
                path, f"all {n_bad} shower events have an invalid {column} "
                "(NaN, infinite, zero or negative)"
            )
        log.warning(
            "%s: %d of %d shower events have an invalid %s (NaN, infinite, zero or negative); "
            "dropped", path, n_bad, df.height, column,
        )
        df = df.filter(~bad)
    backward = int(
        (df.sort("obs_id", "event_id").get_column(column).diff() < 0).sum()
    )
    if backward:
        log.warning(
            "%s: %s goes backwards at %d events (in event-id order); events kept (the pairing "
            "sorts by time)", path, column, backward,
        )
    return df


def load_lst(
    path: str | Path, timestamp_column: str, timer: StageTimer | None = None
) -> tuple[pl.DataFrame, np.ndarray]:
    """Read and prepare the events of an LST-1 file for the coincidence.

    Returns
    -------
    (polars.DataFrame, numpy.ndarray)
        The prepared events (:func:`prepare_lst`, with ``timestamp_column``
        renamed "timestamp") and their timestamps in int64 ns.
    """
    timer = timer or StageTimer()
    with timer.stage("read"):
        data = read_lst(path, timestamp_column)
    with timer.stage("prepare"):
        lst = prepare_lst(data.raw, data.focal_length_m, timestamp_column, path)
        lst = lst.rename({timestamp_column: "timestamp"})
    with timer.stage("timestamps"):
        # prepare_lst has dropped the invalid timestamps (this module's policy)
        t_lst = seconds_to_ns(lst["timestamp"].to_numpy())
    return lst, t_lst
