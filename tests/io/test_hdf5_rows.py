"""Rows of PyTables tables as PyTables gives them: read as stored, or viewed after h5py."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tables
from numpy.lib import recfunctions as rfn

from lmcoinc.io.hdf5 import open_hdf5, read_table
from lmcoinc.io.hdf5_rows import (
    as_pytables,
    bool_fields,
    in_native_order,
    read_as_stored,
    stored_layout,
)

from ..helpers.compare import assert_same_array


def test_booleans_of_every_byte_value_as_pytables(tmp_path):
    """Booleans are read as stored (PyTables' 8-bit bitfields): a byte other than 0 and 1
    stays as it is, as PyTables gives it, in full reads, row slices and column reads."""
    dtype = np.dtype([("x", "<f4"), ("b", "?"), ("m", "?", (3,)), ("n", "<i2")])
    path = tmp_path / "bools.h5"
    with tables.open_file(str(path), "w") as handle:
        handle.create_table("/", "t", description=dtype, chunkshape=(7,)).append(
            np.zeros(256, dtype))
    raw = np.zeros(256, [("x", "<f4"), ("b", "u1"), ("m", "u1", (3,)), ("n", "<i2")])
    raw["x"], raw["b"], raw["n"] = np.arange(256) * 0.5, np.arange(256), -np.arange(256)
    raw["m"] = np.stack([np.arange(256), 255 - np.arange(256), np.arange(256) // 2], axis=1)
    with h5py.File(path, "r+") as handle:  # the bytes written as they are
        node = handle["/t"]
        node.id.write(h5py.h5s.ALL, h5py.h5s.ALL, raw, mtype=node.id.get_type())
    with tables.open_file(str(path)) as handle:
        theirs = handle.root.t.read()
    assert theirs["b"].view(np.uint8).tolist() == list(range(256))  # every byte value
    with open_hdf5(path) as handle:
        assert_same_array(read_table(handle, "/t"), theirs)
        for rows in (slice(3, 200), slice(255, None), slice(0, 0), np.array([0, 2, 255])):
            assert_same_array(read_table(handle, "/t", rows=rows), theirs[rows])
        assert_same_array(read_table(handle, "/t", columns=["m", "b"]),
                          rfn.repack_fields(theirs[["m", "b"]]))


_ROWS = [slice(None), slice(2, 17), slice(1, None, 3), slice(5, 5), slice(30, 40),
         slice(-4, None), slice(0, 1)]


@pytest.mark.parametrize("byteorder", ["little", "big"])
def test_read_as_stored_equals_the_h5py_read(tmp_path, byteorder):
    """Numbers, booleans and arrays of them, in either byte order: the rows read as
    stored are those h5py reads, viewed as PyTables gives them."""
    dtype = np.dtype([("a", "<f8"), ("b", "<i4", (2, 3)), ("d", "?"), ("e", "?", (4,)),
                      ("f", "<u2"), ("g", "<f4"), ("h", "i1")])
    data = np.zeros(20, dtype)
    data["a"], data["f"], data["h"] = np.arange(20) * 1.5, np.arange(20) * 999, -np.arange(20)
    data["b"] = np.arange(120).reshape(20, 2, 3)
    data["d"], data["e"][:, 2], data["g"] = np.arange(20) % 3 == 0, True, np.nan
    path = tmp_path / "t.h5"
    with tables.open_file(str(path), "w") as handle:
        handle.create_table("/", "t", description=dtype, byteorder=byteorder,
                            chunkshape=(6,)).append(data)
    with open_hdf5(path) as handle:
        node = handle["/t"]
        bools = bool_fields(node)
        assert bools == {"d", "e"}
        layout = stored_layout(node, bools)
        assert layout is not None
        for rows in _ROWS:
            ours = in_native_order(read_as_stored(node, *layout, rows))
            assert_same_array(ours, as_pytables(node[rows], bools))
            assert_same_array(ours, read_table(handle, "/t", rows=rows))


def test_tables_with_strings_are_left_to_h5py(tmp_path):
    dtype = np.dtype([("a", "<f8"), ("c", "S5")])
    path = tmp_path / "s.h5"
    with tables.open_file(str(path), "w") as handle:
        handle.create_table("/", "t", description=dtype).append(np.zeros(3, dtype))
    with h5py.File(path) as handle:
        assert stored_layout(handle["/t"], set()) is None
