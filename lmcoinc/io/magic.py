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

import functools
import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import InvalidFileError
from .hdf5 import has_node, open_hdf5, read_rows, read_table, to_polars
from .subarray import FileSubarray, file_subarray
from .table_types import checked_table, open_quickly, read_all_rows
from .timestamps import magic_ns

__all__ = [
    "MAGIC_IMAGES_KEY",
    "MAGIC_INDEX",
    "MAGIC_PARAMETERS_KEY",
    "REQUIRED_COLUMNS",
    "MagicFile",
    "MagicFiles",
    "MagicTable",
    "arrange_magic",
    "arrange_rows",
    "check_same_columns",
    "check_tel_ids",
    "find_magic_files",
    "invalid_magic_times",
    "invalid_times",
    "iter_magic_files",
    "prepare_magic",
    "read_magic_file",
    "read_magic_rows",
    "read_magic_table",
]

log = logging.getLogger(__name__)

MAGIC_PARAMETERS_KEY = "/events/parameters"
MAGIC_IMAGES_KEY = "/events/dl1/image"
#: Columns every MAGIC parameter table must have (also those the first pass reads).
REQUIRED_COLUMNS = ("obs_id", "event_id", "tel_id", "time_sec", "time_nanosec", "intensity",
                    "pointing_alt", "pointing_az")
#: Index columns of the prepared MAGIC events, first in every table.
MAGIC_INDEX = ("obs_id_magic", "event_id_magic", "tel_id")


@dataclass
class MagicFile:
    """One MAGIC DL1 file: its path and the parameter table (or some of its columns).

    Attributes
    ----------
    path : Path
        The file.
    frame : polars.DataFrame
        The parameter table, or the columns asked for (all rows, file order).
    schema : polars.Schema
        The columns of the whole table.
    names : tuple of str
        The names of the table's fields.
    subarray : FileSubarray
        Its subarray, as stored (and decoded, for the first file of a directory).
    """

    path: Path
    frame: pl.DataFrame
    schema: pl.Schema
    names: tuple[str, ...]
    subarray: FileSubarray


#: MAGIC DL1 files: a directory (its ``dl1_*.h5`` files) or the files themselves.
MagicFiles = str | Path | Sequence[str | Path]


def find_magic_files(directory: MagicFiles) -> list[Path]:
    """The ``dl1_*.h5`` files of a directory, in sorted name order (or the files given,
    which must exist, in sorted order)."""
    if not isinstance(directory, str | Path):
        files = sorted((Path(p) for p in directory), key=str)
        if not files:
            raise InvalidFileError(Path.cwd(), "no MAGIC DL1 files given")
        for path in files:
            if not path.is_file():
                raise InvalidFileError(path, "MAGIC file not found")
        return files
    directory = Path(directory)
    if not directory.exists():
        raise InvalidFileError(directory, "MAGIC directory not found")
    if not directory.is_dir():
        raise InvalidFileError(directory, "not a directory")
    files = sorted(directory.glob("dl1_*.h5"), key=lambda p: str(p))
    if not files:
        raise InvalidFileError(directory, "no MAGIC DL1 files (dl1_*.h5)")
    return files


def iter_magic_files(
    directory: MagicFiles, columns: Sequence[str] | None = None
) -> Iterator[MagicFile]:
    """The parameter tables of the MAGIC DL1 files of a directory, one file at a time.

    A file without ``/events/parameters`` is skipped with a warning, as the
    reference does; a corrupt or truncated file, missing columns or columns
    that differ from the first file's are an error naming it. Each file's
    times are checked (this module's timestamp policy).

    Parameters
    ----------
    columns : sequence of str, optional
        Read only those of these columns that the file has (it has the ids and
        ``time_sec``, ``time_nanosec``: :data:`REQUIRED_COLUMNS`).
    """
    first: tuple[Path, tuple[str, ...]] | None = None
    for path in find_magic_files(directory):
        found = read_magic_file(path, columns, first)
        if found is not None:
            first = first or (path, found.names)
            yield found


def read_magic_file(
    path: Path, columns: Sequence[str] | None = None,
    first: tuple[Path, tuple[str, ...]] | None = None, decode_subarray: bool | None = None,
) -> MagicFile | None:
    """The parameter table of one MAGIC DL1 file (None, with a warning, if it has none),
    and its subarray: :func:`read_magic_table`, as a DataFrame."""
    table = read_magic_table(path, columns, first, decode_subarray)
    if table is None:
        return None
    frame = to_polars(table.rows)
    schema = frame.schema if columns is None else table.schema
    return MagicFile(path, frame, schema, table.names, table.subarray)


