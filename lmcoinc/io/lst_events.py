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
from ..utils.memory import release_free_memory
from ..utils.timer import StageTimer
from .hdf5 import open_hdf5, read_rows, read_table, table, to_polars
from .lst import (
    BLOCK_BYTES,
    EVENT_TYPE_SUBARRAY,
    IN_MEMORY_BYTES,
    LST_PARAMETERS_KEY,
    NAN_CHECKED,
    OPTICS_KEY,
    REQUIRED_COLUMNS,
    arrange_lst,
    arranged_columns,
    arranged_name,
    timestamp_policy,
    valid_dragon_time,
    warn_backwards,
)
from .subarray import RawSubarray
from .subarray_reuse import reused_lst_subarray
from .timestamps import seconds_to_ns

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
    subarray : RawSubarray or None
        The file's subarray (:func:`lmcoinc.io.subarray.lst_subarray`), read with the table.
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
    subarray: RawSubarray | None = None

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
        raw = self._read_rows(unique)
        names = raw.dtype.names
        if columns is not None:  # only the raw columns that become those asked for
            wanted = set(columns)
            names = [n for n in names if arranged_name(n, self.timestamp_column) in wanted]
        frame = to_polars(raw, names)
        if self.time_diff is not None and (columns is None or "time_diff" in columns):
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
            node = table(handle, LST_PARAMETERS_KEY)
            parts = []
            for start, block in _blocks(node, stop=int(file_rows[-1]) + 1 if len(
                    file_rows) else 0):
                lo, hi = np.searchsorted(file_rows, [start, start + len(block)])
                parts.append(block[file_rows[lo:hi] - start])
            empty = read_rows(node, rows=slice(0, 0))
        return np.concatenate([empty, *parts])


