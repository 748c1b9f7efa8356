"""io/subarray_reuse: an LST-1 subarray decoded once for the files that store the same one, and
decoded again for any file that stores another (or one that cannot be compared as stored)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from lmcoinc.io.hdf5 import open_hdf5
from lmcoinc.io.subarray import lst_subarray
from lmcoinc.io.subarray_reuse import forget_subarray, reused_lst_subarray, stored_subarray

from ..helpers.badinputs import LAYOUT_KEY, lst_file, modify_column, remove_node
from ..helpers.subarrays import INSTRUMENT, OPTICS_KEY, assert_same_attrs, assert_same_tables


@pytest.fixture(autouse=True)
def _fresh():
    forget_subarray()
    yield
    forget_subarray()


def _copies(good: Path, work: Path, n: int = 3) -> list[Path]:
    paths = [work / f"lst{i}.h5" for i in range(n)]
    for path in paths:
        shutil.copy(lst_file(good), path)
    return paths


def _read(path: Path):
    """(the subarray through the reuse, the subarray decoded)."""
    with open_hdf5(path) as handle:
        return reused_lst_subarray(handle), lst_subarray(handle)


def _assert_same(found, decoded) -> None:
    assert found.path == decoded.path
    assert_same_tables(found.tables, decoded.tables)
    assert_same_attrs(found.attrs, decoded.attrs)


def test_files_storing_the_same_subarray_share_the_first_decoded(good, tmp_path):
    paths = _copies(good, tmp_path)
    found = [_read(path) for path in paths]
    for reused, decoded in found:
        _assert_same(reused, decoded)
    assert found[1][0].tables is found[0][0].tables  # not decoded again
    assert found[2][0].attrs is found[0][0].attrs


def _other_focal_length(path: Path) -> None:
    modify_column(path, OPTICS_KEY, "equivalent_focal_length", lambda f: f.__iadd__(1.0))


def _other_attribute(path: Path) -> None:
    with h5py.File(path, "r+") as handle:
        attrs = handle[LAYOUT_KEY].attrs
        attrs.modify("reference_itrs_x", attrs["reference_itrs_x"] + 1.0)  # same type
        attrs.modify("name", attrs["name"][::-1])  # same length


def _other_attribute_shape(path: Path) -> None:
    with h5py.File(path, "r+") as handle:
        value = handle[LAYOUT_KEY].attrs["reference_itrs_x"]
        handle[LAYOUT_KEY].attrs["reference_itrs_x"] = np.array([value])


def _one_more_table(path: Path) -> None:
    with h5py.File(path, "r+") as handle:
        handle.create_dataset(f"{INSTRUMENT}/extra", data=np.zeros(3, dtype=[("a", "<i8")]),
                              chunks=(3,))


@pytest.mark.parametrize("change", [_other_focal_length, _other_attribute,
                                    _other_attribute_shape, _one_more_table])
def test_a_file_storing_another_subarray_is_decoded(good, tmp_path, change):
    paths = _copies(good, tmp_path)
    change(paths[1])
    first, (second, decoded), (third, _) = (_read(p) for p in paths)
    assert second.tables is not first[0].tables
    _assert_same(second, decoded)
    assert third.tables is not second.tables  # the last decoded is the one kept
    _assert_same(third, _read(paths[2])[1])


def test_an_old_file_warns_each_time(good, tmp_path, caplog):
    paths = _copies(good, tmp_path, 2)
    for path in paths:
        remove_node(path, f"{INSTRUMENT}/subarray")
    for path in paths:
        caplog.clear()
        with caplog.at_level(logging.WARNING), open_hdf5(path) as handle:
            assert stored_subarray(handle) is None
            reused_lst_subarray(handle)
        assert [r.getMessage() for r in caplog.records] == [
            f"{path}: no usable SubarrayDescription (lstchain < 0.10?); using the default LST-1"]


def test_an_attribute_dropped_when_decoded_warns_each_time(good, tmp_path, caplog):
    paths = _copies(good, tmp_path, 2)
    for path in paths:
        with h5py.File(path, "r+") as handle:
            handle[LAYOUT_KEY].attrs["pickled"] = np.bytes_(b"cos\nsystem\n.")
    for path in paths:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            reused, decoded = _read(path)
        _assert_same(reused, decoded)
        assert "pickled" not in reused.attrs[LAYOUT_KEY]
        assert sum("attribute pickled" in r.getMessage() for r in caplog.records) == 2


def test_variable_length_attributes_are_not_compared_as_stored(good, tmp_path):
    paths = _copies(good, tmp_path, 2)
    for path in paths:
        with h5py.File(path, "r+") as handle:
            handle[LAYOUT_KEY].attrs["note"] = "variable length"
    with open_hdf5(paths[0]) as handle:
        assert stored_subarray(handle) is None
    first, second = (_read(p) for p in paths)
    assert second[0].tables is not first[0].tables
    _assert_same(*second)
