"""The LST-1 events of a subrun for the coincidence, read in two passes with bounded memory.

The first pass reads the parameter table block by block and keeps, of the
events that pass the reference's cuts, what the offsets and the pairing need
(ids, timestamp, intensity, ``time_diff`` and the row in the file). The
second pass (:meth:`LstEvents.rows`) reads all parameters of the few events
that are paired. A table smaller than :data:`lmcoinc.io.lst.IN_MEMORY_BYTES`
is kept from the first pass instead of being read twice. The events are those
of :func:`lmcoinc.io.lst.prepare_lst` on the whole table (tested).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import InvalidFileError
from ..timestamps import seconds_to_ns
from ..timing import StageTimer
from .hdf5 import open_hdf5, read_table, table_fields, to_polars
from .lst import (
    BLOCK_BYTES,
    IN_MEMORY_BYTES,
    LST_PARAMETERS_KEY,
    OPTICS_KEY,
    REQUIRED_COLUMNS,
    arrange_lst,
    shower_mask,
    valid_dragon_time,
    valid_timestamps,
    warn_backwards,
)

__all__ = ["LstEvents", "load_lst"]

_ROW = "_lmcoinc_row"


@dataclass
class LstEvents:
    """The prepared LST-1 events of a file: what the coincidence needs, and the rest on demand.

    Events are in the prepared order of :func:`lmcoinc.io.lst.prepare_lst`
    (sorted by obs_id, event_id, tel_id).

    Attributes
    ----------
    path : pathlib.Path
        The file.
    keys : polars.DataFrame
        ``obs_id_lst``, ``event_id_lst``, ``tel_id`` of each event.
    t_ns : numpy.ndarray
        Timestamps (int64 ns) of the configured timestamp column.
    intensity : numpy.ndarray
        Image intensities.
    columns : list of str
        The prepared columns (the timestamp column renamed "timestamp").
    focal_length_m : float
        Equivalent focal length of the optics (for length and width).
    timestamp_column : str
        The configured timestamp column.
    file_rows : numpy.ndarray
        Row of each event in the file's table.
    time_diff : numpy.ndarray or None
        ``time_diff`` of each event (None without ``dragon_time``).
    raw : numpy.ndarray or None
        The whole raw table when it is small enough to keep.
    """

    path: Path
    keys: pl.DataFrame
    t_ns: np.ndarray
    intensity: np.ndarray
    columns: list[str]
    focal_length_m: float
    timestamp_column: str
    file_rows: np.ndarray
    time_diff: np.ndarray | None
    raw: np.ndarray | None = None

    @property
    def height(self) -> int:
        """Number of events."""
        return len(self.t_ns)

    def rows(self, positions: np.ndarray, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The prepared columns (all, or ``columns`` in that order) of the events at ``positions``.

        Parameters
        ----------
        positions : numpy.ndarray
            Positions of events (any order, repeats allowed).
        columns : sequence of str, optional
            Only these prepared columns.
        """
        positions = np.asarray(positions, dtype=np.int64)
        unique, inverse = np.unique(self.file_rows[positions], return_inverse=True)
        frame = to_polars(self._read_rows(unique))
        if self.time_diff is not None:
            by_row = np.empty(len(unique), dtype=self.time_diff.dtype)
            by_row[inverse] = self.time_diff[positions]
            frame = frame.with_columns(pl.Series("delta_t", by_row))
        frame = arrange_lst(frame[inverse], self.focal_length_m, self.timestamp_column)
        return frame.select(columns) if columns is not None else frame

    def _read_rows(self, file_rows: np.ndarray) -> np.ndarray:
        """The raw rows at increasing ``file_rows``."""
        if self.raw is not None:
            return self.raw[file_rows]
        with open_hdf5(self.path) as handle:
            n_rows = handle[LST_PARAMETERS_KEY].shape[0]
            parts = [block[file_rows[lo:hi] - start]
                     for start, block, lo, hi in _blocks(handle, n_rows, file_rows)]
        return np.concatenate(parts)


