"""The LST-1 events of a subrun for the coincidence, read in two passes with bounded memory.

The first pass reads the parameter table block by block and keeps, of the
events that pass the reference's cuts, what the offsets and the pairing need:
ids, int64 ns timestamp, intensity, ``time_diff`` and the row in the file
(48 bytes an event). The second pass (:meth:`LstEvents.rows`) reads all
parameters of the few events that are paired. A table smaller
than :data:`lmcoinc.io.lst.IN_MEMORY_BYTES` is kept from the first pass
instead of being read twice. The events are those of
:func:`lmcoinc.io.lst.prepare_lst` on the whole table (tested).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import InvalidFileError
from ..memory import release_free_memory
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
    invalid_timestamps,
    shower_mask,
    timestamp_policy,
    valid_dragon_time,
    warn_backwards,
)

__all__ = ["LstEvents", "load_lst"]

_KEYS = ("obs_id", "event_id", "tel_id")


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
        ``time_diff`` of each event (s; None without ``dragon_time``).
    raw : list of numpy.ndarray or None
        The whole raw table, as the blocks read by the first pass, when it is
        small enough to keep.
    """

    path: Path
    keys: pl.DataFrame
    t_ns: np.ndarray
    intensity: np.ndarray
    columns: list[str]
    focal_length_m: float
    timestamp_column: str
    file_rows: np.ndarray
    time_diff: np.ndarray | None = None
    raw: list[np.ndarray] | None = None

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
        if self.raw is not None:  # the blocks of the first pass, gathered without a copy
            starts = np.cumsum([0, *(len(block) for block in self.raw[:-1])])
            which = np.searchsorted(starts, file_rows, side="right") - 1
            out = np.empty(len(file_rows), dtype=self.raw[0].dtype)
            for index in np.unique(which):
                mask = which == index
                out[mask] = self.raw[index][file_rows[mask] - starts[index]]
            return out
        with open_hdf5(self.path) as handle:
            parts = []
            for start, block in _blocks(handle, None, stop=int(file_rows[-1]) + 1 if len(
                    file_rows) else 0):
                lo, hi = np.searchsorted(file_rows, [start, start + len(block)])
                parts.append(block[file_rows[lo:hi] - start])
            empty = read_table(handle, LST_PARAMETERS_KEY, rows=slice(0, 0))
        return np.concatenate([empty, *parts])


def _blocks(handle: Any, raw: np.ndarray | None, stop: int | None = None
            ) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, raw rows) of each block of the table (of ``raw`` when given)."""
    itemsize = raw.dtype.itemsize if raw is not None else handle[LST_PARAMETERS_KEY].dtype.itemsize
    n_rows = len(raw) if raw is not None else handle[LST_PARAMETERS_KEY].shape[0]
    step = max(1, BLOCK_BYTES // max(1, itemsize))
    for start in range(0, min(n_rows, stop if stop is not None else n_rows), step):
        if raw is not None:
            yield start, raw[start : start + step]
        else:
            yield start, read_table(handle, LST_PARAMETERS_KEY, rows=slice(start, start + step))


def _with_time_diff(frame: pl.DataFrame, carry: Any) -> tuple[pl.DataFrame, Any]:
    """A block with ``delta_t`` (consecutive valid ``dragon_time``, the previous block's last
    valid one carried in); the value to carry on."""
    if "dragon_time" not in frame.columns:
        return frame, None
    valid = frame.select(valid_dragon_time(frame)).to_series()
    filled = pl.concat([pl.Series([carry], dtype=valid.dtype), valid]).forward_fill()
    frame = frame.with_columns(filled.diff().slice(1).fill_null(0.0).alias("delta_t"))
    return frame, filled[-1]


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


def _scan_block(block: np.ndarray, start: int, timestamp_column: str, carry: Any
                ) -> tuple[dict[str, np.ndarray], Any]:
    """The rows of a block that pass the cuts: file row, ids, intensity, ``time_diff``, ns
    timestamp and whether it is valid; the dragon_time carried to the next block."""
    needed = list(dict.fromkeys([*_KEYS, "event_type", "intensity", "time_gradient", "alt_tel",
                                 "az_tel", timestamp_column, "dragon_time"]))
    frame, carry = _with_time_diff(to_polars(block, [c for c in needed if c in block.dtype.names]),
                                   carry)
    rows = np.flatnonzero(frame.select(shower_mask(frame)).to_series().to_numpy())
    times = frame[timestamp_column][rows]
    bad = times.to_frame().select(invalid_timestamps(pl.col(times.name), times.dtype))
    valid = ~bad.to_series().to_numpy()
    t_ns = np.zeros(len(rows), dtype=np.int64)
    t_ns[valid] = seconds_to_ns(times.to_numpy()[valid])
    found = {name: block[name][rows] for name in (*_KEYS, "intensity")}
    if "delta_t" in frame.columns:
        found["time_diff"] = frame["delta_t"].to_numpy()[rows]
    return {"row": rows + start, **found, "t_ns": t_ns, "valid": valid}, carry


def _scan(handle: Any, empty: np.ndarray, timestamp_column: str, keep_raw: bool
          ) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """First pass: the kept columns of the rows that pass the cuts (and the raw blocks if
    ``keep_raw``). The columns are filled in place, so that memory holds them once."""
    n_rows = handle[LST_PARAMETERS_KEY].shape[0]
    template, carry = _scan_block(empty, 0, timestamp_column, None)
    columns = {name: np.empty(n_rows, dtype=values.dtype) for name, values in template.items()}
    filled, raws = 0, []
    for start, block in _blocks(handle, None):
        found, carry = _scan_block(block, start, timestamp_column, carry)
        for name, values in found.items():
            columns[name][filled : filled + len(values)] = values
        filled += len(values)
        raws += [block] if keep_raw else []
    return {name: values[:filled] for name, values in columns.items()}, raws


def _prepared_order(columns: dict[str, np.ndarray], timestamp_column: str, path: Path
                    ) -> np.ndarray:
    """Rows of the prepared events in their order: repeated ids and invalid times dropped,
    sorted by (obs_id, event_id) (unique, hence also by tel_id)."""
    obs, event = columns["obs_id"], columns["event_id"]
    order = np.lexsort((event, obs))
    same = (obs[order][1:] == obs[order][:-1]) & (event[order][1:] == event[order][:-1])
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    order = order[~repeated]
    valid = columns["valid"][order]
    timestamp_policy(len(order), int(np.count_nonzero(~valid)), timestamp_column, path)
    return order[valid]


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
        empty = read_table(handle, LST_PARAMETERS_KEY, rows=slice(0, 0))
        keep_raw = node.shape[0] * node.dtype.itemsize <= IN_MEMORY_BYTES
        columns, raws = _scan(handle, empty, timestamp_column, keep_raw)
    release_free_memory()
    with timer.stage("prepare"):
        order = _prepared_order(columns, timestamp_column, path)
        events = {name: columns.pop(name)[order] for name in list(columns)}
        warn_backwards(events["t_ns"], timestamp_column, path)
    release_free_memory()
    prepared = arrange_lst(_with_time_diff(to_polars(empty), None)[0], focal, timestamp_column)
    return LstEvents(
        path=path,
        keys=pl.DataFrame({"obs_id_lst": events["obs_id"], "event_id_lst": events["event_id"],
                           "tel_id": events["tel_id"]}),
        t_ns=events["t_ns"],
        intensity=events["intensity"],
        columns=prepared.columns,
        focal_length_m=focal,
        timestamp_column=timestamp_column,
        file_rows=events["row"],
        time_diff=events.get("time_diff"),
        raw=raws if keep_raw and raws else None,
    )
