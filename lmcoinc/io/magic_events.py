"""The prepared MAGIC events of a coincidence: what it needs at once, the rest on demand.

The events are those of :func:`lmcoinc.io.magic.prepare_magic` on the
concatenated tables (tested). :func:`scan_magic` reads only the columns
the offsets, the pairing and the feature table need from each file; all
columns of some events are read again from their files when asked for
(:meth:`MagicEvents.rows`). :meth:`MagicEvents.from_frame` wraps events
already in memory (the batch's cache).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..utils.memory import release_free_memory
from .magic import (
    REQUIRED_COLUMNS,
    MagicFiles,
    arrange_magic,
    iter_magic_files,
    prepare_magic,
    read_magic_rows,
)
from .subarray import FileSubarray
from .timestamps import magic_ns

__all__ = ["MagicEvents", "scan_magic"]

_FILE = "_lmcoinc_file"
_ROW = "_lmcoinc_row"


@dataclass
class MagicEvents:
    """Prepared MAGIC events, sorted by (obs_id, event_id, tel_id).

    Attributes
    ----------
    keys : polars.DataFrame
        ``obs_id_magic``, ``event_id_magic``, ``tel_id``.
    t_ns : numpy.ndarray
        Timestamps (int64 ns).
    intensity, pointing_alt, pointing_az : numpy.ndarray
        Those columns.
    columns : list of str
        All prepared columns, as :meth:`rows` gives them.
    files : list of pathlib.Path
        The files the events come from.
    time_diff : numpy.ndarray or None
        MAGIC's ``time_diff`` (s), if the files have it.
    total_rows : int
        Rows of the files before the cuts.
    subarrays : list of FileSubarray
        The subarray of each file, as read with its table (none: read when needed).
    frame : polars.DataFrame or None
        The prepared columns of the events, when in memory (else read from ``files``).
    frame_rows : numpy.ndarray or None
        The row of ``frame`` of each event (None: the same order).
    """

    keys: pl.DataFrame
    t_ns: np.ndarray
    intensity: np.ndarray
    pointing_alt: np.ndarray
    pointing_az: np.ndarray
    columns: list[str]
    files: list[Path]
    time_diff: np.ndarray | None = None
    total_rows: int = 0
    frame: pl.DataFrame | None = None
    file_index: np.ndarray | None = None
    file_rows: np.ndarray | None = None
    schema: pl.Schema | None = None
    subarrays: list[FileSubarray] | None = None
    frame_rows: np.ndarray | None = None

    @property
    def height(self) -> int:
        """Number of events."""
        return len(self.t_ns)

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, files: Sequence[Path],
                   rows: np.ndarray | None = None) -> MagicEvents:
        """Events already prepared in memory (all columns): the rows of ``frame`` in the
        order of ``rows`` (None: in its order), only the columns the coincidence uses
        gathered in that order; the others are gathered for the rows asked for."""
        def column(name: str) -> np.ndarray:
            values = frame[name].to_numpy()
            return values if rows is None else values[rows]

        keys = frame.select("obs_id_magic", "event_id_magic", "tel_id")
        return cls(
            keys=keys if rows is None else keys[rows],
            t_ns=magic_ns(column("time_sec"), column("time_nanosec")),
            intensity=column("intensity"),
            pointing_alt=column("pointing_alt"),
            pointing_az=column("pointing_az"),
            columns=frame.columns,
            files=list(files),
            time_diff=column("time_diff") if "time_diff" in frame.columns else None,
            total_rows=frame.height,
            frame=frame,
            frame_rows=rows,
        )

    def rows(self, positions: np.ndarray, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The prepared columns (all, or ``columns`` in that order) of the events at
        ``positions`` (any order, repeats allowed)."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.frame is not None:  # only the rows and columns asked for gathered
            at = positions if self.frame_rows is None else self.frame_rows[positions]
            return (self.frame if columns is None else self.frame.select(columns))[at]
        frame = self._read(positions)
        return frame.select(columns) if columns is not None else frame

    def _read(self, positions: np.ndarray) -> pl.DataFrame:
        parts = []
        for index in np.unique(self.file_index[positions]).tolist():
            at = np.flatnonzero(self.file_index[positions] == index)
            rows = self.file_rows[positions[at]]
            unique, inverse = np.unique(rows, return_inverse=True)
            part = read_magic_rows(self.files[index], unique)[inverse]
            parts.append(part.cast(self.schema).with_columns(pl.Series(_ROW, at)))
        if not parts:
            return arrange_magic(pl.DataFrame(schema=self.schema))
        return arrange_magic(pl.concat(parts).sort(_ROW).drop(_ROW))


def scan_magic(directory: MagicFiles) -> MagicEvents:
    """Read what the coincidence needs of the MAGIC files of a directory, or of some
    files (first pass).

    Raises
    ------
    InvalidFileError
        As :func:`lmcoinc.io.magic.iter_magic_files`.
    """
    frames, files, schemas, subarrays = [], [], [], []
    wanted = (*REQUIRED_COLUMNS, "time_diff")
    for index, found in enumerate(iter_magic_files(directory, columns=wanted)):
        files.append(found.path)
        schemas.append(found.schema)
        subarrays.append(found.subarray)
        frames.append(found.frame.with_columns(
            pl.lit(index, dtype=pl.Int32).alias(_FILE),
            pl.int_range(found.frame.height, dtype=pl.Int64).alias(_ROW),
        ))
    if not frames:  # no file with a parameter table: no event
        schemas = [{c: pl.Int64 for c in REQUIRED_COLUMNS}]
        frames = [pl.DataFrame(schema={**schemas[0], _FILE: pl.Int32, _ROW: pl.Int64})]
    schema = pl.concat([pl.DataFrame(schema=s) for s in schemas], how="vertical_relaxed").schema
    raw = pl.concat(frames, how="vertical_relaxed")
    prepared = prepare_magic(raw)
    events = MagicEvents.from_frame(prepared, files)
    events.total_rows = raw.height
    events.frame = None
    events.columns = arrange_magic(pl.DataFrame(schema=schema)).columns
    events.file_index, events.file_rows = prepared[_FILE].to_numpy(), prepared[_ROW].to_numpy()
    events.schema = schema
    events.subarrays = subarrays
    release_free_memory()
    return events
