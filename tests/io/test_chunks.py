"""io/chunks: HDF5's fletcher32 checksum, the chunk whose checksum fails and a damaged chunk
index, against HDF5 itself (its fletcher32 filter, its reads) and PyTables."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import tables

from lmcoinc.errors import InvalidFileError
from lmcoinc.io.chunks import damaged_chunk_index, find_bad_chunk, fletcher32
from lmcoinc.io.hdf5 import open_hdf5, read_table
from lmcoinc.io.lst import LST_PARAMETERS_KEY

from ..helpers.badinputs import flip_chunk_bytes, lst_file
from ..helpers.compare import assert_same_array

# --- fletcher32 and the bad chunk -------------------------------------------------


def test_fletcher32_equals_hdf5(tmp_path):
    """HDF5 appends the checksum (little-endian) to each stored chunk; no compression
    leaves the data before it as they are."""
    rng = np.random.default_rng(8)
    lengths = [1, 2, 3, 4, 5, 719, 720, 721, 722, 723, 1439, 1441, 65535, 65536]
    lengths += [int(n) for n in rng.integers(1, 300_000, 12)]
    with h5py.File(tmp_path / "f.h5", "w") as handle:
        for i, n in enumerate(lengths):
            data = rng.integers(0, 256, n, dtype=np.uint8)
            if i % 3 == 0:  # the largest sums: every fold and carry taken
                data[:] = 0xFF
            dataset = handle.create_dataset(f"d{i}", data=data, chunks=(n,), fletcher32=True)
            _, chunk = dataset.id.read_direct_chunk((0,))
            assert chunk[:-4] == data.tobytes()
            assert fletcher32(data.tobytes()) == int.from_bytes(chunk[-4:], "little"), n


@pytest.fixture(scope="module")
def lst_parameters(good) -> tuple[int, int]:
    """(chunk length, rows) of the LST-1 parameter table, as PyTables reports them."""
    with tables.open_file(str(lst_file(good))) as handle:
        table = handle.get_node(LST_PARAMETERS_KEY)
        return int(table.chunkshape[0]), int(table.nrows)


@pytest.mark.parametrize("chunk", [1, 4, -1])
def test_find_bad_chunk_names_the_rows(good, lst_parameters, tmp_path, chunk):
    step, n_rows = lst_parameters
    n_chunks = -(-n_rows // step)
    assert n_chunks >= 5
    chunk %= n_chunks
    first, last = chunk * step, min((chunk + 1) * step, n_rows) - 1
    path = tmp_path / "lst.h5"
    shutil.copy(lst_file(good), path)
    with open_hdf5(path) as handle:
        assert find_bad_chunk(handle[LST_PARAMETERS_KEY]) is None
        clean = read_table(handle, LST_PARAMETERS_KEY)
    flip_chunk_bytes(path, LST_PARAMETERS_KEY, chunk=chunk)

    # PyTables fails on exactly these rows
    with tables.open_file(str(path)) as handle:
        table = handle.get_node(LST_PARAMETERS_KEY)
        for start, stop in [(first, first + 1), (last, last + 1)]:
            with pytest.raises(tables.HDF5ExtError):
                table.read(start, stop)
        outside = [(0, first), (last + 1, n_rows)]
        assert sum(len(table.read(a, b)) for a, b in outside) == n_rows - (last - first + 1)

    with open_hdf5(path) as handle:
        assert find_bad_chunk(handle[LST_PARAMETERS_KEY]) == (first, last)
        with pytest.raises(InvalidFileError) as err:
            read_table(handle, LST_PARAMETERS_KEY)
        before = read_table(handle, LST_PARAMETERS_KEY, rows=slice(0, first))
    assert err.value.path == path
    assert err.value.problem == (
        f"fletcher32 checksum error in {LST_PARAMETERS_KEY} rows {first}-{last} (file corrupted)"
    )
    assert_same_array(before, clean[:first])


def test_find_bad_chunk_without_checksums(tmp_path):
    with h5py.File(tmp_path / "plain.h5", "w") as handle:
        plain = handle.create_dataset("t", data=np.zeros(100, [("a", "f8")]), chunks=(10,))
        assert find_bad_chunk(plain) is None


def _swapped(checksum: int) -> int:
    """The sum as HDF5 releases before 1.6.3 wrote it (bytes of each 16-bit half swapped)."""
    return ((checksum & 0x00FF00FF) << 8) | ((checksum >> 8) & 0x00FF00FF)


def test_find_bad_chunk_accepts_the_old_byte_order_as_hdf5_does(tmp_path):
    """A chunk stored with the byte-swapped sum reads without error in HDF5: not a bad chunk;
    a chunk with any other sum fails in HDF5 and is found, with its rows."""
    data = np.zeros(30, [("a", "<f8"), ("b", "<i4")])
    data["a"], data["b"] = np.arange(30) * 0.5, np.arange(30)
    path = tmp_path / "old.h5"
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset("t", data=data, chunks=(10,), fletcher32=True)
        _, chunk = dataset.id.read_direct_chunk((10,))
        stored = int.from_bytes(chunk[-4:], "little")
        assert stored == fletcher32(chunk[:-4]) != _swapped(stored)
        dataset.id.write_direct_chunk((10,), chunk[:-4] + _swapped(stored).to_bytes(4, "little"))
    with h5py.File(path) as handle:
        assert handle["t"][:].tobytes() == data.tobytes()
        assert find_bad_chunk(handle["t"]) is None
    with h5py.File(path, "a") as handle:
        handle["t"].id.write_direct_chunk((20,), chunk[:-4] + (stored ^ 1).to_bytes(4, "little"))
    with h5py.File(path) as handle:
        with pytest.raises(OSError):
            handle["t"][20:30]
        assert find_bad_chunk(handle["t"]) == (20, 29)


def test_find_bad_chunk_of_a_last_partial_chunk(tmp_path):
    """The last chunk holds fewer rows than the chunk length: its last row is the table's."""
    with h5py.File(tmp_path / "f.h5", "w") as handle:
        data = np.zeros(25, dtype=[("a", "<i8")])
        data["a"] = np.arange(25)
        dataset = handle.create_dataset("t", data=data, chunks=(10,), fletcher32=True)
        _, chunk = dataset.id.read_direct_chunk((20,))
        dataset.id.write_direct_chunk((20,), chunk[:-4] + b"\0\0\0\0")
        assert find_bad_chunk(dataset) == (20, 24)


