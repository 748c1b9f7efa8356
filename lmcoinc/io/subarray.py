"""The SubarrayDescription of the input files, read without ctapipe, and compared.

ctapipe's ``SubarrayDescription.to_hdf`` writes a layout table, an optics
table and one geometry and readout table per camera type. The telescope
descriptions of the inputs are read as stored (:class:`RawSubarray`, with
h5py) to be copied to the output (:mod:`.subarray_writer`). The MAGIC files
must all have the same (:func:`check_same_subarrays`). LST-1 files of
lstchain < 0.10 have no usable subarray: the default LST-1 description of
``ctapipe_io_lst`` is then taken from a file packaged with lmcoinc
(``scripts/make_lst1_subarray.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidFileError
from .chunks import stored_chunks
from .hdf5 import attributes, datasets, has_node, opened, read_table

__all__ = [
    "CAMERA",
    "LAYOUT",
    "OPTICS",
    "FileSubarray",
    "RawSubarray",
    "check_same_subarrays",
    "default_lst_subarray",
    "file_subarray",
    "lst_subarray",
    "read_raw_subarray",
]

log = logging.getLogger(__name__)

INSTRUMENT = "/configuration/instrument"
LAYOUT = f"{INSTRUMENT}/subarray/layout"
OPTICS = f"{INSTRUMENT}/telescope/optics"
CAMERA = f"{INSTRUMENT}/telescope/camera"
_DEFAULT_LST = "resources/lst1_subarray.h5"


@dataclass
class RawSubarray:
    """The subarray tables of a file, as stored.

    Attributes
    ----------
    tables : dict
        Node path → structured array, for every table under
        /configuration/instrument.
    attrs : dict
        Node path → user attributes.
    """

    path: Path
    tables: dict[str, np.ndarray]
    attrs: dict[str, dict]

    def layout_row(self, tel_id: int) -> np.void | None:
        """The layout row of a telescope (None if absent)."""
        layout = self.tables[LAYOUT]
        rows = layout[layout["tel_id"] == tel_id]
        return rows[0] if len(rows) else None

    def same_as(self, other: RawSubarray) -> bool:
        """Same telescopes, positions, descriptions, name and location."""
        if self.tables.keys() != other.tables.keys():
            return False
        for key, table in self.tables.items():
            theirs = other.tables[key]
            if table.dtype != theirs.dtype or not np.array_equal(table, theirs):
                return False
        mine = {k: v for k, v in self.attrs[LAYOUT].items() if k in _COMPARED_ATTRS}
        return mine == {k: v for k, v in other.attrs[LAYOUT].items() if k in _COMPARED_ATTRS}


_COMPARED_ATTRS = ("name", "reference_itrs_x", "reference_itrs_y", "reference_itrs_z")


def read_raw_subarray(source: str | Path | Any, all_attrs: bool = True) -> RawSubarray | None:
    """Read the subarray tables of a file; None if it has no (readable) layout table.

    ``source`` is the file's path or its open handle (``h5py.File``);
    ``all_attrs=False`` reads only the layout attributes that
    :meth:`RawSubarray.same_as` compares (enough for a comparison).

    Raises
    ------
    InvalidFileError
        If a subarray table cannot be read.
    """
    with opened(source) as handle:
        path = Path(handle.filename)
        if not has_node(handle, LAYOUT):
            return None
        tables_, attrs = {}, {}
        for key, node in datasets(handle, INSTRUMENT):
            try:
                tables_[key] = read_table(handle, key)
            except InvalidFileError as err:
                raise InvalidFileError(path, f"subarray description: {err.problem}") from None
            found = attributes(node)
            if not all_attrs:
                found = {k: v for k, v in found.items() if k in _COMPARED_ATTRS}
            attrs[key] = found
    _check_tables(path, tables_)
    return RawSubarray(path, tables_, attrs)


_LAYOUT_COLUMNS = ("tel_id", "name", "type", "camera_name", "optics_name", "tel_description")


def _check_tables(path: Path, tables_: dict[str, np.ndarray]) -> None:
    """The tables and columns that the output subarray is made of, and the rows the
    layout's indices point to, must be there (else the file is damaged)."""
    missing = [key for key in (LAYOUT, OPTICS) if key not in tables_]
    names = (tables_[LAYOUT].dtype.names or ()) if not missing else ()
    if "camera_index" in names:  # layout 2.0 (the obsolete 1.0: see lst_subarray)
        layout = tables_[LAYOUT]
        missing = [f"{LAYOUT} column {c}" for c in _LAYOUT_COLUMNS if c not in names]
        if not missing:
            missing = [f"{CAMERA}/{kind}_{i}" for i in np.unique(layout["camera_index"])
                       for kind in ("geometry", "readout") if f"{CAMERA}/{kind}_{i}" not in tables_]
            n_optics = len(tables_[OPTICS])
            if "optics_index" not in names or np.any(
                (layout["optics_index"] < 0) | (layout["optics_index"] >= n_optics)
            ):
                missing.append(f"{OPTICS} rows for the layout's optics_index")
    if missing:
        raise InvalidFileError(path, f"subarray description without {', '.join(missing)}")