def _blocks(node: Any, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, raw rows) of each block of the table (up to row ``stop``)."""
    itemsize = node.id.get_type().get_size()  # the numpy type of a wide table is slow to make
    n_rows = node.shape[0]
    step = max(1, BLOCK_BYTES // max(1, itemsize))
    for start in range(0, min(n_rows, stop if stop is not None else n_rows), step):
        yield start, read_rows(node, rows=slice(start, start + step))


def _with_time_diff(frame: pl.DataFrame, carry: Any) -> tuple[pl.DataFrame, Any]:
    """A block with ``delta_t`` (consecutive valid ``dragon_time``, the previous block's last
    valid one carried in); the value to carry on."""
    if "dragon_time" not in frame.columns:
        return frame, None
    valid = frame.select(valid_dragon_time(frame)).to_series()
    filled = pl.concat([pl.Series([carry], dtype=valid.dtype), valid]).forward_fill()
    frame = frame.with_columns(filled.diff().slice(1).fill_null(0.0).alias("delta_t"))
    return frame, filled[-1]


def _time_diff(dragon: np.ndarray, carry: Any) -> tuple[np.ndarray, Any]:
    """:func:`_with_time_diff` of a floating-point ``dragon_time`` column, with numpy: the
    same differences, bit for bit (one subtraction each)."""
    n = len(dragon)
    valid = np.isfinite(dragon) & (dragon > 0)
    if n and valid.all():  # the usual block: consecutive differences
        delta = np.empty(n, dtype=dragon.dtype)
        delta[0] = 0.0 if carry is None else dragon[0] - carry
        np.subtract(dragon[1:], dragon[:-1], out=delta[1:])
        return delta, dragon[-1]
    last = np.where(valid, np.arange(1, n + 1), 0)
    np.maximum.accumulate(last, out=last)  # 1 + the last valid row so far, 0: none
    filled = np.empty(n + 1, dtype=dragon.dtype)
    filled[0] = np.nan if carry is None else carry
    filled[1:] = np.where(last > 0, dragon[np.maximum(last - 1, 0)], filled[0])
    delta = np.diff(filled)
    delta[np.isnan(delta)] = 0.0
    carry = filled[-1]
    return delta, None if np.isnan(carry) else carry


def _check_table(path: Path, handle: Any, timestamp_column: str) -> tuple[Any, float]:
    """Check the columns of an LST-1 file; its parameter table (:func:`~.hdf5.table`) and its
    equivalent focal length."""
    node = table(handle, LST_PARAMETERS_KEY, what="not an LST-1 DL1 file?")
    dtype = node.dtype
    names = dtype.names
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if timestamp_column not in names:
        missing.append(f"{timestamp_column} (the timestamp_type_lst of the config)")
    if missing:
        raise InvalidFileError(path, f"{LST_PARAMETERS_KEY} lacks column(s) {', '.join(missing)}")
    kind = dtype[timestamp_column]
    if kind.kind not in "iuf" or kind.shape:
        raise InvalidFileError(path, f"column {timestamp_column} is {kind}, not a number")
    optics = read_table(handle, OPTICS_KEY, what="no optics description")
    if "equivalent_focal_length" not in (optics.dtype.names or ()) or len(optics) == 0:
        raise InvalidFileError(path, f"{OPTICS_KEY} has no equivalent_focal_length")
    return node, float(optics["equivalent_focal_length"][0])


def _scan_block(block: np.ndarray, start: int, timestamp_column: str, carry: Any
                ) -> tuple[dict[str, np.ndarray], Any]:
    """The rows of a block that pass the cuts: file row, ids, intensity, ``time_diff``, ns
    timestamp and whether it is valid; the dragon_time carried to the next block.

    A column used more than once is copied out of the wide rows first (one strided pass)."""
    names, dtype = block.dtype.names, block.dtype
    delta, dragon = None, None
    if "dragon_time" in names and dtype["dragon_time"].kind == "f":
        dragon = np.ascontiguousarray(block["dragon_time"])
        delta, carry = _time_diff(dragon, carry)
    elif "dragon_time" in names:  # not floating point: as polars computes it
        frame, carry = _with_time_diff(to_polars(block, ["dragon_time"]), carry)
        delta = frame["delta_t"].to_numpy()
    intensity = np.ascontiguousarray(block["intensity"])
    keep = block["event_type"] == EVENT_TYPE_SUBARRAY
    for name in NAN_CHECKED:
        if dtype[name].kind == "f":
            keep &= ~np.isnan(intensity if name == "intensity" else block[name])
    rows = np.flatnonzero(keep)
    times = (dragon if timestamp_column == "dragon_time" and dragon is not None
             else block[timestamp_column])[rows]
    valid = times > 0
    if times.dtype.kind == "f":
        valid &= np.isfinite(times)
    if valid.all():
        t_ns = seconds_to_ns(times)
    else:
        t_ns = np.zeros(len(rows), dtype=np.int64)
        t_ns[valid] = seconds_to_ns(times[valid])
    found = {name: block[name][rows] for name in _KEYS}
    found["intensity"] = intensity[rows]
    if delta is not None:
        found["time_diff"] = delta[rows]
    return {"row": rows + start, **found, "t_ns": t_ns, "valid": valid}, carry


def _scan(node: Any, timestamp_column: str, keep_raw: bool
          ) -> tuple[dict[str, np.ndarray], list[np.ndarray], np.dtype]:
    """First pass: the kept columns of the rows that pass the cuts (and the raw blocks if
    ``keep_raw``), and the type of the raw rows. The columns of several blocks are filled
    in place, so that memory holds them once."""
    n_rows = node.shape[0]
    columns: dict[str, np.ndarray] = {}
    filled, raws, carry, dtype = 0, [], None, None
    for start, block in _blocks(node):
        found, carry = _scan_block(block, start, timestamp_column, carry)
        raws += [block] if keep_raw else []
        if dtype is None and len(block) == n_rows:  # one block: its columns as they are
            return found, raws, block.dtype
        if dtype is None:
            dtype = block.dtype
            columns = {name: np.empty(n_rows, dtype=v.dtype) for name, v in found.items()}
        for name, values in found.items():
            columns[name][filled : filled + len(values)] = values
        filled += len(values)
    if dtype is None:  # no row
        empty = read_rows(node, rows=slice(0, 0))
        columns, dtype = _scan_block(empty, 0, timestamp_column, None)[0], empty.dtype
    return {name: values[:filled] for name, values in columns.items()}, raws, dtype


def _prepared_order(columns: dict[str, np.ndarray], timestamp_column: str, path: Path
                    ) -> np.ndarray | None:
    """Rows of the prepared events in their order: repeated ids and invalid times dropped,
    sorted by (obs_id, event_id) (unique, hence also by tel_id). None: all rows, in order."""
    obs, event = columns["obs_id"], columns["event_id"]
    ordered = np.all((obs[1:] > obs[:-1]) | ((obs[1:] == obs[:-1]) & (event[1:] >= event[:-1])))
    order = None if ordered else np.lexsort((event, obs))  # (a stable sort)
    if order is not None:
        obs, event = obs[order], event[order]
    same = (obs[1:] == obs[:-1]) & (event[1:] == event[:-1])
    repeated = np.zeros(len(obs), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    n_unique = len(obs) - int(np.count_nonzero(repeated))
    kept = ~repeated & (columns["valid"] if order is None else columns["valid"][order])
    timestamp_policy(n_unique, n_unique - int(np.count_nonzero(kept)), timestamp_column, path)
    if order is None and kept.all():
        return None
    return np.flatnonzero(kept) if order is None else order[kept]


def load_lst(
    path: str | Path, timestamp_column: str, timer: StageTimer | None = None
) -> LstEvents:
    """Read the events of an LST-1 file that the coincidence uses (first pass), and its
    subarray.

    Raises
    ------
    InvalidFileError
        If the file is missing, not HDF5, corrupt, not an LST-1 DL1 file, or
        no event is left with a valid timestamp.
    """
    path, timer = Path(path), timer or StageTimer()
    with timer.stage("read"), open_hdf5(path) as handle:
        node, focal = _check_table(path, handle, timestamp_column)
        keep_raw = node.shape[0] * node.id.get_type().get_size() <= IN_MEMORY_BYTES
        columns, raws, dtype = _scan(node, timestamp_column, keep_raw)
        subarray = reused_lst_subarray(handle)
    release_free_memory()
    with timer.stage("prepare"):
        order = _prepared_order(columns, timestamp_column, path)
        events = columns if order is None else {
            name: columns.pop(name)[order] for name in list(columns)}
        warn_backwards(events["t_ns"], timestamp_column, path)
    release_free_memory()
    names = dtype.names + (("delta_t",) if "dragon_time" in dtype.names else ())
    return LstEvents(
        path=path,
        keys=pl.DataFrame({"obs_id_lst": events["obs_id"], "event_id_lst": events["event_id"],
                           "tel_id": events["tel_id"]}),
        t_ns=events["t_ns"],
        intensity=events["intensity"],
        columns=arranged_columns(names, timestamp_column),
        focal_length_m=focal,
        timestamp_column=timestamp_column,
        file_rows=events["row"],
        time_diff=events.get("time_diff"),
        raw=raws if keep_raw and raws else None,
        subarray=subarray,
    )