# --- the chunk index -------------------------------------------------------------------


def _chunked(handle: h5py.File) -> list[h5py.Dataset]:
    found: list[h5py.Dataset] = []
    handle.visititems(lambda _, node: found.append(node)
                      if isinstance(node, h5py.Dataset) and node.chunks else None)
    return found


def test_chunk_index_of_real_tables_is_whole(good):
    for path in [lst_file(good), *sorted((good / "magic").glob("*.h5"))]:
        with h5py.File(path) as handle:
            found = _chunked(handle)
            assert found
            assert all(damaged_chunk_index(node) == "" for node in found)


def test_chunk_index_with_chunks_never_written(tmp_path):
    """HDF5 reads the chunks missing from the index as fill values, without an error."""
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as handle:
        dataset = handle.create_dataset("t", shape=(100,), dtype=[("a", "<f8")], chunks=(10,))
        dataset[0:20] = np.ones(20, dtype=[("a", "<f8")])
        dataset[50:60] = np.ones(10, dtype=[("a", "<f8")])
    with h5py.File(path) as handle:
        assert handle["t"][:]["a"].sum() == 30  # the other rows read as zeros
        assert damaged_chunk_index(handle["t"]) == (
            "its chunk index is damaged (3 entries for 10 chunks)")
    with open_hdf5(path) as handle, pytest.raises(InvalidFileError) as err:
        read_table(handle, "/t")
    assert err.value.problem == (
        "/t: its chunk index is damaged (3 entries for 10 chunks) (file corrupted)")


def _node(infos: list, n_rows: int = 30, step: int = 10, file_size: int = 10_000):
    """A chunked 1-D table as h5py gives it, with a hand-made chunk index."""
    dsid = SimpleNamespace(get_num_chunks=lambda: len(infos),
                           get_chunk_info=lambda i: infos[i])
    return SimpleNamespace(chunks=(step,), shape=(n_rows,), id=dsid,
                           file=SimpleNamespace(id=SimpleNamespace(get_filesize=lambda: file_size)))


def _info(offset: int, byte_offset: int, size: int = 100):
    return SimpleNamespace(chunk_offset=(offset,), byte_offset=byte_offset, size=size)


@pytest.mark.parametrize(("infos", "problem"), [
    ([_info(0, 1000), _info(10, 2000), _info(20, 3000)], ""),
    ([_info(20, 3000), _info(0, 1000), _info(10, 2000)], ""),  # the index in any order
    ([_info(0, 1000), _info(10, 2000)], "2 entries for 3 chunks"),
    ([_info(0, 1000), _info(10, 2000), _info(10, 3000)], "3 entries for 3 chunks"),
    ([_info(0, 1000), _info(10, 0), _info(20, 3000)], "3 entries for 3 chunks"),
    ([_info(0, 1000), _info(10, 2000), _info(20, 9950)], "3 entries for 3 chunks"),
    ([_info(0, 1000), _info(10, 2000, size=0), _info(20, 3000)], "3 entries for 3 chunks"),
])
def test_chunk_index_rules(infos, problem):
    """One stored chunk per chunk of rows, at a non-zero address, within the file."""
    found = damaged_chunk_index(_node(infos))
    assert found == (f"its chunk index is damaged ({problem})" if problem else "")


def test_chunk_index_of_unchunked_or_empty_tables():
    assert damaged_chunk_index(SimpleNamespace(chunks=None, shape=(5,))) == ""
    assert damaged_chunk_index(_node([], n_rows=0)) == ""
    # a damaged shape claiming 10**18 rows is not enumerated
    assert damaged_chunk_index(_node([_info(0, 1000)], n_rows=10**18)) == (
        f"its chunk index is damaged (1 entries for {10**17} chunks)")