@dataclass
class MagicTable:
    """One MAGIC DL1 file's parameter table as read (before it becomes a DataFrame).

    Attributes
    ----------
    path : Path
        The file.
    rows : numpy.ndarray
        The table, or the columns asked for, as a structured array (all rows, file order).
    row_type : numpy.dtype
        The type of the whole table's rows.
    subarray : FileSubarray
        Its subarray, as stored (and decoded, for the first file of a directory).
    """

    path: Path
    rows: np.ndarray
    row_type: np.dtype
    subarray: FileSubarray

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the table's fields."""
        return self.row_type.names

    @property
    def schema(self) -> pl.Schema:
        """The columns of the whole table, as :func:`.hdf5.to_polars` gives them."""
        return _schema(self.row_type)


@functools.lru_cache(maxsize=16)
def _schema(row_type: np.dtype) -> pl.Schema:
    """The columns of a table of that row type, as :func:`.hdf5.to_polars` gives them (the
    files of a night share it)."""
    return to_polars(np.empty(0, row_type)).schema


def read_magic_table(
    path: Path, columns: Sequence[str] | None = None,
    first: tuple[Path, tuple[str, ...]] | None = None, decode_subarray: bool | None = None,
) -> MagicTable | None:
    """The parameter table of one MAGIC DL1 file (None, with a warning, if it has none),
    and its subarray.

    Parameters
    ----------
    columns : sequence of str, optional
        As for :func:`iter_magic_files`.
    first : (path, column names), optional
        The first file's: its columns must be the same (checked before the table is read).
    decode_subarray : bool, optional
        Decode the subarray tables, not only read them as stored (default: for
        the first file, ``first`` None).

    Raises
    ------
    InvalidFileError
        If the file is corrupt or truncated, lacks a required column, has other
        columns than ``first``, or all its times are invalid; its times are
        checked as :func:`iter_magic_files` says.
    """
    with open_quickly(path) as handle:
        if not has_node(handle, MAGIC_PARAMETERS_KEY):
            log.warning("File %s has no %s table, skipping", path, MAGIC_PARAMETERS_KEY)
            return None
        node, kind = checked_table(handle, MAGIC_PARAMETERS_KEY)
        names = kind.dtype.names
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise InvalidFileError(
                path, f"{MAGIC_PARAMETERS_KEY} lacks column(s) {', '.join(missing)}"
            )
        check_same_columns(path, tuple(names), first)
        rows = read_all_rows(node, kind) if columns is None else read_rows(
            node, columns=[c for c in columns if c in names])
        decode = first is None if decode_subarray is None else decode_subarray
        subarray = file_subarray(handle, decode=decode)
    _check_timestamps(rows, path)
    return MagicTable(path, rows, kind.native, subarray)


def check_same_columns(path: Path, names: tuple[str, ...],
                       first: tuple[Path, tuple[str, ...]] | None) -> tuple[Path, tuple[str, ...]]:
    """The first file's (path, column names), ``(path, names)`` if there is none yet.

    Raises
    ------
    InvalidFileError
        If ``names`` differ from the first file's.
    """
    if first is not None and names != first[1]:
        raise InvalidFileError(path, f"columns differ from those of {first[0]}")
    return first or (path, names)


def check_tel_ids(found: Iterable[int], known: Collection[int], directory: str | Path) -> None:
    """Reject MAGIC events of telescopes that are not in use (the config's ``mc_tel_ids``).

    Raises
    ------
    InvalidFileError
        Naming the directory and the unknown ids.
    """
    unknown = sorted(set(found) - set(known))
    if unknown:
        raise InvalidFileError(directory, f"MAGIC tel_id {unknown} not in the config's "
                               "mc_tel_ids")


