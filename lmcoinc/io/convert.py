"""Convert an LST-1 or MAGIC DL1 HDF5 file to Parquet with exact int64 ns timestamps.

The kind of file is detected from its tables: LST-1 DL1 (lstchain) has
``/dl1/event/telescope/parameters/LST_LSTCam``, MAGIC DL1 (magic-cta-pipe)
has ``/events/parameters``. All columns of the parameter table are written
as they are, in file order, plus ``timestamp_ns`` (Int64):

* LST-1: the chosen float64 UNIX-seconds column (``dragon_time`` by default,
  or ``tib_time``, ``ucts_time``) converted exactly as the coincidence does
  (:func:`lmcoinc.io.timestamps.seconds_to_ns`, the shortest round-trip decimal);
  null where that column is NaN or infinite;
* MAGIC: ``time_sec * 10**9 + time_nanosec`` (:func:`lmcoinc.io.timestamps.magic_ns`).

The Parquet file is written under a temporary name and renamed into place,
with its provenance (:mod:`.provenance`) as key-value metadata.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import InvalidFileError, OutputError
from .atomic import atomic_file
from .hdf5 import has_node, open_hdf5, read_table, table_fields, to_polars
from .lst import LST_PARAMETERS_KEY, TIMESTAMP_COLUMNS
from .magic import MAGIC_PARAMETERS_KEY
from .provenance import KEY, file_entry, now_utc, provenance
from .timestamps import magic_ns, seconds_to_ns

__all__ = ["TIMESTAMP_COLUMN", "ConversionResult", "convert"]

#: Name of the added exact timestamp column.
TIMESTAMP_COLUMN = "timestamp_ns"


@dataclass(frozen=True)
class ConversionResult:
    """What :func:`convert` wrote.

    Attributes
    ----------
    kind : str
        "lst" or "magic".
    output : pathlib.Path
        The Parquet file.
    n_rows : int
        Number of rows.
    timestamp_source : str
        Column(s) the ``timestamp_ns`` column was computed from.
    """

    kind: str
    output: Path
    n_rows: int
    timestamp_source: str


def _lst_timestamps(frame: pl.DataFrame, column: str, path: Path) -> pl.Series:
    if column not in frame.columns:
        raise InvalidFileError(path, f"{LST_PARAMETERS_KEY} has no column {column}")
    seconds = frame[column].cast(pl.Float64).to_numpy()
    finite = np.isfinite(seconds)
    ns = np.zeros(len(seconds), dtype=np.int64)
    if finite.any():
        ns[finite] = seconds_to_ns(seconds[finite])
    out = pl.Series(TIMESTAMP_COLUMN, ns, dtype=pl.Int64)
    if not finite.all():
        out = pl.select(
            pl.when(pl.Series(finite)).then(out).otherwise(None).alias(TIMESTAMP_COLUMN)
        ).to_series()
    return out


def convert(
    input_file: str | Path,
    output_file: str | Path | None = None,
    *,
    timestamp: str | None = None,
) -> ConversionResult:
    """Write the parameter table of an LST-1 or MAGIC DL1 file to Parquet.

    Parameters
    ----------
    input_file : str or pathlib.Path
        LST-1 DL1 (lstchain) or MAGIC DL1 (magic-cta-pipe) HDF5 file.
    output_file : str or pathlib.Path, optional
        Parquet file to write (default: the input with suffix ``.parquet``).
    timestamp : str, optional
        LST-1 only: the timestamp column (``dragon_time`` — the default —,
        ``tib_time`` or ``ucts_time``).

    Returns
    -------
    ConversionResult

    Raises
    ------
    ValueError
        If ``timestamp`` is not an LST-1 timestamp column.
    InvalidFileError
        If the input is missing, not HDF5, corrupt, not a DL1 file of either
        kind, or ``timestamp`` is invalid for it.
    OutputError
        If the Parquet file cannot be written.
    """
    if timestamp is not None and timestamp not in TIMESTAMP_COLUMNS:
        raise ValueError(f"timestamp {timestamp!r}: expected one of {TIMESTAMP_COLUMNS}")
    started = now_utc()
    path = Path(input_file)
    output = Path(output_file) if output_file is not None else path.with_suffix(".parquet")
    with open_hdf5(path) as handle:
        if has_node(handle, LST_PARAMETERS_KEY):
            kind, key = "lst", LST_PARAMETERS_KEY
        elif has_node(handle, MAGIC_PARAMETERS_KEY):
            kind, key = "magic", MAGIC_PARAMETERS_KEY
        else:
            raise InvalidFileError(
                path, f"not an LST-1 or MAGIC DL1 file (neither {LST_PARAMETERS_KEY} "
                f"nor {MAGIC_PARAMETERS_KEY})"
            )
        if TIMESTAMP_COLUMN in table_fields(handle, key):
            raise InvalidFileError(path, f"{key} already has a column {TIMESTAMP_COLUMN}")
        array = read_table(handle, key)
    frame = to_polars(array)
    if kind == "lst":
        source = timestamp or "dragon_time"
        stamps = _lst_timestamps(frame, source, path)
    else:
        if timestamp is not None:
            raise InvalidFileError(
                path, "--timestamp applies to LST-1 files; MAGIC timestamps are "
                "time_sec and time_nanosec"
            )
        missing = [c for c in ("time_sec", "time_nanosec") if c not in frame.columns]
        if missing:
            raise InvalidFileError(path, f"{key} lacks column(s) {', '.join(missing)}")
        source = "time_sec, time_nanosec"
        stamps = pl.Series(
            TIMESTAMP_COLUMN,
            magic_ns(frame["time_sec"].to_numpy(), frame["time_nanosec"].to_numpy()),
            dtype=pl.Int64,
        )
    frame = frame.with_columns(stamps)
    document = provenance("convert", f"timestamp: {source}\n", [file_entry(path, kind)],
                          started)
    _write_atomic(frame, output, json.dumps(document))
    return ConversionResult(kind, output, frame.height, source)


def _write_atomic(frame: pl.DataFrame, output: Path, document: str) -> None:
    if output.is_dir():
        raise OutputError(f"{output}: is a directory, expected a Parquet file name")
    if not output.parent.is_dir():
        raise OutputError(f"{output.parent}: output directory not found")
    with atomic_file(output) as temp:
        import pyarrow.parquet as pq

        data = frame.to_arrow().replace_schema_metadata({KEY: document})
        pq.write_table(data, temp, compression="zstd")
