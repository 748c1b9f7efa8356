"""The time span of a DL1 file from its first and last rows: cheap, for choosing files.

Events are written in the order of the data acquisition, hence of time: the
valid timestamps among the first and last :data:`EDGE_ROWS` rows of a table
bound its events (a file whose time goes backwards across them is the
exception the caller must allow for). Reading them costs a file's metadata
and two chunks, not its table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .hdf5 import open_hdf5
from .lst import LST_PARAMETERS_KEY
from .magic import MAGIC_PARAMETERS_KEY
from .timestamps import magic_ns

__all__ = ["EDGE_ROWS", "lst_time_span", "magic_time_span"]

#: Rows read at each end of a table.
EDGE_ROWS = 16

Span = tuple[int, int]


def _edges(path: Path, key: str, columns: list[str]) -> np.ndarray | None:
    """The first and last :data:`EDGE_ROWS` rows of some columns of a table (None if the
    file or the table cannot be read).

    An estimate, read without the checks of :func:`lmcoinc.io.hdf5.read_table`
    (a damaged file is told when its table is read).
    """
    try:
        with open_hdf5(path) as handle:
            node = handle[key] if key in handle else None
            if node is None or node.ndim != 1 or node.shape[0] == 0:
                return None
            n_rows, fields = node.shape[0], node.fields(columns)
            first = fields[0:EDGE_ROWS]
            last = fields[max(EDGE_ROWS, n_rows - EDGE_ROWS):n_rows]
    except Exception:  # noqa: BLE001 - unreadable: unknown
        return None
    return np.concatenate([first, last])


def _span(t_ns: np.ndarray) -> Span | None:
    return (int(t_ns.min()), int(t_ns.max())) if len(t_ns) else None


def _edge_seconds(path: Path, key: str, column: str) -> np.ndarray | None:
    """:func:`_edges` of one numeric column as float64, read by HDF5 into that type alone
    (not through the numpy type of the whole row, slow for a table of 100 columns)."""
    from h5py import h5s, h5t

    try:
        with open_hdf5(path) as handle:
            node = handle[key] if key in handle else None
            if node is None or node.ndim != 1 or node.shape[0] == 0:
                return None
            stored = node.id.get_type()
            index = stored.get_member_index(column.encode())
            if stored.get_member_class(index) not in (h5t.INTEGER, h5t.FLOAT):
                return None
            n_rows = node.shape[0]
            memory = h5t.create(h5t.COMPOUND, 8)
            memory.insert(column.encode(), 0, h5t.NATIVE_DOUBLE)
            parts = []
            for start, stop in ((0, min(EDGE_ROWS, n_rows)),
                                (max(EDGE_ROWS, n_rows - EDGE_ROWS), n_rows)):
                if stop <= start:
                    continue
                out = np.empty(stop - start, dtype=[(column, "<f8")])
                space = node.id.get_space()
                space.select_hyperslab((start,), (stop - start,))
                node.id.read(h5s.create_simple((stop - start,)), space, out, memory)
                parts.append(out[column])
    except Exception:  # noqa: BLE001 - unreadable: unknown
        return None
    return np.concatenate(parts)


def lst_time_span(path: str | Path, timestamp_column: str) -> Span | None:
    """First and last valid LST timestamp (int64 ns) among the edge rows of an LST-1 file;
    None when unknown (no such row, the column absent or not a number, the file unreadable)."""
    seconds = _edge_seconds(Path(path), LST_PARAMETERS_KEY, timestamp_column)
    if seconds is None:
        return None
    seconds = seconds[np.isfinite(seconds) & (seconds > 0)]
    return _span(np.rint(seconds * 1e9).astype(np.int64))  # to within 1 µs: an estimate


def magic_time_span(path: str | Path) -> Span | None:
    """First and last valid timestamp (int64 ns) among the edge rows of a MAGIC file; None
    when unknown."""
    rows = _edges(Path(path), MAGIC_PARAMETERS_KEY, ["time_sec", "time_nanosec"])
    if rows is None or rows.dtype.names is None or any(
            rows.dtype[c].kind not in "iu" for c in rows.dtype.names):
        return None
    sec, nsec = rows["time_sec"], rows["time_nanosec"]
    valid = (sec > 0) & (nsec >= 0) & (nsec < 1_000_000_000)
    return _span(magic_ns(sec[valid], nsec[valid]))
