"""MAGIC DL1 reader (magic-cta-pipe ``magic_calib_to_dl1`` files).

Timestamp policy
----------------
MAGIC timestamps are integer ``time_sec`` and ``time_nanosec``. Per file:

* events with ``time_sec`` <= 0 or ``time_nanosec`` outside 0..999999999
  (or null) are dropped, with a warning giving their number and the file;
  a file in which every event is so is rejected (InvalidFileError). They
  are dropped after the reference's removal of repeated (obs_id, event_id,
  tel_id), so that the other rows are those of the reference; such events
  could never be coincident anyway.
* time going backwards with respect to the event id (per telescope): the
  events are kept, with a warning giving the number of backward steps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import InvalidFileError
from .hdf5 import has_node, open_hdf5, read_table, to_polars

__all__ = ["MAGIC_IMAGES_KEY", "MAGIC_PARAMETERS_KEY", "MagicData", "find_magic_files",
           "invalid_magic_times", "prepare_magic", "read_magic"]

log = logging.getLogger(__name__)

MAGIC_PARAMETERS_KEY = "/events/parameters"
MAGIC_IMAGES_KEY = "/events/dl1/image"
_REQUIRED = ("obs_id", "event_id", "tel_id", "time_sec", "time_nanosec", "intensity",
             "pointing_alt", "pointing_az")


@dataclass
class MagicData:
    """MAGIC events of all files of a directory, concatenated in name order.

    Attributes
    ----------
    files : list of Path
        Files holding a parameter table (those skipped are not listed).
    raw : polars.DataFrame
        Concatenated parameter tables.
    """

    files: list[Path]
    raw: pl.DataFrame
    skipped: list[Path] = field(default_factory=list)


def find_magic_files(directory: str | Path) -> list[Path]:
    """The ``dl1_*.h5`` files of a directory, in sorted name order."""
    directory = Path(directory)
    if not directory.exists():
        raise InvalidFileError(directory, "MAGIC directory not found")
    if not directory.is_dir():
        raise InvalidFileError(directory, "not a directory")
    files = sorted(directory.glob("dl1_*.h5"), key=lambda p: str(p))
    if not files:
        raise InvalidFileError(directory, "no MAGIC DL1 files (dl1_*.h5)")
    return files


def read_magic(directory: str | Path) -> MagicData:
    """Read the parameter tables of all MAGIC DL1 files of a directory.

    A file without ``/events/parameters`` is skipped with a warning, as the
    reference does; a corrupt or truncated file is an error naming it.
    """
    files = find_magic_files(directory)
    frames, used, skipped = [], [], []
    for path in files:
        with open_hdf5(path) as handle:
            if not has_node(handle, MAGIC_PARAMETERS_KEY):
                log.warning("File %s has no %s table, skipping", path, MAGIC_PARAMETERS_KEY)
                skipped.append(path)
                continue
            table = read_table(handle, MAGIC_PARAMETERS_KEY)
        frame = to_polars(table)
        missing = [c for c in _REQUIRED if c not in frame.columns]
        if missing:
            raise InvalidFileError(
                path, f"{MAGIC_PARAMETERS_KEY} lacks column(s) {', '.join(missing)}"
            )
        _check_timestamps(frame, path)
        if frames and frame.columns != frames[0].columns:
            raise InvalidFileError(path, f"columns differ from those of {used[0]}")
        frames.append(frame)
        used.append(path)
    raw = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
    return MagicData(used, raw, skipped)


def prepare_magic(raw: pl.DataFrame) -> pl.DataFrame:
    """Arrange MAGIC events as magic-cta-pipe's loader does (SPEC step 2).

    Rows with a repeated (obs_id, event_id, tel_id) are all dropped, then
    those with an invalid time (the module's timestamp policy); ids are
    renamed to ``*_magic``; rows sorted by (obs_id_magic, event_id_magic,
    tel_id) with those columns first.
    """
    df = raw.filter(pl.len().over("obs_id", "event_id", "tel_id") == 1)
    df = df.filter(~invalid_magic_times(df))  # read_magic warned about them
    df = df.rename({"obs_id": "obs_id_magic", "event_id": "event_id_magic"})
    index = ["obs_id_magic", "event_id_magic", "tel_id"]
    return df.sort(index, maintain_order=True).select(*index, pl.exclude(index))


def invalid_magic_times(frame: pl.DataFrame) -> pl.Series:
    """True where ``time_sec`` <= 0 or ``time_nanosec`` is outside 0..999999999 (or null)."""
    sec, nsec = pl.col("time_sec"), pl.col("time_nanosec")
    bad = sec.is_null() | nsec.is_null() | (sec <= 0) | (nsec < 0) | (nsec >= 1_000_000_000)
    for name in ("time_sec", "time_nanosec"):
        if frame.schema[name].is_float():
            bad = bad | ~pl.col(name).is_finite()
    return frame.select(bad.alias("bad")).to_series()


def _check_timestamps(frame: pl.DataFrame, path: Path) -> None:
    """Warn about invalid and backward times in one file; reject it if all are invalid."""
    bad = invalid_magic_times(frame)
    n_bad = int(bad.sum())
    if n_bad and n_bad == frame.height:
        raise InvalidFileError(
            path, f"all {n_bad} events have an invalid time (time_sec <= 0 or time_nanosec "
            "outside 0..999999999)"
        )
    if n_bad:
        log.warning(
            "%s: %d of %d events have an invalid time (time_sec <= 0 or time_nanosec outside "
            "0..999999999); dropped", path, n_bad, frame.height,
        )
    ns = pl.col("time_sec").cast(pl.Int64) * 1_000_000_000 + pl.col("time_nanosec").cast(pl.Int64)
    backward = (
        frame.filter(~bad)
        .sort("tel_id", "obs_id", "event_id")
        .select((ns.diff().over("tel_id") < 0).sum())
        .item()
    )
    if backward:
        log.warning(
            "%s: time goes backwards at %d events (in event-id order); kept", path, backward
        )
