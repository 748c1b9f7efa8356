"""PyTables tables read as :mod:`.hdf5` reads them, their types worked out once per type.

h5py rebuilds the numpy type of a compound HDF5 type for every dataset it
opens, and :func:`.hdf5.read_rows` works out each time which columns are
booleans and whether the rows can be read as stored. The many files of one
kind (the MAGIC files of a night) share the table's HDF5 type: what follows
from it is kept once, keyed by the type's serialized form (``H5Tencode``), a
pure function of the type. The checks and the errors are those of
:func:`.hdf5.table` and :func:`.hdf5.read_rows`; :func:`open_quickly` opens a
file as :func:`.hdf5.open_hdf5` does, its checks made only when it cannot be
opened.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidFileError
from .hdf5 import checked_table as hdf5_checked_table
from .hdf5 import describe_read_error, open_hdf5, reading_errors
from .hdf5_rows import (
    as_pytables,
    bool_members,
    in_native_order,
    plain_dtype,
    read_as_stored,
    type_layout,
)

__all__ = ["TableType", "checked_table", "open_quickly", "read_all_rows", "table_type"]


@dataclass(frozen=True, eq=False)
class TableType:
    """The type of a table's rows.

    Attributes
    ----------
    stored : h5py.h5t.TypeID
        The stored HDF5 type.
    dtype : numpy.dtype
        The numpy type h5py gives it (``Dataset.dtype``).
    """

    stored: Any
    dtype: np.dtype

    @cached_property
    def plan(self) -> tuple[set[str], tuple[Any, np.dtype] | None]:
        """The boolean columns and, for rows read as stored, the
        :func:`.hdf5_rows.type_layout` (None: h5py reads them)."""
        bools = bool_members(self.stored)
        return bools, type_layout(self.stored, self.dtype, bools)

    @property
    def names(self) -> tuple[str, ...] | None:
        """The names of its fields (None: not a table's)."""
        return self.dtype.names

    @property
    def native(self) -> np.dtype:
        """The type of the rows as :func:`read_all_rows` gives them (as PyTables does)."""
        return plain_dtype(self.dtype, self.plan[0]).newbyteorder("=")


def table_type(node: Any) -> TableType:
    """The type of a dataset's rows (the same object for every dataset of the same type)."""
    stored = node.id.get_type()
    try:
        encoded = stored.encode()
    except Exception:  # noqa: BLE001 - not serializable: worked out for this dataset
        return TableType(stored, stored.dtype)
    return _decoded(encoded)


@functools.lru_cache(maxsize=64)
def _decoded(encoded: bytes) -> TableType:
    """The type of the rows of a serialized HDF5 type."""
    from h5py import h5t

    stored = h5t.decode(encoded)
    return TableType(stored, stored.dtype)


def checked_table(handle: Any, key: str, what: str = "") -> tuple[Any, TableType]:
    """The dataset of a table, checked as :func:`.hdf5.table` does, and its type.

    Raises
    ------
    InvalidFileError
        If the table is absent, not a table, or its chunk index damaged.
    """
    return hdf5_checked_table(handle, key, what, table_type)


def read_all_rows(node: Any, kind: TableType) -> np.ndarray:
    """All rows of a table of :func:`checked_table`, as :func:`.hdf5.read_rows` reads them."""
    path = node.file.filename
    with reading_errors(path, f"the column types of {node.name}"):
        bools, layout = kind.plan
    try:
        if layout is not None:
            return in_native_order(read_as_stored(node, *layout, slice(None)))
        data = node[slice(None)]
    except Exception as err:  # noqa: BLE001 - HDF5 filter or I/O errors
        raise InvalidFileError(path, describe_read_error(node, err)) from None
    return as_pytables(data, bools)


@contextmanager
def open_quickly(path: str | Path) -> Iterator[Any]:
    """An HDF5 file opened read-only as :func:`.hdf5.open_hdf5` opens it, with its errors.

    The file is opened at once; only when it cannot be are the checks of
    :func:`.hdf5.open_hdf5` made, which tell why.
    """
    import h5py
    import hdf5plugin  # noqa: F401 - registers the blosc/zstd filters

    try:
        handle = h5py.File(Path(path), "r")
    except Exception:  # noqa: BLE001 - why: as open_hdf5 tells it
        with open_hdf5(path) as handle:
            yield handle
        return
    try:
        yield handle
    finally:
        handle.close()
