"""The output SubarrayDescription "LST-MAGIC-Array", written without importing ctapipe.

ctapipe's ``SubarrayDescription.to_hdf`` writes a layout table, an optics
table and one geometry and readout table per camera type. The telescope
descriptions come unchanged from the input files, so their tables are
copied from there and only the layout (ids, new positions, indices) is
written anew, in ctapipe's table format. The result reads back with
``SubarrayDescription.from_hdf`` equal to what the reference writes (tested).
Importing ctapipe costs ~1.5 s per process; it is used here only for LST
files without a subarray (lstchain < 0.10).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from ..errors import InputError, LmcoincError, MagicInputError
from .hdf5 import describe_error, describe_read_error, open_hdf5

__all__ = [
    "RELATIVE_POSITIONS",
    "RawSubarray",
    "check_same_subarrays",
    "read_raw_subarray",
    "telescope_positions",
    "write_subarray",
]

log = logging.getLogger(__name__)

#: Telescope positions (m) in a common frame, as in magic-cta-pipe.
RELATIVE_POSITIONS = {
    "LST-1": [-70.930, -52.070, 43.00],
    "LST-2": [-35.270, 66.140, 32.00],
    "LST-3": [75.280, 50.490, 28.70],
    "LST-4": [30.910, -64.540, 32.00],
    "MAGIC-I": [-23.540, -191.750, 41.25],
    "MAGIC-II": [-94.05, -143.770, 42.42],
}

#: magic-cta-pipe's REFERENCE_LOCATION (lon −17.890879°, lat 28.761579°, 2199 m) in ITRS (m).
REFERENCE_ITRS = (5326851.018149303, -1719589.592870251, 3051820.7780909366)

INSTRUMENT = "/configuration/instrument"
LAYOUT = f"{INSTRUMENT}/subarray/layout"
OPTICS = f"{INSTRUMENT}/telescope/optics"
CAMERA = f"{INSTRUMENT}/telescope/camera"
_NAME = "LST-MAGIC-Array"
#: layout versions that ctapipe 0.25 reads; the reference takes the default
#: LST-1 for other ones (lstchain < 0.10 wrote 1.0), as for a missing layout
_READABLE_LAYOUT_VERSIONS = {"2.0"}


def telescope_positions(tel_ids: dict[str, int]) -> dict[int, np.ndarray]:
    """Positions (m) of the telescopes in use relative to their mean, rounded to 1 cm."""
    used = {name: tid for name, tid in tel_ids.items() if tid > 0}
    mean = np.array([RELATIVE_POSITIONS[name] for name in used]).mean(axis=0)
    return {
        tid: np.round(np.asarray(RELATIVE_POSITIONS[name]) - mean, 2) for name, tid in used.items()
    }


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


def read_raw_subarray(
    path: Path, error: type[LmcoincError], all_attrs: bool = True
) -> RawSubarray | None:
    """Read the subarray tables of a file; None if it has no layout table.

    ``all_attrs=False`` reads only the layout attributes that
    :meth:`RawSubarray.same_as` compares (enough for a comparison).
    """
    with open_hdf5(path, error) as handle:
        if LAYOUT not in handle:
            return None
        tables_, attrs, node = {}, {}, None
        try:
            for node in handle.walk_nodes(INSTRUMENT, "Table"):
                tables_[node._v_pathname] = node.read()
                names = node.attrs._v_attrnamesuser
                if not all_attrs:
                    names = [a for a in names if a in _COMPARED_ATTRS]
                attrs[node._v_pathname] = {a: node.attrs[a] for a in names}
        except Exception as err:  # noqa: BLE001 - corrupt chunks
            what = describe_read_error(node, err) if node is not None else describe_error(err)
            raise error(f"{path}: subarray description: {what}") from None
    if OPTICS not in tables_:
        raise error(f"{path}: subarray description without {OPTICS}")
    return RawSubarray(Path(path), tables_, attrs)


def _stored_chunks(path: Path) -> tuple | None:
    """The subarray tables of a file as stored: shapes, dtypes, compressed chunks.

    Read with h5py's direct chunk reads, without decompressing and without
    PyTables' per-node overhead (~2 ms a file instead of ~11 ms). None when
    h5py cannot read the file (then the caller decodes it with PyTables).
    """
    import h5py

    tables_ = {}
    try:
        with h5py.File(path, "r") as handle:
            if LAYOUT not in handle:
                return None
            for name, node in _datasets(handle[INSTRUMENT]):
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
    except (OSError, KeyError, ValueError):
        return None
    return tables_, repr(sorted(attrs.items()))


def _datasets(group) -> list:
    import h5py

    found = []
    group.visititems(lambda name, obj: found.append((name, obj))
                     if isinstance(obj, h5py.Dataset) else None)
    return found


def check_same_subarrays(files: list[Path]) -> RawSubarray:
    """Read the MAGIC files' subarrays; all must equal the first one.

    Files whose subarray tables are stored byte for byte like the first
    file's are equal to it; any other is decoded and compared table by
    table (which also reports a corrupt or truncated file by name).
    """
    first = read_raw_subarray(files[0], MagicInputError)
    if first is None:
        raise MagicInputError(f"{files[0]}: no subarray description")
    stored = _stored_chunks(files[0]) if len(files) > 1 else None
    for path in files[1:]:
        if stored is not None and _stored_chunks(path) == stored:
            continue
        other = read_raw_subarray(path, MagicInputError, all_attrs=False)
        if other is None or not first.same_as(other):
            raise MagicInputError(f"{path}: subarray differs from that of {files[0]}")
    return first


def _strings(values: list[bytes]) -> np.ndarray:
    return np.array(values, dtype=f"S{max(1, max(len(v) for v in values))}")


def _table_attrs(kind: str, columns: list[str], units: dict[str, str], strings: dict[str, int]):
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
        SOFT_VER=version("ctapipe"),
        SUBARRAY=_NAME,
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


def write_subarray(
    output_file: Path,
    lst_file: Path,
    magic_files: list[Path],
    tel_ids: dict[str, int],
) -> None:
    """Write the "LST-MAGIC-Array" subarray of the telescopes in use.

    LST telescopes take their description from the LST file, MAGIC ones
    from the (identical) subarrays of the MAGIC files; positions are those
    of :func:`telescope_positions`.
    """
    import tables

    lst = read_raw_subarray(lst_file, InputError)
    if lst is None or str(lst.attrs[LAYOUT].get("TAB_VER")) not in _READABLE_LAYOUT_VERSIONS:
        _write_with_ctapipe(output_file, lst_file, magic_files, tel_ids)
        return
    magic = check_same_subarrays(magic_files)
    used = [(name, tid) for name, tid in tel_ids.items() if tid > 0]
    rows = []
    for name, tid in used:
        source = lst if name.startswith("LST") else magic
        row = source.layout_row(tid)
        if row is None:
            raise (InputError if source is lst else MagicInputError)(
                f"{source.path}: subarray has no telescope {tid} ({name})"
            )
        rows.append((name, tid, source, row))
    # Unique cameras and optics, ordered by name as ctapipe does.
    cameras = {row["camera_name"]: (src, int(row["camera_index"])) for _, _, src, row in rows}
    optics = {row["optics_name"]: src.tables[OPTICS][int(row["optics_index"])]
              for _, _, src, row in rows}
    camera_names, optics_names = sorted(cameras), sorted(optics)
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
    optics_table = np.array([optics[n] for n in optics_names])
    optics_table = optics_table.astype(
        [(n, f"S{max(len(v) for v in optics_table[n])}" if optics_table.dtype[n].kind == "S"
          else optics_table.dtype[n]) for n in optics_table.dtype.names]
    )
    layout_attrs = _table_attrs(
        "subarray", list(layout.dtype.names), {c: "m" for c in ("pos_x", "pos_y", "pos_z")},
        _string_widths(layout),
    )
    layout_attrs.update(
        TAB_VER=lst.attrs[LAYOUT].get("TAB_VER", "2.0"),
        name=_NAME,
        reference_itrs_x=np.float64(REFERENCE_ITRS[0]),
        reference_itrs_y=np.float64(REFERENCE_ITRS[1]),
        reference_itrs_z=np.float64(REFERENCE_ITRS[2]),
    )
    source_optics = lst.attrs[OPTICS]
    optics_attrs = _table_attrs(
        "optics", list(optics_table.dtype.names),
        _units(source_optics, optics_table.dtype.names),
        _string_widths(optics_table),
    )
    optics_attrs["TAB_VER"] = source_optics.get("TAB_VER", "4.0")
    with tables.open_file(str(output_file), mode="a") as out:
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


def _write_with_ctapipe(
    output_file: Path, lst_file: Path, magic_files: list[Path], tel_ids: dict[str, int]
) -> None:
    """Fallback for LST files without a subarray: ctapipe and the default LST-1."""
    from astropy import units as u
    from astropy.coordinates import EarthLocation

    try:
        from ctapipe.instrument import SubarrayDescription
        from ctapipe_io_lst import REFERENCE_LOCATION, LSTEventSource
    except ImportError:
        raise InputError(
            f"{lst_file}: no readable SubarrayDescription (lstchain < 0.10); the default LST-1 "
            "description needs ctapipe and ctapipe_io_lst: pip install 'lmcoinc[simulate]'"
        ) from None

    log.warning("%s: no readable SubarrayDescription (lstchain < 0.10?); using the default "
                "LST-1", lst_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing provenance metadata of bundled resources
        subarray_lst = LSTEventSource.create_subarray(
            tel_id=1, reference_location=REFERENCE_LOCATION
        )
    subarray_magic = SubarrayDescription.from_hdf(magic_files[0])
    descriptions = {}
    for name, tid in tel_ids.items():
        if tid > 0:
            source = subarray_lst if name.startswith("LST") else subarray_magic
            if tid not in source.tel:
                raise InputError(f"{lst_file}: no description of telescope {tid} ({name})")
            descriptions[tid] = source.tel[tid]
    positions = {tid: list(pos) * u.m for tid, pos in telescope_positions(tel_ids).items()}
    location = EarthLocation(lon=-17.890879 * u.deg, lat=28.761579 * u.deg, height=2199 * u.m)
    SubarrayDescription(_NAME, positions, descriptions, location).to_hdf(output_file)
