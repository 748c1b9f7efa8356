"""The rows of a PyTables table as PyTables gives them, read with h5py.

PyTables stores booleans as one-byte bitfields, which h5py reads as integers, and
gives every column in the native byte order. A table whose columns are all stored as
the types they are read into (or as such bitfields) is read as stored, its stored type
as the memory type: the bytes are the values, without HDF5's member-by-member
conversion of the compound type; other tables are read by h5py and viewed so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_pytables", "bool_fields", "bool_members", "in_native_order", "plain_dtype",
           "read_as_stored", "stored_layout", "type_layout"]


def bool_fields(dataset: Any) -> set[str]:
    """Columns stored as PyTables booleans (8-bit bitfields, which h5py reads as uint8)."""
    return bool_members(dataset.id.get_type())


def bool_members(tid: Any) -> set[str]:
    """:func:`bool_fields` of a table's compound HDF5 type (an ``h5py.h5t.TypeCompoundID``)."""
    from h5py import h5t

    out = set()
    for i in range(tid.get_nmembers()):
        member = tid.get_member_type(i)
        if member.get_class() == h5t.ARRAY:
            member = member.get_super()
        if member.get_class() == h5t.BITFIELD and member.get_size() == 1:
            out.add(tid.get_member_name(i).decode())
    return out


def plain_dtype(dtype: np.dtype, bools: set[str]) -> np.dtype:
    """``dtype`` without h5py metadata, with PyTables' booleans, in the stored byte order."""
    names = dtype.names
    formats = []
    for name in names:
        field = dtype[name]
        base = np.dtype(np.bool_) if name in bools else np.dtype(field.base.str)
        formats.append(np.dtype((base, field.shape)) if field.shape else base)
    offsets = [dtype.fields[n][1] for n in names]
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": dtype.itemsize}
    )


def as_pytables(data: np.ndarray, bools: set[str]) -> np.ndarray:
    """A table read by h5py as PyTables reads it: booleans, native byte order."""
    stored = plain_dtype(data.dtype, bools)
    native = stored.newbyteorder("=")
    data = data.view(stored)
    return data if native == stored else data.astype(native)


def stored_layout(node: Any, bools: set[str]) -> tuple[Any, np.dtype] | None:
    """(stored type, :func:`plain_dtype`) of a table whose rows can be read as stored, with
    their stored type as the memory type: each column stored as the type h5py would read it
    into, or as a one-byte bitfield for a boolean. The bytes are then the values, without
    HDF5's member-by-member conversion (of the bitfields to the integers h5py asks for).
    None for other tables (strings, nested types, ...), which h5py reads."""
    return type_layout(node.id.get_type(), node.dtype, bools)


def type_layout(stored: Any, dtype: np.dtype, bools: set[str]) -> tuple[Any, np.dtype] | None:
    """:func:`stored_layout` of a table's stored HDF5 type and the numpy type h5py gives it."""
    plain = plain_dtype(dtype, bools)
    return (stored, plain) if _reads_as_stored(stored, plain) else None


def read_as_stored(node: Any, stored: Any, dtype: np.dtype, rows: slice) -> np.ndarray:
    """Rows of a table of :func:`stored_layout` (a slice; every ``step``-th row if not 1)."""
    from h5py import h5s

    start, stop, step = rows.indices(node.shape[0])
    count = len(range(start, stop, step))
    out = np.empty(count, dtype=dtype)
    if count:
        space = node.id.get_space()
        space.select_hyperslab((start,), (count,), (step,))
        node.id.read(h5s.create_simple((count,)), space, out, mtype=stored)
    return out


def _reads_as_stored(stored: Any, dtype: np.dtype) -> bool:
    """Whether a compound HDF5 type has the layout of ``dtype`` (:func:`plain_dtype`), each
    member being the type h5py would read its field into, or a one-byte bitfield for a
    boolean: its bytes are then the values, as h5py (or PyTables) gives them."""
    from h5py import h5t

    if stored.get_class() != h5t.COMPOUND or stored.get_size() != dtype.itemsize:
        return False
    if stored.get_nmembers() != len(dtype.names):
        return False
    for i, name in enumerate(dtype.names):
        field, offset = dtype.fields[name][:2]
        member = stored.get_member_type(i)
        if stored.get_member_name(i).decode() != name or stored.get_member_offset(i) != offset:
            return False
        shape = ()
        if member.get_class() == h5t.ARRAY:
            shape, member = member.get_array_dims(), member.get_super()
        if shape != field.shape:
            return False
        base = field.base
        if base.kind == "b":
            if member.get_class() != h5t.BITFIELD or member.get_size() != 1:
                return False
        elif base.kind not in "iuf" or not _same_type(member, h5t.py_create(base)):
            return False
    return True


def _same_type(stored: Any, wanted: Any) -> bool:
    """Whether two HDF5 number types are the same (a byte's byte order aside)."""
    if stored.get_size() == 1 and stored.get_class() == wanted.get_class():
        stored = stored.copy()
        stored.set_order(wanted.get_order())
    return stored.equal(wanted)


def in_native_order(data: np.ndarray) -> np.ndarray:
    """A table as read in its stored byte order, in the native one (as PyTables gives it)."""
    native = data.dtype.newbyteorder("=")
    return data if native == data.dtype else data.astype(native)
