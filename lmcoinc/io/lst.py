"""LST-1 DL1 events (lstchain v0.9-v0.12 files): the reference's cuts and arrangement.

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

:func:`prepare_lst` states all this on a whole table in memory;
:mod:`lmcoinc.io.lst_events` computes the same from a file with bounded
memory.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import InvalidFileError

__all__ = [
    "EVENT_TYPE_SUBARRAY",
    "LST_IMAGES_KEY",
    "LST_INDEX",
    "LST_PARAMETERS_KEY",
    "NAN_CHECKED",
    "OPTICS_KEY",
    "REQUIRED_COLUMNS",
    "TIMESTAMP_COLUMNS",
    "arrange_lst",
    "arranged_columns",
    "arranged_name",
    "invalid_timestamps",
    "prepare_lst",
    "shower_mask",
    "timestamp_policy",
    "unique_events",
    "valid_dragon_time",
    "valid_timestamps",
    "warn_backwards",
]

log = logging.getLogger(__name__)

LST_PARAMETERS_KEY = "/dl1/event/telescope/parameters/LST_LSTCam"
LST_IMAGES_KEY = "/dl1/event/telescope/image/LST_LSTCam"
OPTICS_KEY = "/configuration/instrument/telescope/optics"
#: The LST-1 timestamp columns (float64 UNIX seconds) the coincidence can use.
TIMESTAMP_COLUMNS = ("dragon_time", "tib_time", "ucts_time")
#: Index columns of the prepared LST-1 events, first in every table.
LST_INDEX = ("obs_id_lst", "event_id_lst", "tel_id")

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
REQUIRED_COLUMNS = ("obs_id", "event_id", "tel_id", "event_type", "intensity", "time_gradient",
             "alt_tel", "az_tel", "length", "width", "phi", "psi")
#: Columns whose NaN values exclude an event.
NAN_CHECKED = ("intensity", "time_gradient", "alt_tel", "az_tel")


#: Raw rows kept in memory after the first pass when the table is smaller (bytes).
IN_MEMORY_BYTES = 128 * 2**20
#: Bytes of raw rows read at a time.
BLOCK_BYTES = 32 * 2**20


def invalid_timestamps(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where a timestamp (UNIX seconds) is null, NaN, infinite, zero or negative."""
    bad = column.is_null() | (column <= 0)
    if dtype.is_float():
        bad = bad | ~column.is_finite()
    return bad


def valid_dragon_time(df: pl.DataFrame) -> pl.Expr:
    """``dragon_time`` where it is a valid timestamp, else null."""
    dragon = pl.col("dragon_time")
    return pl.when(~invalid_timestamps(dragon, df.schema["dragon_time"])).then(dragon)


def shower_mask(df: pl.DataFrame) -> pl.Expr:
    """The reference's cuts on one row: shower events without NaN parameters."""
    keep = pl.col("event_type") == EVENT_TYPE_SUBARRAY
    for name in NAN_CHECKED:
        keep = keep & pl.col(name).is_not_null()
        if df.schema[name].is_float():
            keep = keep & pl.col(name).is_not_nan()
    return keep


def unique_events(df: pl.DataFrame) -> pl.DataFrame:
    """Drop every row whose (obs_id, event_id) occurs more than once."""
    return df.filter(pl.len().over("obs_id", "event_id") == 1)


def arranged_name(name: str, timestamp_column: str | None = None) -> str:
    """The name of a table's column after :func:`arrange_lst`."""
    return "timestamp" if name == timestamp_column else _RENAME.get(name, name)


def arranged_columns(names: tuple[str, ...], timestamp_column: str | None = None) -> list[str]:
    """The columns of :func:`arrange_lst` of a table with columns ``names``, in its order."""
    renamed = [arranged_name(c, timestamp_column) for c in names]
    return [c for c in LST_INDEX if c in renamed] + [c for c in renamed if c not in LST_INDEX]


