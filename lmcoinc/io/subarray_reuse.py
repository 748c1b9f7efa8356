"""The LST-1 subarray of a subrun, decoded once for the subruns of a process that store the same.

The subruns of a night store the same subarray description, and decoding it
(:func:`lmcoinc.io.subarray.lst_subarray`: tables and attributes, through
h5py) costs more than reading what it is made of as stored: each table's
shape, stored type, filters and compressed chunks, each attribute's name,
stored type, shape and bytes (:func:`stored_subarray`). A file whose stored
description equals that of the last one decoded by this process gets that
one, with its own path; any other file is decoded, as are files whose
description cannot be compared so (variable-length attributes, contiguous
tables, unreadable metadata), or is not their own (the default LST-1), or
loses attributes when decoded (each such file warns as it is read).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .chunks import stored_chunks
from .hdf5 import pytables_attribute
from .subarray import INSTRUMENT, LAYOUT, RawSubarray, lst_subarray

__all__ = ["forget_subarray", "reused_lst_subarray", "stored_subarray"]

#: The stored description of the last subarray decoded by this process, and that subarray.
_LAST: list[tuple[tuple, RawSubarray]] = []


def reused_lst_subarray(handle: Any) -> RawSubarray:
    """:func:`~lmcoinc.io.subarray.lst_subarray` of an open LST-1 file, reused from the last
    file of this process that stores the same description."""
    stored = stored_subarray(handle)
    path = Path(handle.filename)
    if stored is not None and _LAST and _LAST[0][0] == stored:
        return replace(_LAST[0][1], path=path)
    found = lst_subarray(handle)
    if stored is not None and found.path == path and _keeps_attributes(stored, found):
        _LAST[:] = [(stored, found)]
    return found


def forget_subarray() -> None:
    """Drop the subarray this process keeps."""
    _LAST.clear()


def _keeps_attributes(stored: tuple, found: RawSubarray) -> bool:
    """Whether the decoded subarray has every attribute that was compared as stored."""
    return all(set(found.attrs.get(key, {})) == {a[0] for a in attrs}
               for key, _, attrs in stored)


def stored_subarray(handle: Any) -> tuple | None:
    """The subarray tables of an open file as stored, with their attributes: for each table
    under ``/configuration/instrument``, its path, its shape, stored type, filters and
    compressed chunks, and its attributes (name, stored type, shape, bytes; those of
    PyTables aside). None without a layout table, or if something cannot be compared so."""
    import h5py

    found: list[tuple[str, Any]] = []
    try:
        handle[INSTRUMENT].visititems(lambda _, obj: found.append((obj.name, obj))
                                      if isinstance(obj, h5py.Dataset) else None)
        if LAYOUT not in (name for name, _ in found):
            return None
        tables = [(name, _stored_table(node), _stored_attributes(node)) for name, node in found]
    except Exception:  # noqa: BLE001 - unreadable: the file is decoded (and says why)
        return None
    if any(table is None or attrs is None for _, table, attrs in tables):
        return None
    return tuple(tables)


def _stored_table(node: Any) -> tuple | None:
    """A chunked table as stored: shape, type, filters, compressed chunks (None if not
    chunked)."""
    dsid = node.id
    if node.chunks is None:
        return None
    plist = dsid.get_create_plist()
    filters = tuple(plist.get_filter(i) for i in range(plist.get_nfilters()))
    return (node.shape, node.chunks, dsid.get_type().encode(), filters,
            tuple(stored_chunks(dsid)))


def _stored_attributes(node: Any) -> tuple | None:
    """The attributes of a node (PyTables' own aside) as stored: name, type, shape, bytes;
    None if one has a type whose bytes are not its value (variable length, references)."""
    from h5py import h5a, h5t

    out = []
    for name in node.attrs:
        if pytables_attribute(name):
            continue
        attr = h5a.open(node.id, name.encode())
        kind, shape = attr.get_type(), attr.shape
        base = kind.get_super() if kind.get_class() == h5t.ARRAY else kind
        if base.get_class() not in (h5t.INTEGER, h5t.FLOAT, h5t.STRING, h5t.BITFIELD) or (
                base.get_class() == h5t.STRING and base.is_variable_str()):
            return None
        value = b""
        if shape is not None:  # not an empty dataspace
            buffer = np.empty(shape, dtype=np.dtype((np.void, kind.get_size())))
            attr.read(buffer, mtype=kind)
            value = buffer.tobytes()
        out.append((name, kind.encode(), shape, value))
    return tuple(out)
