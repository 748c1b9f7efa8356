"""io/hdf5: h5py reading of PyTables tables, against PyTables itself.

The files are simulated in the real formats (lstchain and magic-cta-pipe
writers, blosc:zstd, fletcher32); PyTables' ``Table.read`` and
``AttributeSet`` are the oracles (the checksums of the stored chunks:
tests/io/test_chunks.py).
"""

from __future__ import annotations

import os
import pickletools
import shutil
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401 - h5py reads the blosc:zstd chunks
import numpy as np
import polars as pl
import pytest
import tables
from numpy.lib import recfunctions as rfn

from lmcoinc.errors import InvalidFileError
from lmcoinc.io.hdf5 import (
    attributes,
    describe_error,
    open_hdf5,
    read_table,
    table_fields,
    to_polars,
)
from lmcoinc.simulate import SimulationConfig, simulate

from ..helpers.badinputs import LAYOUT_KEY, flip_chunk_bytes, lst_file, truncate
from ..helpers.compare import assert_same_array


@pytest.fixture(scope="module")
def with_images(tmp_path_factory):
    """A 50 ms subrun with the DL1 images (boolean array columns) of LST-1 and MAGIC."""
    config = SimulationConfig(duration_s=0.05, seed=21, images=True)
    return simulate(tmp_path_factory.mktemp("images"), config)


@pytest.fixture(scope="module")
def inputs(good, with_images) -> list[Path]:
    """LST-1 and MAGIC files of two simulated subruns, one with images."""
    return [
        lst_file(good), *sorted((good / "magic").glob("*.h5")),
        with_images.lst_file, *with_images.magic_files,
    ]


@pytest.fixture(scope="module")
def big_endian(tmp_path_factory) -> Path:
    """A PyTables table stored big-endian, with booleans, strings and 2-D fields."""
    dtype = np.dtype([("a", "<f8"), ("b", "<i4", (2, 3)), ("c", "S5"), ("d", "?"),
                      ("e", "?", (4,)), ("f", "<u2")])
    data = np.zeros(10, dtype)
    data["a"] = np.arange(10) * 1.5
    data["b"] = np.arange(60).reshape(10, 2, 3)
    data["c"] = [b"", b"ab", b"abcde", b"x"] * 2 + [b"y", b"z"]
    data["d"] = np.arange(10) % 3 == 0
    data["e"][:, 1] = True
    data["f"] = np.arange(10) * 1000
    path = tmp_path_factory.mktemp("big_endian") / "big.h5"
    with tables.open_file(str(path), "w") as handle:
        table = handle.create_table(
            "/", "t", description=dtype, byteorder="big", chunkshape=(3,),
            filters=tables.Filters(complevel=5, complib="blosc:zstd", shuffle=True,
                                   fletcher32=True),
        )
        table.append(data)
    return path


def pytables_read(path: Path) -> dict[str, np.ndarray]:
    """Every table of a file as PyTables reads it."""
    with tables.open_file(str(path)) as handle:
        return {node._v_pathname: node.read() for node in handle.walk_nodes("/", "Table")}


# --- read_table ---------------------------------------------------------------


def test_read_table_equals_pytables(inputs, big_endian):
    kinds = set()
    for path in [*inputs, big_endian]:
        expected = pytables_read(path)
        assert expected
        with open_hdf5(path) as handle:
            for key, theirs in expected.items():
                ours = read_table(handle, key)
                assert_same_array(ours, theirs)
                assert table_fields(handle, key) == theirs.dtype.names
                for name in theirs.dtype.names:
                    field = theirs.dtype[name]
                    assert field.base.byteorder in "=|" and field.metadata is None
                    kinds.add((field.base.kind, len(field.shape)))
    # the files cover booleans (scalars and pixel masks), strings and array columns
    assert {("b", 0), ("b", 1), ("S", 0), ("f", 1)} <= kinds


def test_read_table_native_byte_order(big_endian):
    with h5py.File(big_endian) as handle:
        assert handle["/t"].dtype["a"].byteorder == ">"  # stored big-endian
    with open_hdf5(big_endian) as handle:
        ours = read_table(handle, "/t")
    assert all(ours.dtype[n].base.isnative for n in ours.dtype.names)
    assert ours["a"].tolist() == (np.arange(10) * 1.5).tolist()


def _column_choices(names: tuple[str, ...], bools: list[str], rng) -> list[list[str]]:
    choices = [[names[0]], [names[-1]], list(names[::-1]), bools[:1], bools[::-1]]
    choices += [list(rng.choice(names, size=min(4, len(names)), replace=False))]
    return [c for c in choices if c]