def _block_rows(handle: Any) -> int:
    return max(1, BLOCK_BYTES // max(1, handle[LST_PARAMETERS_KEY].dtype.itemsize))


def _blocks(
    handle: Any, n_rows: int, wanted: np.ndarray | None = None
) -> Iterator[tuple[int, np.ndarray, int, int]]:
    """(first row, raw rows, lo, hi) of each block holding ``wanted[lo:hi]`` (all: every block)."""
    step = _block_rows(handle)
    for start in range(0, n_rows, step):
        lo, hi = (0, 0) if wanted is None else np.searchsorted(wanted, [start, start + step])
        if wanted is None or hi > lo:
            block = read_table(handle, LST_PARAMETERS_KEY, rows=slice(start, start + step))
            yield start, block, int(lo), int(hi)


def _check_table(path: Path, handle: Any, timestamp_column: str) -> float:
    """Check the columns of an LST-1 file; its equivalent focal length."""
    names = table_fields(handle, LST_PARAMETERS_KEY, what="not an LST-1 DL1 file?")
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if timestamp_column not in names:
        missing.append(f"{timestamp_column} (the timestamp_type_lst of the config)")
    if missing:
        raise InvalidFileError(path, f"{LST_PARAMETERS_KEY} lacks column(s) {', '.join(missing)}")
    kind = handle[LST_PARAMETERS_KEY].dtype[timestamp_column]
    if kind.kind not in "iuf" or kind.shape:
        raise InvalidFileError(path, f"column {timestamp_column} is {kind}, not a number")
    optics = read_table(handle, OPTICS_KEY, what="no optics description")
    if "equivalent_focal_length" not in (optics.dtype.names or ()) or len(optics) == 0:
        raise InvalidFileError(path, f"{OPTICS_KEY} has no equivalent_focal_length")
    return float(optics["equivalent_focal_length"][0])


def _select(frame: pl.DataFrame, start: int, carry: Any, kept: list[str]) -> tuple:
    """The cut rows of a block with their ``delta_t`` and file row; the carried dragon_time."""
    if "dragon_time" in frame.columns:
        valid = frame.select(valid_dragon_time(frame)).to_series()
        filled = pl.concat([pl.Series([carry], dtype=valid.dtype), valid]).forward_fill()
        carry = filled[-1]
        frame = frame.with_columns(filled.diff().slice(1).fill_null(0.0).alias("delta_t"))
    frame = frame.with_columns(pl.int_range(start, start + frame.height, dtype=pl.Int64)
                               .alias(_ROW))
    return frame.filter(shower_mask(frame)).select(kept), carry


def _scan(
    handle: Any, timestamp_column: str, kept: list[str], keep_raw: bool
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """First pass: the kept columns of the rows that pass the cuts, as numpy arrays, and
    (if ``keep_raw``) the whole raw table."""
    node = handle[LST_PARAMETERS_KEY]
    needed = list(dict.fromkeys(
        ["obs_id", "event_id", "tel_id", "event_type", "intensity", "time_gradient", "alt_tel",
         "az_tel", timestamp_column] + (["dragon_time"] if "delta_t" in kept else [])
    ))
    parts: dict[str, list] = {name: [] for name in kept}
    carry, raws = None, []
    empty = read_table(handle, LST_PARAMETERS_KEY, rows=slice(0, 0))
    for start, block, _, _ in chain([(0, empty, 0, 0)], _blocks(handle, node.shape[0])):
        part, carry = _select(to_polars(block, needed), start, carry, kept)
        for name in kept:
            parts[name].append(part[name].to_numpy())
        raws += [block] if keep_raw else []
    raw = np.concatenate(raws) if keep_raw else None
    return {name: np.concatenate(parts.pop(name)) for name in kept}, raw


def _prepared_order(columns: dict[str, np.ndarray], timestamp_column: str, path: Path):
    """Rows of the prepared events in their order: repeated ids and invalid times dropped,
    sorted by (obs_id, event_id, tel_id)."""
    obs, event = columns["obs_id"], columns["event_id"]
    unique = pl.DataFrame({"o": obs, "e": event}).select(pl.len().over("o", "e") == 1)
    rows = np.flatnonzero(unique.to_series().to_numpy())
    timestamps = pl.Series(timestamp_column, columns[timestamp_column][rows])
    rows = rows[valid_timestamps(timestamps, path).to_numpy()]
    return rows[np.lexsort((columns["tel_id"][rows], event[rows], obs[rows]))]


def load_lst(
    path: str | Path, timestamp_column: str, timer: StageTimer | None = None
) -> LstEvents:
    """Read the events of an LST-1 file that the coincidence uses (first pass).

    Raises
    ------
    InvalidFileError
        If the file is missing, not HDF5, corrupt, not an LST-1 DL1 file, or
        no event is left with a valid timestamp.
    """
    path, timer = Path(path), timer or StageTimer()
    with timer.stage("read"), open_hdf5(path) as handle:
        focal = _check_table(path, handle, timestamp_column)
        node = handle[LST_PARAMETERS_KEY]
        empty = to_polars(read_table(handle, LST_PARAMETERS_KEY, rows=slice(0, 0)))
        has_dragon = "dragon_time" in empty.columns
        kept = [_ROW, "obs_id", "event_id", "tel_id", "intensity", timestamp_column]
        kept = list(dict.fromkeys(kept + (["delta_t"] if has_dragon else [])))
        keep_raw = node.shape[0] * node.dtype.itemsize <= IN_MEMORY_BYTES
        columns, raw = _scan(handle, timestamp_column, kept, keep_raw)
    with timer.stage("prepare"):
        order = _prepared_order(columns, timestamp_column, path)
        events = {name: columns.pop(name)[order] for name in kept}
        warn_backwards(events[timestamp_column], timestamp_column, path)
    with timer.stage("timestamps"):
        t_ns = seconds_to_ns(events.pop(timestamp_column))
    if has_dragon:
        empty = empty.with_columns(pl.lit(0.0).alias("delta_t"))
    return LstEvents(
        path=path,
        keys=pl.DataFrame({"obs_id_lst": events.pop("obs_id"),
                           "event_id_lst": events.pop("event_id"),
                           "tel_id": events.pop("tel_id")}),
        t_ns=t_ns,
        intensity=events.pop("intensity"),
        columns=arrange_lst(empty, focal, timestamp_column).columns,
        focal_length_m=focal,
        timestamp_column=timestamp_column,
        file_rows=events.pop(_ROW),
        time_diff=events.pop("delta_t") if has_dragon else None,
        raw=raw,
    )
