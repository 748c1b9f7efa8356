"""io/table_types: tables read as io/hdf5 reads them, each table type worked out once; files
opened as io/hdf5 opens them, with its errors."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import tables

from lmcoinc.errors import InvalidFileError
from lmcoinc.io.hdf5 import open_hdf5, read_table, table
from lmcoinc.io.table_types import (
    TableType,
    checked_table,
    open_quickly,
    read_all_rows,
    table_type,
)

from ..helpers.badinputs import flip_chunk_bytes, lst_file, truncate
from ..helpers.compare import assert_same_array

MAGIC_KEY = "/events/parameters"


def _magic_files(good: Path) -> list[Path]:
    return sorted((good / "magic").glob("*.h5"))


@pytest.fixture(scope="module")
def odd_tables(tmp_path_factory) -> Path:
    """PyTables tables that h5py reads (strings), or read as stored: big-endian, booleans,
    2-D fields; and nodes that are not tables."""
    dtype = np.dtype([("a", "<f8"), ("b", "<i4", (2, 3)), ("d", "?"), ("e", "?", (4,))])
    data = np.zeros(7, dtype)
    data["a"], data["d"] = np.arange(7) * 1.5, np.arange(7) % 2 == 0
    data["b"], data["e"][:, 2] = np.arange(42).reshape(7, 2, 3), True
    strings = np.array([(1, b"ab"), (2, b"")], dtype=[("i", "<i8"), ("s", "S4")])
    path = tmp_path_factory.mktemp("tables") / "odd.h5"
    filters = tables.Filters(complevel=5, complib="blosc:zstd", shuffle=True, fletcher32=True)
    with tables.open_file(str(path), "w") as handle:
        for name, byteorder in (("big", "big"), ("little", "little")):
            handle.create_table("/", name, obj=data, byteorder=byteorder, chunkshape=(3,),
                                filters=filters)
        handle.create_table("/", "strings", obj=strings, filters=filters)
    with h5py.File(path, "a") as handle:
        handle.create_group("group")
        handle["numbers"] = np.arange(5)
        handle["square"] = np.zeros((2, 2), dtype=strings.dtype)
    return path


def test_rows_and_types_as_io_hdf5_reads_them(good, odd_tables):
    keys = [(p, MAGIC_KEY) for p in _magic_files(good)]
    keys += [(lst_file(good), "/dl1/event/telescope/parameters/LST_LSTCam")]
    keys += [(odd_tables, k) for k in ("/big", "/little", "/strings")]
    for path, key in keys:
        with open_hdf5(path) as handle:
            node, kind = checked_table(handle, key)
            theirs = read_table(handle, key)
            assert kind.dtype == node.dtype and kind.dtype.descr == node.dtype.descr
            assert kind.stored.equal(node.id.get_type())
            assert_same_array(read_all_rows(node, kind), theirs)
            assert kind.native == theirs.dtype
    with open_hdf5(odd_tables) as handle:  # h5py reads the strings, the others as stored
        assert [checked_table(handle, k)[1].plan[1] is None
                for k in ("/big", "/little", "/strings")] == [False, False, True]


def test_one_type_object_per_stored_type(good, odd_tables):
    kinds = []
    for path in _magic_files(good):
        with open_hdf5(path) as handle:
            kinds.append(table_type(handle[MAGIC_KEY]))
    assert len(kinds) > 1 and all(k is kinds[0] for k in kinds)
    with open_hdf5(odd_tables) as handle:
        big, little = table_type(handle["/big"]), table_type(handle["/little"])
    assert big is not little and big.dtype != little.dtype


def test_a_type_that_cannot_be_serialized_is_worked_out_each_time(odd_tables):
    class Unserializable:
        def __init__(self, stored):
            self.stored = stored
            self.dtype = stored.dtype

        def encode(self):
            raise TypeError("cannot encode")

    with open_hdf5(odd_tables) as handle:
        node = handle["/big"]
        fake = SimpleNamespace(id=SimpleNamespace(
            get_type=lambda: Unserializable(node.id.get_type())))
        found = [table_type(fake) for _ in range(2)]
        assert isinstance(found[0], TableType) and found[0] is not found[1]
        assert found[0].dtype == table_type(node).dtype


@pytest.mark.parametrize("key", ["/no/such", "/group", "/numbers", "/square"])
def test_checked_table_errors_are_those_of_io_hdf5(odd_tables, key):
    with open_hdf5(odd_tables) as handle:
        with pytest.raises(InvalidFileError) as theirs:
            table(handle, key, what="a hint")
        with pytest.raises(InvalidFileError) as ours:
            checked_table(handle, key, what="a hint")
    assert ours.value.path == theirs.value.path == odd_tables
    assert ours.value.problem == theirs.value.problem


def test_read_error_names_the_bad_chunk(good, tmp_path):
    path = tmp_path / "magic.h5"
    shutil.copy(_magic_files(good)[0], path)
    flip_chunk_bytes(path, MAGIC_KEY, chunk=1)
    with open_hdf5(path) as handle:
        with pytest.raises(InvalidFileError) as theirs:
            read_table(handle, MAGIC_KEY)
        with pytest.raises(InvalidFileError) as ours:
            read_all_rows(*checked_table(handle, MAGIC_KEY))
    assert ours.value.problem == theirs.value.problem
    assert "fletcher32 checksum error" in ours.value.problem


def _bad(kind: str, good: Path, work: Path) -> Path:
    path = work / "dl1_M1.Run05093711.001.h5"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    elif kind == "text":
        path.write_text("obs_id,event_id\n1,2\n")
    elif kind == "truncated":
        shutil.copy(_magic_files(good)[0], path)
        truncate(path, 0.5)
    return path


@pytest.mark.parametrize("kind", ["missing", "empty", "directory", "text", "truncated"])
def test_open_quickly_errors_are_those_of_open_hdf5(good, tmp_path, kind):
    path = _bad(kind, good, tmp_path)
    with pytest.raises(InvalidFileError) as theirs:
        with open_hdf5(path):
            pass
    with pytest.raises(InvalidFileError) as ours:
        with open_quickly(path):
            pass
    assert (ours.value.path, ours.value.problem) == (theirs.value.path, theirs.value.problem)


def test_open_quickly_opens_and_closes(good):
    path = _magic_files(good)[0]
    with open_quickly(path) as handle:
        assert handle.mode == "r" and MAGIC_KEY in handle
    assert not handle.id.valid
