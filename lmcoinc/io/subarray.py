"""The output SubarrayDescription "LST-MAGIC-Array", read and written without ctapipe.

ctapipe's ``SubarrayDescription.to_hdf`` writes a layout table, an optics
table and one geometry and readout table per camera type. The telescope
descriptions come unchanged from the input files, so their tables are read
as stored (:class:`RawSubarray`, with h5py) and copied, and only the layout
(ids, new positions, indices) is written anew, in ctapipe's table format.
The result reads back with ``SubarrayDescription.from_hdf`` equal to what
the reference writes (tested). LST-1 files of lstchain < 0.10 have no
usable subarray: the default LST-1 description of ``ctapipe_io_lst`` is
then taken from a file packaged with lmcoinc (``scripts/make_lst1_subarray.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from ..errors import InvalidFileError
from ..instrument import REFERENCE_ITRS, telescope_positions
from .hdf5 import attributes, datasets, has_node, open_hdf5, read_table
from .hdf5_image import HDF5Image, open_output

__all__ = [
    "OUTPUT_SUBARRAY_NAME",
    "RawSubarray",
    "check_same_subarrays",
    "default_lst_subarray",
    "lst_subarray",
    "read_raw_subarray",
    "write_subarray",
]

log = logging.getLogger(__name__)

INSTRUMENT = "/configuration/instrument"
LAYOUT = f"{INSTRUMENT}/subarray/layout"
OPTICS = f"{INSTRUMENT}/telescope/optics"
CAMERA = f"{INSTRUMENT}/telescope/camera"
#: Name of the output subarray.
OUTPUT_SUBARRAY_NAME = "LST-MAGIC-Array"
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


def read_raw_subarray(path: str | Path, all_attrs: bool = True) -> RawSubarray | None:
    """Read the subarray tables of a file; None if it has no (readable) layout table.

    ``all_attrs=False`` reads only the layout attributes that
    :meth:`RawSubarray.same_as` compares (enough for a comparison).

    Raises
    ------
    InvalidFileError
        If a subarray table cannot be read.
    """
    path = Path(path)
    with open_hdf5(path) as handle:
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


def lst_subarray(lst_file: str | Path) -> RawSubarray:
    """The subarray of an LST-1 file, or the default LST-1 for files without a usable one.

    lstchain < 0.10 wrote no subarray, or one in ctapipe's obsolete layout
    version 1.0 (no camera and optics indices), which ctapipe no longer reads.
    """
    found = read_raw_subarray(lst_file)
    if found is None or "camera_index" not in (found.tables[LAYOUT].dtype.names or ()):
        log.warning("%s: no usable SubarrayDescription (lstchain < 0.10?); using the default "
                    "LST-1", lst_file)
        return default_lst_subarray()
    return found


def _stored_chunks(path: Path) -> tuple | None:
    """The subarray tables of a file as stored: shapes, dtypes, compressed chunks.

    Read with h5py's direct chunk reads, without decompressing (~2 ms a
    file). None when they cannot be read (then the caller decodes them).
    """
    import h5py

    tables_ = {}
    try:
        with h5py.File(path, "r") as handle:
            if LAYOUT not in handle:
                return None
            for name, node in datasets(handle, INSTRUMENT):
                dsid = node.id
                if node.chunks is None:
                    chunks = (node[()].tobytes(),)
                else:
                    chunks = tuple(
                        dsid.read_direct_chunk(dsid.get_chunk_info(i).chunk_offset)
                        for i in range(dsid.get_num_chunks())
                    )
                tables_[name] = (node.shape, node.dtype, chunks)
            layout = handle[LAYOUT].attrs
            attrs = {k: layout[k] for k in _COMPARED_ATTRS if k in layout}
    except Exception:  # noqa: BLE001 - unreadable: the caller decodes them (and says why)
        return None
    return tables_, repr(sorted(attrs.items()))


def check_same_subarrays(files: list[Path]) -> RawSubarray:
    """Read the MAGIC files' subarrays; all must equal the first one.

    Files whose subarray tables are stored byte for byte like the first
    file's are equal to it; any other is decoded and compared table by
    table (which also reports a corrupt or truncated file by name).

    Raises
    ------
    InvalidFileError
        If a subarray is missing, unreadable or differs from the first one.
    """
    first = read_raw_subarray(files[0])
    if first is None:
        raise InvalidFileError(files[0], "no subarray description")
    if "camera_index" not in (first.tables[LAYOUT].dtype.names or ()):
        raise InvalidFileError(files[0], "subarray description in ctapipe's obsolete layout "
                               "(no camera_index)")
    stored = _stored_chunks(files[0]) if len(files) > 1 else None
    for path in files[1:]:
        if stored is not None and _stored_chunks(path) == stored:
            continue
        other = read_raw_subarray(path, all_attrs=False)
        if other is None or not first.same_as(other):
            raise InvalidFileError(path, f"subarray differs from that of {files[0]}")
    return first


def _strings(values: list[bytes]) -> np.ndarray:
    return np.array(values, dtype=f"S{max(1, max(len(v) for v in values))}")


def _table_attrs(
    kind: str, columns: list[str], units: dict[str, str], strings: dict[str, int],
    soft_version: str,
) -> dict:
    attrs: dict = {}
    for i, name in enumerate(columns):
        if name in strings:
            attrs[f"CTAFIELD_{i}_MAXLEN"] = np.int64(strings[name])
            attrs[f"CTAFIELD_{i}_TRANSFORM"] = "string"
        elif name in units:
            attrs[f"CTAFIELD_{i}_TRANSFORM"] = "quantity"
            attrs[f"CTAFIELD_{i}_UNIT"] = units[name]
    attrs.update(
        ORIGIN="ctapipe.instrument.SubarrayDescription",
        SOFT_VER=soft_version,
        SUBARRAY=OUTPUT_SUBARRAY_NAME,
        TAB_TYPE=kind,
    )
    return attrs


def _write(handle, path: str, data: np.ndarray, attrs: dict) -> None:
    import tables

    filters = tables.Filters(complevel=5, complib="blosc:zstd", shuffle=True, fletcher32=True)
    where, name = path.rsplit("/", 1)
    table = handle.create_table(where, name, obj=data, filters=filters, createparents=True)
    for key, value in attrs.items():
        table.attrs[key] = value


def _string_widths(data: np.ndarray) -> dict[str, int]:
    return {n: data.dtype[n].itemsize for n in data.dtype.names if data.dtype[n].kind == "S"}


def _ctapipe_version(lst: RawSubarray) -> str:
    """The installed ctapipe's version (what it would write), else the LST file's."""
    try:
        return version("ctapipe")
    except PackageNotFoundError:
        return str(lst.attrs[LAYOUT].get("SOFT_VER", "unknown"))


def _telescope_rows(lst: RawSubarray, magic: RawSubarray, tel_ids: dict[str, int]) -> list:
    """(name, tel_id, source subarray, layout row) of each telescope in use."""
    rows = []
    for name, tid in tel_ids.items():
        if tid <= 0:
            continue
        source = lst if name.startswith("LST") else magic
        row = source.layout_row(tid)
        if row is None:
            raise InvalidFileError(source.path, f"subarray has no telescope {tid} ({name})")
        rows.append((name, tid, source, row))
    return rows


def _layout(rows: list, tel_ids: dict[str, int], camera_names: list, optics_names: list):
    positions = telescope_positions(tel_ids)
    columns = {
        "tel_id": np.array([tid for _, tid, _, _ in rows], dtype=np.uint16),
        **{c: _strings([row[c] for *_, row in rows]) for c in ("name", "type")},
        **{c: np.array([positions[tid][i] for _, tid, _, _ in rows])
           for i, c in enumerate(("pos_x", "pos_y", "pos_z"))},
        "camera_name": _strings([row["camera_name"] for *_, row in rows]),
        "optics_name": _strings([row["optics_name"] for *_, row in rows]),
        "camera_index": np.array([camera_names.index(r["camera_name"]) for *_, r in rows]),
        "optics_index": np.array([optics_names.index(r["optics_name"]) for *_, r in rows]),
        "tel_description": _strings([row["tel_description"] for *_, row in rows]),
    }
    layout = np.empty(len(rows), dtype=[(k, v.dtype) for k, v in columns.items()])
    for key, values in columns.items():
        layout[key] = values
    return layout


def write_subarray(
    output_file: Path | HDF5Image, lst: RawSubarray, magic: RawSubarray, tel_ids: dict[str, int]
) -> None:
    """Write the "LST-MAGIC-Array" subarray of the telescopes in use.

    LST telescopes take their description from ``lst``, MAGIC ones from
    ``magic``; positions are those of
    :func:`lmcoinc.instrument.telescope_positions`.

    Raises
    ------
    InvalidFileError
        If a telescope in use is not described in its input subarray.
    """
    rows = _telescope_rows(lst, magic, tel_ids)
    if lst.tables[OPTICS].dtype.names != magic.tables[OPTICS].dtype.names:
        raise InvalidFileError(lst.path, f"the columns of {OPTICS} differ from those of "
                               f"{magic.path} (another ctapipe version, or a damaged file)")
    # Unique cameras and optics, ordered by name as ctapipe does.
    cameras = {row["camera_name"]: (src, int(row["camera_index"])) for _, _, src, row in rows}
    optics = {row["optics_name"]: src.tables[OPTICS][int(row["optics_index"])]
              for _, _, src, row in rows}
    camera_names, optics_names = sorted(cameras), sorted(optics)
    layout = _layout(rows, tel_ids, camera_names, optics_names)
    optics_table = np.array([optics[n] for n in optics_names])
    optics_table = optics_table.astype(
        [(n, f"S{max(len(v) for v in optics_table[n])}" if optics_table.dtype[n].kind == "S"
          else optics_table.dtype[n]) for n in optics_table.dtype.names]
    )
    soft_version = _ctapipe_version(lst)
    layout_attrs = _table_attrs(
        "subarray", list(layout.dtype.names), {c: "m" for c in ("pos_x", "pos_y", "pos_z")},
        _string_widths(layout), soft_version,
    )
    layout_attrs.update(
        TAB_VER=lst.attrs[LAYOUT].get("TAB_VER", "2.0"),
        name=OUTPUT_SUBARRAY_NAME,
        reference_itrs_x=np.float64(REFERENCE_ITRS[0]),
        reference_itrs_y=np.float64(REFERENCE_ITRS[1]),
        reference_itrs_z=np.float64(REFERENCE_ITRS[2]),
    )
    source_optics = lst.attrs[OPTICS]
    optics_attrs = _table_attrs(
        "optics", list(optics_table.dtype.names),
        _units(source_optics, optics_table.dtype.names),
        _string_widths(optics_table), soft_version,
    )
    optics_attrs["TAB_VER"] = source_optics.get("TAB_VER", "4.0")
    with open_output(output_file) as out:
        _write(out, LAYOUT, layout, layout_attrs)
        _write(out, OPTICS, optics_table, optics_attrs)
        for index, cam in enumerate(camera_names):
            src, src_index = cameras[cam]
            for kind in ("geometry", "readout"):
                path = f"{CAMERA}/{kind}_{src_index}"
                _write(out, f"{CAMERA}/{kind}_{index}", src.tables[path], src.attrs[path])


def _units(attrs: dict, columns: tuple[str, ...]) -> dict[str, str]:
    """Column units from ctapipe's CTAFIELD_<i>_UNIT attributes."""
    return {
        name: str(attrs[f"CTAFIELD_{i}_UNIT"])
        for i, name in enumerate(columns)
        if f"CTAFIELD_{i}_UNIT" in attrs
    }