def _row_choices(n: int, rng) -> list:
    rows = [slice(None), slice(1, n, 3), slice(n // 2, None), slice(n, n), slice(0, 1)]
    rows += [np.sort(rng.choice(n, size=min(n, 7), replace=False)), np.array([n - 1]),
             np.array([], dtype=np.int64), np.arange(n)]
    return rows


def test_columns_and_rows_are_slices_of_the_full_read(inputs, big_endian):
    rng = np.random.default_rng(4)
    for path in [inputs[0], inputs[-3], inputs[-1], big_endian]:
        with open_hdf5(path) as handle:
            keys = list(pytables_read(path))
            for key in keys:
                full = read_table(handle, key)
                names = full.dtype.names
                bools = [n for n in names if full.dtype[n].base == np.bool_]
                for columns in _column_choices(names, bools, rng):
                    want = rfn.repack_fields(full[columns])
                    assert_same_array(read_table(handle, key, columns=columns), want)
                for rows in _row_choices(len(full), rng):
                    assert_same_array(read_table(handle, key, rows=rows), full[rows])
                rows, columns = slice(1, None, 2), [names[-1], names[0]]
                assert_same_array(
                    read_table(handle, key, columns=columns, rows=rows),
                    rfn.repack_fields(full[columns])[rows],
                )


def test_read_table_missing_or_not_a_table(good):
    path = lst_file(good)
    with open_hdf5(path) as handle:
        with pytest.raises(InvalidFileError) as err:
            read_table(handle, "/no/such/table", what="not an LST-1 DL1 file?")
        assert err.value.path == path
        assert err.value.problem == "no table /no/such/table (not an LST-1 DL1 file?)"
        with pytest.raises(InvalidFileError, match=r": /dl1/event is not a table$"):
            table_fields(handle, "/dl1/event")


# --- files that cannot be read --------------------------------------------------


def _magic_copy(good: Path, work: Path) -> Path:
    path = work / "dl1_M1.Run05093711.001.h5"
    shutil.copy(sorted((good / "magic").glob("*.h5"))[0], path)
    return path


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _bad_file(kind: str, good: Path, work: Path) -> tuple[Path, str]:
    """A bad file and the exact problem its error must state."""
    path = work / "dl1_M1.Run05093711.001.h5"
    if kind == "missing":
        return path, "file not found"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "empty file (0 bytes)"
    if kind == "directory":
        path.mkdir()
        return path, "is a directory, expected an HDF5 file"
    if kind == "text":
        path.write_text("obs_id,event_id\n1,2\n")
        return path, "not an HDF5 file"
    path = _magic_copy(good, work)
    size = path.stat().st_size
    if kind == "truncated":
        truncate(path, 0.5)
        return path, f"truncated file ({path.stat().st_size} of {size} bytes)"
    if kind == "header_only":
        truncate(path, 100 / size)
        return path, f"truncated file (100 of {size} bytes)"
    if kind == "superblock":
        _flip(path, 8)  # the superblock version
        return path, "cannot open HDF5 file (bad superblock version number)"
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind", ["missing", "empty", "directory", "text", "truncated", "header_only", "superblock"]
)
def test_open_errors_name_the_file(good, tmp_path, kind):
    path, problem = _bad_file(kind, good, tmp_path)
    with pytest.raises(InvalidFileError) as err:
        with open_hdf5(path):
            pass
    assert err.value.path == path
    assert err.value.problem == problem
    assert str(err.value) == f"{path}: {problem}"
    assert "\n" not in str(err.value)


def test_describe_error_of_real_hdf5_errors(good, tmp_path):
    path = _magic_copy(good, tmp_path)
    size = path.stat().st_size
    truncate(path, 0.3)
    with pytest.raises(OSError) as err:
        h5py.File(path, "r")
    assert describe_error(err.value) == f"truncated file ({path.stat().st_size} of {size} bytes)"

    (tmp_path / "flipped").mkdir()
    path = _magic_copy(good, tmp_path / "flipped")
    flip_chunk_bytes(path, "/events/parameters", chunk=0)
    with h5py.File(path, "r") as handle, pytest.raises(OSError) as err:
        handle["/events/parameters"][:]
    assert describe_error(err.value) == "filter returned failure during read"


# --- attributes ------------------------------------------------------------------


def _pytables_attributes(path: Path) -> dict[str, dict]:
    """Node path → the user attributes PyTables gives (unpickling where it does)."""
    out = {}
    with tables.open_file(str(path)) as handle:
        for node in handle.walk_nodes("/"):
            attrs = node._v_attrs
            out[node._v_pathname] = {name: attrs[name] for name in attrs._f_list("user")}
    return out


def _is_pickle(raw: bytes) -> bool:
    """Whether bytes are a complete pickle stream (parsed, never run)."""
    try:
        ops = list(pickletools.genops(raw))
    except Exception:  # noqa: BLE001
        return False
    return ops[-1][0].name == "STOP"


def test_attributes_equal_pytables(inputs):
    dropped = set()
    for path in inputs:
        expected = _pytables_attributes(path)
        with h5py.File(path) as handle:
            for node, theirs in expected.items():
                ours = attributes(handle[node])
                for name, value in theirs.items():
                    if not isinstance(value, np.generic | np.ndarray):  # PyTables unpickled it
                        raw = handle[node].attrs[name]
                        assert isinstance(raw, np.bytes_) and _is_pickle(bytes(raw))
                        assert name not in ours
                        dropped.add(name)
                        continue
                    assert type(ours[name]) is type(value), (path.name, node, name)
                    assert np.array_equal(ours[name], value), (path.name, node, name)
                assert ours.keys() <= theirs.keys()
    # the LST parameters carry ctapipe's pickled EventType enum (and empty unit strings)
    assert dropped and all(name.endswith("_ENUM") for name in dropped)


def test_attributes_of_every_kind_as_pytables(tmp_path):
    path = tmp_path / "attrs.h5"
    values = {
        "int": 3, "float": 2.5, "bool": True, "bools": np.array([True, False]),
        "text": "café", "empty_text": "", "bytes": b"abc", "empty_bytes": b"",
        "zero": b"0", "array": np.arange(3), "empty_array": np.array([], dtype=float),
        "strings": np.array([b"ab", b"c"]),
    }
    with tables.open_file(str(path), "w") as handle:
        for name, value in values.items():
            handle.root._v_attrs[name] = value
    expected = _pytables_attributes(path)["/"]
    with h5py.File(path) as handle:
        ours = attributes(handle["/"])
    assert ours.keys() == expected.keys() == values.keys()
    for name, value in expected.items():
        assert type(ours[name]) is type(value), name
        assert np.array_equal(ours[name], value), name


class _Plant:
    """Pickled by PyTables as a call of ``os.mkdir(marker)``: run when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_planted_pickle_is_dropped_not_run(good, tmp_path):
    from lmcoinc.io.subarray import read_raw_subarray

    path = _magic_copy(good, tmp_path)
    marker = tmp_path / "pickle_was_run"
    with tables.open_file(str(path), "a") as handle:
        handle.get_node(LAYOUT_KEY)._v_attrs["planted"] = _Plant(marker)
        handle.root._v_attrs["planted"] = _Plant(marker)
    with h5py.File(path) as handle:
        assert _is_pickle(bytes(handle[LAYOUT_KEY].attrs["planted"]))
        for node in (LAYOUT_KEY, "/"):
            found = attributes(handle[node])
            assert "planted" not in found
    layout_attrs = read_raw_subarray(path).attrs[LAYOUT_KEY]
    assert "planted" not in layout_attrs and layout_attrs["name"] == "MAGIC-LST-Array"
    assert not marker.exists()
    # the plant is live: PyTables runs it
    with tables.open_file(str(path)) as handle:
        handle.get_node(LAYOUT_KEY)._v_attrs["planted"]
    assert marker.is_dir()


# --- to_polars ---------------------------------------------------------------------


def test_to_polars_strings_and_arrays():
    dtype = np.dtype([("s", "S4"), ("v", "<f4", (3,)), ("m", "<i2", (2, 3)), ("b", "?", (2,)),
                      ("x", "<u8"), ("one", "S1")])
    data = np.zeros(4, dtype)
    data["s"] = [b"ab", b"", b"abcd", b"x\x00y"]
    data["v"] = np.arange(12).reshape(4, 3) / 4
    data["m"] = np.arange(24).reshape(4, 2, 3) - 12
    data["b"][::2, 0] = True
    data["x"] = np.uint64(2**63) + np.arange(4, dtype=np.uint64)
    frame = to_polars(data)
    assert frame.columns == list(dtype.names)
    assert frame.schema == {
        "s": pl.String, "v": pl.Array(pl.Float32, 3), "m": pl.Array(pl.Int16, (2, 3)),
        "b": pl.Array(pl.Boolean, 2), "x": pl.UInt64, "one": pl.String,
    }
    for name in dtype.names:
        want = data[name].tolist()
        if dtype[name].kind == "S":
            want = [v.decode() for v in want]
        assert frame[name].to_list() == want, name
    assert to_polars(data, ["x", "s"]).columns == ["x", "s"]
    assert to_polars(data[:0]).schema == frame.schema


def test_to_polars_of_an_image_table(with_images):
    from lmcoinc.io.lst import LST_IMAGES_KEY

    with open_hdf5(with_images.lst_file) as handle:
        images = read_table(handle, LST_IMAGES_KEY, rows=slice(0, 5))
    frame = to_polars(images, ["event_id", "image", "image_mask"])
    assert frame.schema["image_mask"] == pl.Array(pl.Boolean, 1855)
    assert np.array_equal(frame["image"].to_numpy(), images["image"])
    assert np.array_equal(frame["image_mask"].to_numpy(), images["image_mask"])