def default_lst_subarray() -> RawSubarray:
    """The default LST-1 description of ``ctapipe_io_lst``, packaged with lmcoinc."""
    with resources.as_file(resources.files("lmcoinc").joinpath(_DEFAULT_LST)) as path:
        found = read_raw_subarray(path)
    if found is None:  # pragma: no cover - the packaged file has a layout
        raise RuntimeError(f"{_DEFAULT_LST}: no subarray layout")
    return found


def lst_subarray(source: str | Path | Any) -> RawSubarray:
    """The subarray of an LST-1 file (path or open handle), or the default LST-1 for files
    without a usable one.

    lstchain < 0.10 wrote no subarray, or one in ctapipe's obsolete layout
    version 1.0 (no camera and optics indices), which ctapipe no longer reads.
    """
    found = read_raw_subarray(source)
    if found is None or "camera_index" not in (found.tables[LAYOUT].dtype.names or ()):
        name = source if isinstance(source, str | Path) else source.filename
        log.warning("%s: no usable SubarrayDescription (lstchain < 0.10?); using the default "
                    "LST-1", name)
        return default_lst_subarray()
    return found


@dataclass(frozen=True)
class FileSubarray:
    """The subarray of one of several files that must all have the same.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    stored : tuple or None
        Its subarray tables as stored (shapes, dtypes, compressed chunks and the
        compared layout attributes; None: not readable that way).
    raw : RawSubarray or None
        The decoded tables, when read (the first file's).
    """

    path: Path
    stored: tuple | None
    raw: RawSubarray | None = None


def file_subarray(handle: Any, decode: bool = False) -> FileSubarray:
    """The subarray of an open file, for :func:`check_same_subarrays` (decoded if ``decode``).

    Raises
    ------
    InvalidFileError
        If ``decode`` and a subarray table cannot be read.
    """
    raw = read_raw_subarray(handle) if decode else None
    return FileSubarray(Path(handle.filename), _stored_tables(handle), raw)


def _stored_tables(handle: Any) -> tuple | None:
    """The subarray tables of an open file as stored: shapes, HDF5 types, compressed chunks.

    Read with HDF5's own calls and direct chunk reads, without decompressing
    or building numpy types. None when they cannot be read (then the caller
    decodes them).
    """
    import h5py
    from h5py import h5d, h5o

    try:
        if LAYOUT not in handle:
            return None
        names: list[bytes] = []
        h5o.visit(handle.id, lambda name, info: names.append(name)
                  if info.type == h5o.TYPE_DATASET else None,
                  obj_name=INSTRUMENT.encode(), info=True)
        tables_ = {}
        for name in names:
            dsid = h5d.open(handle.id, f"{INSTRUMENT}/".encode() + name)
            if dsid.get_create_plist().get_layout() != h5d.CHUNKED:
                chunks: tuple = (h5py.Dataset(dsid)[()].tobytes(),)
            else:
                chunks = tuple(stored_chunks(dsid))
            tables_[name] = (dsid.shape, dsid.get_type().encode(), chunks)
        layout = handle[LAYOUT].attrs
        attrs = {k: layout[k] for k in _COMPARED_ATTRS if k in layout}
    except Exception:  # noqa: BLE001 - unreadable: the caller decodes them (and says why)
        return None
    return tables_, repr(sorted(attrs.items()))


def check_same_subarrays(files: list[Path | FileSubarray]) -> RawSubarray:
    """The MAGIC files' subarray: all must equal the first one.

    ``files`` are paths, or what :func:`file_subarray` read of them while they
    were open. Files whose subarray tables are stored byte for byte like the
    first file's are equal to it; any other is decoded and compared table by
    table (which also reports a corrupt or truncated file by name).

    Raises
    ------
    InvalidFileError
        If a subarray is missing, unreadable or differs from the first one.
    """
    found = [f if isinstance(f, FileSubarray) else None for f in files]
    paths = [f.path if isinstance(f, FileSubarray) else Path(f) for f in files]
    first = found[0].raw if found[0] is not None and found[0].raw is not None else (
        read_raw_subarray(paths[0]))
    if first is None:
        raise InvalidFileError(paths[0], "no subarray description")
    if "camera_index" not in (first.tables[LAYOUT].dtype.names or ()):
        raise InvalidFileError(paths[0], "subarray description in ctapipe's obsolete layout "
                               "(no camera_index)")
    stored = _stored(paths[0], found[0]) if len(files) > 1 else None
    for path, known in zip(paths[1:], found[1:], strict=True):
        if stored is not None and _stored(path, known) == stored:
            continue
        other = read_raw_subarray(path, all_attrs=False)
        if other is None or not first.same_as(other):
            raise InvalidFileError(path, f"subarray differs from that of {paths[0]}")
    return first


def _stored(path: Path, known: FileSubarray | None) -> tuple | None:
    """The stored subarray tables of a file: as read before, else read now."""
    if known is not None:
        return known.stored
    try:
        with opened(path) as handle:
            return _stored_tables(handle)
    except InvalidFileError:
        return None
