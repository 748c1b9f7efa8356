"""Reading PyTables tables (blosc:zstd, fletcher32) into polars, with clear errors."""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import LmcoincError

__all__ = ["open_hdf5", "read_table", "structured_to_polars"]


def _describe(err: Exception) -> str:
    text = str(err).strip().splitlines()
    for line in text:  # HDF5 stacks: keep the most telling line
        low = line.lower()
        if "checksum" in low or "fletcher" in low:
            return "checksum error (data corrupted)"
    first = text[0] if text else type(err).__name__
    return first[:160]


class _NoClassUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"not unpickling {module}.{name}")


class _AttributePickle:
    """Stand-in for ``pickle`` in PyTables' attribute loading: no classes.

    ctapipe stores enum columns with a pickled class in an attribute
    (e.g. ``CTAFIELD_43_ENUM`` = ``ctapipe.containers.EventType``); PyTables
    unpickles every attribute when a table is opened, which would import
    ctapipe (~1.5 s) and run code from the file. Refused, PyTables keeps the
    attribute's raw bytes, which is all a reader or a copy needs.
    """

    UnpicklingError = pickle.UnpicklingError

    @staticmethod
    def loads(data: bytes, **kwargs):
        return _NoClassUnpickler(io.BytesIO(data), **kwargs).load()


@contextmanager
def _raw_attributes() -> Iterator[None]:
    import tables.attributeset as attributeset

    saved = attributeset.pickle
    attributeset.pickle = _AttributePickle
    try:
        yield
    finally:
        attributeset.pickle = saved


@contextmanager
def open_hdf5(path: str | Path, error: type[LmcoincError]) -> Iterator:
    """Open an HDF5 file read-only with PyTables, mapping failures to ``error``."""
    import tables

    path = Path(path)
    if not path.exists():
        raise error(f"{path}: file not found")
    if path.is_dir():
        raise error(f"{path}: is a directory, expected an HDF5 file")
    if not os.access(path, os.R_OK):
        raise error(f"{path}: permission denied")
    try:
        is_hdf5 = tables.is_hdf5_file(str(path))
    except Exception:  # noqa: BLE001 - unreadable header
        is_hdf5 = False
    if not is_hdf5:
        raise error(f"{path}: not an HDF5 file")
    try:
        handle = tables.open_file(str(path), mode="r")
    except Exception as err:  # noqa: BLE001 - truncated superblock etc.
        raise error(f"{path}: cannot open HDF5 file ({_describe(err)}); truncated?") from None
    try:
        with _raw_attributes():
            yield handle
    finally:
        handle.close()


def structured_to_polars(array: np.ndarray, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Columns of a structured array (1-D fields only unless listed) to a DataFrame."""
    names = columns if columns is not None else array.dtype.names
    data = {}
    for name in names:
        col = array[name]
        if col.dtype.kind == "S":
            data[name] = pl.Series(name, col).cast(pl.String)
        else:
            data[name] = np.ascontiguousarray(col)
    return pl.DataFrame(data)


def read_table(
    handle, path: str | Path, key: str, error: type[LmcoincError], what: str
) -> np.ndarray:
    """Read a whole table as a structured array.

    Parameters
    ----------
    handle : tables.File
        Open file.
    path : path
        Its path, for messages.
    key : str
        Node path of the table.
    error : type
        Exception class raised on failure.
    what : str
        What the table should be, for the message when it is absent.
    """
    import tables

    if key not in handle:
        raise error(f"{path}: no table {key} ({what})")
    node = handle.get_node(key)
    if not isinstance(node, tables.Table):
        raise error(f"{path}: {key} is not a table ({what})")
    try:
        return node.read()
    except Exception as err:  # noqa: BLE001 - HDF5 filter or I/O errors
        raise error(f"{path}: cannot read {key}: {_describe(err)}") from None