def read_magic_rows(
    path: Path, rows: np.ndarray | slice, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """All columns (or ``columns``) of some rows (increasing indices, or a slice) of a MAGIC
    file's table."""
    with open_hdf5(path) as handle:
        return to_polars(read_table(handle, MAGIC_PARAMETERS_KEY, rows=rows, columns=columns))


_RENAMED = {"obs_id": "obs_id_magic", "event_id": "event_id_magic"}


def arrange_magic(df: pl.DataFrame) -> pl.DataFrame:
    """Rename the ids to ``*_magic`` and put the index columns first (rows kept in order)."""
    columns = [df[c].alias(_RENAMED.get(c, c)) for c in df.columns]
    first = [c for c in columns if c.name in MAGIC_INDEX]
    first.sort(key=lambda c: MAGIC_INDEX.index(c.name))
    return pl.DataFrame(first + [c for c in columns if c.name not in MAGIC_INDEX])


def arrange_rows(rows: np.ndarray, take: np.ndarray | None = None,
                 columns: Sequence[str] | None = None) -> pl.DataFrame:
    """``arrange_magic(to_polars(rows[take], columns))`` without the intermediate frame: some
    rows (all if ``take`` is None) of a table read as a structured array, arranged."""
    names = [(c, _RENAMED.get(c, c)) for c in (columns or rows.dtype.names)]
    first = sorted((n for n in names if n[1] in MAGIC_INDEX), key=lambda n: MAGIC_INDEX.index(n[1]))
    order = first + [n for n in names if n[1] not in MAGIC_INDEX]
    frame = _to_polars(rows if take is None else rows[take], [c for c, _ in order])
    frame.columns = [name for _, name in order]
    return frame


def _to_polars(rows: np.ndarray, columns: list[str]) -> pl.DataFrame:
    """:func:`.hdf5.to_polars`; by ``polars.from_numpy`` (one call) when every column is a
    number or a boolean, which it converts alike."""
    if all(rows.dtype[c].kind in "biuf" and not rows.dtype[c].shape for c in columns):
        return pl.from_numpy(rows[columns])
    return to_polars(rows, columns)


def prepare_magic(raw: pl.DataFrame) -> pl.DataFrame:
    """Arrange MAGIC events as magic-cta-pipe's loader does (SPEC step 2).

    Rows with a repeated (obs_id, event_id, tel_id) are all dropped, then
    those with an invalid time (the module's timestamp policy); ids are
    renamed to ``*_magic``; rows sorted by (obs_id_magic, event_id_magic,
    tel_id) with those columns first.
    """
    df = raw.filter(pl.len().over("obs_id", "event_id", "tel_id") == 1)
    df = df.filter(~invalid_magic_times(df))  # iter_magic_files warned about them
    return arrange_magic(df.sort("obs_id", "event_id", "tel_id", maintain_order=True))


def invalid_magic_times(frame: pl.DataFrame) -> pl.Series:
    """True where ``time_sec`` <= 0 or ``time_nanosec`` is outside 0..999999999 (or null)."""
    if not frame["time_sec"].null_count() and not frame["time_nanosec"].null_count():
        return pl.Series("bad", invalid_times(frame["time_sec"].to_numpy(),
                                              frame["time_nanosec"].to_numpy()))
    sec, nsec = pl.col("time_sec"), pl.col("time_nanosec")
    bad = sec.is_null() | nsec.is_null() | (sec <= 0) | (nsec < 0) | (nsec >= 1_000_000_000)
    for name in ("time_sec", "time_nanosec"):
        if frame.schema[name].is_float():
            bad = bad | ~pl.col(name).is_finite()
    return frame.select(bad.alias("bad")).to_series()


def invalid_times(sec: np.ndarray, nsec: np.ndarray) -> np.ndarray:
    """:func:`invalid_magic_times` of numpy columns (without nulls)."""
    with np.errstate(invalid="ignore"):  # NaN compares false: invalid
        good = (sec > 0) & (nsec >= 0) & (nsec < 1_000_000_000)
        for values in (sec, nsec):
            if values.dtype.kind == "f":
                good &= np.isfinite(values)
    return ~good


def _check_timestamps(rows: np.ndarray, path: Path) -> None:
    """Warn about invalid and backward times in one file (a structured array); reject it if
    all are invalid."""
    bad = invalid_times(rows["time_sec"], rows["time_nanosec"])
    n_bad = int(bad.sum())
    if n_bad and n_bad == len(rows):
        raise InvalidFileError(
            path, f"all {n_bad} events have an invalid time (time_sec <= 0 or time_nanosec "
            "outside 0..999999999)"
        )
    if n_bad:
        log.warning(
            "%s: %d of %d events have an invalid time (time_sec <= 0 or time_nanosec outside "
            "0..999999999); dropped", path, n_bad, len(rows),
        )
    good = ~bad
    tel, obs, event = (rows[c][good] for c in ("tel_id", "obs_id", "event_id"))
    order = np.lexsort((event, obs, tel))  # by telescope, then event id
    ns = magic_ns(rows["time_sec"][good], rows["time_nanosec"][good])
    ns, tel = ns[order], tel[order]
    backward = int(np.count_nonzero((np.diff(ns) < 0) & (tel[1:] == tel[:-1])))
    if backward:
        log.warning(
            "%s: time goes backwards at %d events (in event-id order); kept", path, backward
        )