def arrange_lst(
    df: pl.DataFrame, focal_length_m: float, timestamp_column: str | None = None
) -> pl.DataFrame:
    """Rename the columns, put the index first, convert units (rows kept in their order).

    length and width in m (``f * tan(radians(x))``), phi and psi in deg; with
    ``timestamp_column``, that column is renamed "timestamp". Any of those
    columns may be absent (some columns of the table).
    """
    df = df.rename({k: v for k, v in _RENAME.items() if k in df.columns})
    df = df.select(*(c for c in LST_INDEX if c in df.columns), pl.exclude(LST_INDEX))
    # Unit conversions with numpy, bit for bit as the reference computes them.
    f = np.float64(focal_length_m)
    df = df.with_columns(
        pl.Series(c, f * np.tan(np.deg2rad(df[c].to_numpy())))
        for c in ("length", "width") if c in df.columns
    ).with_columns(
        pl.Series(c, np.rad2deg(df[c].to_numpy())) for c in ("phi", "psi") if c in df.columns)
    return df.rename({timestamp_column: "timestamp"}) if timestamp_column in df.columns else df


def prepare_lst(
    raw: pl.DataFrame,
    focal_length_m: float,
    timestamp_column: str | None = None,
    path: str | Path = "LST-1 file",
) -> pl.DataFrame:
    """Select and arrange LST events as magic-cta-pipe's loader does (SPEC step 1), in memory.

    ``time_diff`` from consecutive ``dragon_time`` before any cut; shower
    events only; no NaN in intensity, time_gradient, alt_tel, az_tel; no
    repeated (obs_id, event_id); renamed columns; sorted by (obs_id_lst,
    event_id_lst, tel_id) with those first; length and width in m, phi and
    psi in deg. :mod:`lmcoinc.io.lst_events` computes the same with bounded memory.

    With ``timestamp_column``, the timestamp policy of this module is then
    applied (warnings and errors name ``path``); the column keeps its name.

    Raises
    ------
    InvalidFileError
        If no event is left with a valid timestamp.
    """
    df = raw
    if "dragon_time" in df.columns:
        df = df.with_columns(
            valid_dragon_time(df).forward_fill().diff().fill_null(0.0).alias("delta_t")
        )
    df = unique_events(df.filter(shower_mask(df)))
    if timestamp_column is not None:
        df = df.filter(valid_timestamps(df[timestamp_column], path))
    df = df.sort("obs_id", "event_id", "tel_id", maintain_order=True)
    if timestamp_column is not None:
        warn_backwards(df[timestamp_column].to_numpy(), timestamp_column, path)
    return arrange_lst(df, focal_length_m)


def valid_timestamps(timestamps: pl.Series, path: str | Path) -> pl.Series:
    """Where the timestamps of the shower events are valid; a warning for the others.

    Raises
    ------
    InvalidFileError
        If there is no shower event, or no valid timestamp.
    """
    column = timestamps.name
    bad = timestamps.to_frame().select(invalid_timestamps(pl.col(column), timestamps.dtype))
    bad = bad.to_series()
    timestamp_policy(len(timestamps), int(bad.sum()), column, path)
    return ~bad


def timestamp_policy(n_events: int, n_bad: int, column: str, path: str | Path) -> None:
    """The policy for ``n_bad`` invalid timestamps among ``n_events`` shower events.

    Raises
    ------
    InvalidFileError
        If there is no shower event, or no valid timestamp.
    """
    if n_events == 0:
        raise InvalidFileError(path, "no shower events (event_type 32) with valid parameters")
    if n_bad == n_events:
        raise InvalidFileError(
            path, f"all {n_bad} shower events have an invalid {column} "
            "(NaN, infinite, zero or negative)"
        )
    if n_bad:
        log.warning(
            "%s: %d of %d shower events have an invalid %s (NaN, infinite, zero or negative); "
            "dropped", path, n_bad, n_events, column,
        )


def warn_backwards(timestamps: np.ndarray, column: str, path: str | Path) -> None:
    """Warn if the timestamps (in event-id order; seconds or ns) go backwards."""
    backward = int(np.count_nonzero(np.diff(timestamps) < 0))
    if backward:
        log.warning(
            "%s: %s goes backwards at %d events (in event-id order); events kept (the pairing "
            "sorts by time)", path, column, backward,
        )
