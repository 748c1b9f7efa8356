"""Reading PyTables tables (blosc:zstd, fletcher32) with h5py, safely and with clear errors.

h5py with hdf5plugin decodes the blosc:zstd chunks that PyTables writes and
checks their fletcher32 checksums. Unlike PyTables it never unpickles an
attribute (PyTables stores Python objects in attributes as pickles and
runs them when it reads them): no input file can make lmcoinc run code.
Failures raise :class:`~lmcoinc.errors.InvalidFileError` naming the file.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import InvalidFileError
from .chunks import damaged_chunk_index, find_bad_chunk, fletcher32
from .hdf5_rows import as_pytables, bool_fields, in_native_order, read_as_stored, stored_layout

__all__ = [
    "attributes",
    "checked_table",
    "datasets",
    "describe_error",
    "find_bad_chunk",
    "fletcher32",
    "has_node",
    "open_hdf5",
    "opened",
    "pytables_attribute",
    "read_rows",
    "read_table",
    "reading_errors",
    "table",
    "table_fields",
    "to_polars",
]

log = logging.getLogger(__name__)

_TRUNCATED = re.compile(r"truncated file: eof = (\d+).*stored_eof = (\d+)")


def describe_error(err: Exception) -> str:
    """One line from an HDF5 error: its innermost message."""
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)  # unquoted
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in lines:
        low = line.lower()
        if "checksum" in low or "fletcher" in low:
            return "checksum error (data corrupted)"
        match = _TRUNCATED.search(line)
        if match:
            return f"truncated file ({match[1]} of {match[2]} bytes)"
    first = lines[0] if lines else type(err).__name__
    inner = re.search(r"\(([^()]*)\)\s*$", first)  # h5py: "Can't read data (the reason)"
    return (inner[1] if inner else first)[:160]


@contextmanager
def open_hdf5(path: str | Path) -> Iterator[Any]:
    """Open an HDF5 file read-only (an ``h5py.File``).

    Raises
    ------
    InvalidFileError
        If the file is missing, a directory, empty, unreadable, not HDF5 or
        truncated.
    """
    import h5py
    import hdf5plugin  # noqa: F401 - registers the blosc/zstd filters

    path = Path(path)
    if not path.exists():
        raise InvalidFileError(path, "file not found")
    if path.is_dir():
        raise InvalidFileError(path, "is a directory, expected an HDF5 file")
    if path.stat().st_size == 0:
        raise InvalidFileError(path, "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise InvalidFileError(path, "permission denied")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except Exception:  # noqa: BLE001 - unreadable header
        is_hdf5 = False
    if not is_hdf5:
        raise InvalidFileError(path, "not an HDF5 file")
    try:
        handle = h5py.File(path, "r")
    except Exception as err:  # noqa: BLE001 - truncated superblock etc.
        what = describe_error(err)
        if what.startswith("truncated file"):
            raise InvalidFileError(path, what) from None
        raise InvalidFileError(path, f"cannot open HDF5 file ({what})") from None
    try:
        yield handle
    finally:
        handle.close()


@contextmanager
def opened(source: str | Path | Any) -> Iterator[Any]:
    """An open HDF5 file: ``source`` itself if it is one, else the path opened with
    :func:`open_hdf5` (and closed at the end of the block)."""
    if not isinstance(source, str | Path):
        yield source
        return
    with open_hdf5(source) as handle:
        yield handle


@contextmanager
def reading_errors(path: str | Path, what: str) -> Iterator[None]:
    """Within the block, h5py's error reading ``what`` (corrupt metadata) is an
    :class:`InvalidFileError` naming the file."""
    try:
        yield
    except (OSError, RuntimeError, KeyError, ValueError) as err:
        raise InvalidFileError(
            path, f"cannot read {what}: {describe_error(err)} (file corrupted)"
        ) from None


def has_node(handle: Any, key: str) -> bool:
    """Whether the file has a node at ``key`` (``key in handle``, with clear errors).

    A node is absent only if the groups on its path list their members: a
    corrupt group, whose names cannot be read, is an error, not an absence.
    """
    import h5py

    with reading_errors(handle.filename, key):
        if key in handle:
            return True
        group = handle["/"]
        for part in key.strip("/").split("/"):
            if not isinstance(group, h5py.Group) or part not in list(group):
                return False
            group = group[part]
    return False


def datasets(handle: Any, group: str) -> list[tuple[str, Any]]:
    """(node path, dataset) of every dataset under a group."""
    import h5py

    found: list[tuple[str, Any]] = []
    with reading_errors(handle.filename, group):
        handle[group].visititems(lambda _, obj: found.append((obj.name, obj))
                                 if isinstance(obj, h5py.Dataset) else None)
    return found


def _dtype(node: Any) -> np.dtype:
    return node.dtype


def checked_table(handle: Any, key: str, what: str = "",
                  row_type: Callable[[Any], Any] = _dtype) -> tuple[Any, Any]:
    """The dataset of a table and the type of its rows (``row_type(dataset)``, anything with
    the ``names`` of its fields; by default its numpy type), or an error naming the file."""
    import h5py

    path = handle.filename
    hint = f" ({what})" if what else ""
    with reading_errors(path, key):
        node = handle.get(key)
        if node is None:
            raise InvalidFileError(path, f"no table {key}{hint}")
        kind = row_type(node) if isinstance(node, h5py.Dataset) else None
        if kind is None or kind.names is None or node.ndim != 1:
            raise InvalidFileError(path, f"{key} is not a table{hint}")
        damaged = damaged_chunk_index(node)
    if damaged:
        raise InvalidFileError(path, f"{key}: {damaged} (file corrupted)")
    return node, kind


def _table(handle: Any, key: str, what: str = "") -> Any:
    """The dataset of a table, or an error naming the file."""
    return checked_table(handle, key, what)[0]


def table_fields(handle: Any, key: str, what: str = "") -> tuple[str, ...]:
    """The column names of a table."""
    return _table(handle, key, what).dtype.names


def table(handle: Any, key: str, what: str = "") -> Any:
    """The dataset of a table, checked (a 1-D table whose chunk index is whole), to read with
    :func:`read_rows` as often as needed.

    Raises
    ------
    InvalidFileError
        If the table is absent, not a table, or its chunk index damaged.
    """
    return _table(handle, key, what)


def read_table(
    handle: Any,
    key: str,
    *,
    what: str = "",
    columns: Sequence[str] | None = None,
    rows: slice | np.ndarray | None = None,
) -> np.ndarray:
    """Read a table (or some of its columns or rows) as a structured array.

    Parameters
    ----------
    handle : h5py.File
        From :func:`open_hdf5`.
    key : str
        Node path of the table.
    what : str
        What the table should be, for the message when it is absent.
    columns : sequence of str, optional
        Only these columns.
    rows : slice or numpy.ndarray, optional
        Only these rows (a slice, or increasing row indices).

    Raises
    ------
    InvalidFileError
        If the table is absent or cannot be read (the chunk whose checksum
        fails is named).
    """
    return read_rows(_table(handle, key, what), columns=columns, rows=rows)


def read_rows(
    node: Any, *, columns: Sequence[str] | None = None, rows: slice | np.ndarray | None = None
) -> np.ndarray:
    """Read a table of :func:`table` (or some of its columns or rows) as a structured array,
    as :func:`read_table` does."""
    path = node.file.filename
    with reading_errors(path, f"the column types of {node.name}"):
        bools = bool_fields(node)
        slices = rows is None or (isinstance(rows, slice) and (rows.step or 1) > 0)
        as_stored = stored_layout(node, bools) if columns is None and slices else None
    try:
        if as_stored is not None:
            return in_native_order(read_as_stored(node, *as_stored, rows or slice(None)))
        source = node.fields(list(columns)) if columns is not None else node
        data = source[rows if rows is not None else slice(None)]
    except Exception as err:  # noqa: BLE001 - HDF5 filter or I/O errors
        raise InvalidFileError(path, describe_read_error(node, err)) from None
    return as_pytables(data, bools)


def describe_read_error(dataset: Any, err: Exception) -> str:
    """One line on a failed read of a table: the chunk whose checksum fails, if any."""
    bad = find_bad_chunk(dataset)
    if bad is not None:
        rows = f"rows {bad[0]}-{bad[1]}"
        return f"fletcher32 checksum error in {dataset.name} {rows} (file corrupted)"
    return f"cannot read {dataset.name}: {describe_error(err)} (file corrupted?)"


def attributes(node: Any) -> dict[str, Any]:
    """The user attributes of a node as PyTables gives them, without the pickled ones.

    PyTables' own attributes (CLASS, TITLE, FIELD_*, ...) are left out;
    strings become ``numpy.str_`` (UTF-8) or ``numpy.bytes_`` (ASCII), also
    when empty, and booleans ``numpy.bool_``. Only plain values are kept:
    numbers, booleans and strings, scalars or arrays. A value that PyTables
    would unpickle (an ASCII string ending with ".") is dropped with a
    warning, as are other kinds (objects, compounds, references) and
    unreadable attributes: neither run, nor copied on to an output where
    PyTables would unpickle them; an empty value of another type than a
    string is dropped (PyTables writes none).

    Raises
    ------
    InvalidFileError
        If the attributes cannot be listed, or a name or a string is not
        text (a damaged file: such metadata has no checksum).
    """
    out = {}
    path = node.file.filename
    with reading_errors(path, f"the attributes of {node.name}"):
        names = list(node.attrs)
    for name in names:
        if not isinstance(name, str):
            raise InvalidFileError(path, f"an attribute name of {node.name} is not text "
                                   "(file corrupted)")
        if pytables_attribute(name):
            continue
        value, problem = _plain_attribute(node, name)
        if problem == _NOT_TEXT:
            raise InvalidFileError(path, f"attribute {name} of {node.name} is {problem} "
                                   "(file corrupted)")
        if problem and problem != _EMPTY:
            log.warning("%s: attribute %s of %s ignored (%s)", path, name, node.name, problem)
        else:
            out[name] = value
    return out


_NOT_TEXT = "not text"
_EMPTY = "an empty value"


def _plain_attribute(node: Any, name: str) -> tuple[Any, str]:
    """(value as PyTables gives it, "") of a plain attribute; (None, why it is not) otherwise."""
    import h5py
    from h5py import h5a, h5t

    try:
        attr = h5a.open(node.id, name.encode())
        value = _attribute_value(attr)
        stored = attr.get_type()
    except Exception as err:  # noqa: BLE001 - unsupported type, corrupt attribute
        return None, f"unreadable: {describe_error(err)}"
    utf8 = stored.get_class() == h5t.STRING and stored.get_cset() == h5t.CSET_UTF8
    if isinstance(value, h5py.Empty):
        if value.dtype.kind != "S":
            return None, _EMPTY
        return (np.str_("") if utf8 else np.bytes_(b"")), ""
    if isinstance(value, np.bytes_):
        if value.endswith(b".") and value not in (b"0", b"0.") and not utf8:
            return None, "a pickled Python object, not read"
        try:
            text = value.decode()
        except UnicodeDecodeError:
            return None, _NOT_TEXT
        if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
            return None, _NOT_TEXT
        return (np.str_(text) if utf8 else value), ""
    if isinstance(value, str):
        return np.str_(value), ""
    if stored.get_class() == h5t.BITFIELD and stored.get_size() == 1:
        return np.asarray(value).astype(np.bool_)[()], ""
    if isinstance(value, np.generic | np.ndarray) and value.dtype.kind in "biufcSU":
        return value, ""
    return None, f"not a plain value ({type(value).__name__})"


def _attribute_value(attr: Any) -> Any:
    """The value of an opened attribute (``h5py.h5a.AttrID``), as ``node.attrs[name]`` gives
    it, without opening the attribute a second time for its type."""
    import h5py
    from h5py import h5t

    shape = attr.shape
    if shape is None:  # an empty dataspace
        return h5py.Empty(attr.dtype)
    dtype = attr.dtype
    htype = h5t.py_create(dtype)
    if dtype.subdtype is not None:  # a top-level array type: its shape in the array's
        dtype, subshape = dtype.subdtype
        shape = shape + subshape
    arr = np.zeros(shape, dtype=dtype, order="C")
    attr.read(arr, mtype=htype)
    info = h5t.check_string_dtype(dtype)
    if info and info.length is None:  # variable-length strings: as str
        arr = np.array([b.decode("utf-8", "surrogateescape") for b in arr.flat],
                       dtype=dtype).reshape(arr.shape)
    return arr[()] if arr.ndim == 0 else arr


_PYTABLES_ATTRS = {"CLASS", "TITLE", "VERSION", "NROWS", "FILTERS", "AUTO_INDEX",
                   "PYTABLES_FORMAT_VERSION"}


def pytables_attribute(name: str) -> bool:
    """Whether an attribute is one of PyTables' own, which :func:`attributes` leaves out."""
    return name in _PYTABLES_ATTRS or name.startswith("FIELD_")


def to_polars(array: np.ndarray, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Columns of a structured array as a DataFrame.

    Byte strings become String, multi-dimensional fields Array columns.
    """
    data = {}
    for name in columns if columns is not None else array.dtype.names or ():
        col = array[name]
        if col.dtype.kind == "S":
            data[name] = pl.Series(name, col).cast(pl.String)
        else:
            data[name] = pl.Series(name, np.ascontiguousarray(col))
    return pl.DataFrame(data)
