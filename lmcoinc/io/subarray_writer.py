"""The output SubarrayDescription "LST-MAGIC-Array", written without ctapipe.

ctapipe's ``SubarrayDescription.to_hdf`` writes a layout table, an optics
table and one geometry and readout table per camera type. The telescope
descriptions come unchanged from the input files (:class:`~.subarray.RawSubarray`),
so their tables are copied, and only the layout (ids, new positions,
indices) is written anew, in ctapipe's table format. The result reads back
with ``SubarrayDescription.from_hdf`` equal to what the reference writes
(tested). Into an :class:`~.hdf5_image.HDF5Image` (every output of the
pipeline) it is copied from an image written once per process for the same
inputs (:func:`_template`): the subruns of a night share it.
"""

from __future__ import annotations

import hashlib
import pickle
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from ..errors import InvalidFileError
from ..instrument import REFERENCE_ITRS, telescope_positions
from .hdf5_image import HDF5Image, open_output
from .subarray import CAMERA, LAYOUT, OPTICS, RawSubarray

__all__ = ["OUTPUT_SUBARRAY_NAME", "write_subarray"]

#: Name of the output subarray.
OUTPUT_SUBARRAY_NAME = "LST-MAGIC-Array"


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
    return _installed_ctapipe() or str(lst.attrs[LAYOUT].get("SOFT_VER", "unknown"))


@cache
def _installed_ctapipe() -> str | None:
    try:
        return version("ctapipe")
    except PackageNotFoundError:
        return None


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
    if isinstance(output_file, HDF5Image):
        output_file.add_group(_template(lst, magic, tel_ids), "/configuration")
        return
    _write_subarray(output_file, lst, magic, tel_ids)


#: The images of the last output subarrays written (fingerprint of the inputs → image).
_TEMPLATES: dict[str, bytes] = {}
_MAX_TEMPLATES = 4


def _template(lst: RawSubarray, magic: RawSubarray, tel_ids: dict[str, int]) -> bytes:
    """An HDF5 file image holding only the output subarray of these inputs (written once per
    process for inputs of the same content)."""
    key = _key(lst, magic, tel_ids)
    if key not in _TEMPLATES:
        with HDF5Image(Path("subarray.h5")) as image:
            _write_subarray(image, lst, magic, tel_ids)
            handle = image.handle()
            handle.flush()
            found = handle.get_file_image()
        while len(_TEMPLATES) >= _MAX_TEMPLATES:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))
        _TEMPLATES[key] = found
    return _TEMPLATES[key]


#: The tables and attributes of the last inputs fingerprinted, the telescopes, the digest.
_LAST_KEY: list = []


def _key(lst: RawSubarray, magic: RawSubarray, tel_ids: dict[str, int]) -> str:
    """:func:`_fingerprint` of the inputs, that of the last ones if they hold the very same
    tables and attributes (a subarray reused from the last subrun of this process, the
    MAGIC subarray of the batch's cache)."""
    parts = (lst.tables, lst.attrs, magic.tables, magic.attrs)
    if _LAST_KEY and all(a is b for a, b in zip(_LAST_KEY[0], parts, strict=True)) \
            and _LAST_KEY[1] == tel_ids:
        return _LAST_KEY[2]
    key = _fingerprint([lst, magic], tel_ids)
    _LAST_KEY[:] = [parts, dict(tel_ids), key]
    return key


def _fingerprint(subarrays: list[RawSubarray], tel_ids: dict[str, int]) -> str:
    """A digest of what the output subarray is made of: the tables and attributes of the
    input subarrays (numpy values by type and bytes: equal bytes, equal contents), the
    telescopes in use, the ctapipe version."""
    made_of = [([(k, _plain(v)) for k, v in raw.tables.items()],
                [(k, [(n, _plain(v)) for n, v in a.items()]) for k, a in raw.attrs.items()])
               for raw in subarrays]
    payload = (made_of, sorted(tel_ids.items()), _ctapipe_version(subarrays[0]))
    return hashlib.sha256(pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)).hexdigest()


def _plain(value: object) -> object:
    """A numpy value as (type, dtype, shape, bytes), which pickle quickly; others as they are."""
    if isinstance(value, np.ndarray | np.generic) and value.dtype.kind != "O":
        return type(value).__name__, value.dtype.str, value.shape, value.tobytes()
    return value


def _write_subarray(
    output_file: Path | HDF5Image, lst: RawSubarray, magic: RawSubarray, tel_ids: dict[str, int]
) -> None:
    """:func:`write_subarray` with PyTables."""
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
