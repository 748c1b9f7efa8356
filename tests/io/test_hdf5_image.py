"""io/hdf5_image: an HDF5 output built in memory, nothing on disk before it is saved; the file
saved is the file PyTables writes on disk."""

from __future__ import annotations

import numpy as np
import pytest
import tables

from lmcoinc.io.hdf5_image import HDF5Image, open_output

from ..helpers.compare import hdf5_contents

DATA = np.array([(1, 2.5, b"ab"), (2, -1.0, b"c")], dtype=[("a", "<i8"), ("b", "<f8"),
                                                            ("c", "S2")])


def _fill(handle) -> None:
    filters = tables.Filters(complevel=5, complib="blosc:zstd", shuffle=True, fletcher32=True)
    table = handle.create_table("/events", "parameters", obj=DATA, createparents=True,
                                filters=filters)
    table.attrs["unit"] = "m"
    handle.create_table("/coincidence", "feature", obj=DATA[:1], createparents=True)


def test_saved_image_is_the_file_written_on_disk(tmp_path):
    with tables.open_file(str(tmp_path / "disk.h5"), "w") as handle:
        _fill(handle)
    with HDF5Image(tmp_path / "image.h5") as image:
        with open_output(image) as handle:
            _fill(handle)
        assert image.handle() is handle  # the one in-memory file, opened once
        assert not (tmp_path / "image.h5").exists()
        image.save()
    assert hdf5_contents(tmp_path / "image.h5") == hdf5_contents(tmp_path / "disk.h5")
    with tables.open_file(str(tmp_path / "image.h5")) as handle:
        assert handle.get_node("/events/parameters").read().tobytes() == DATA.tobytes()
        assert handle.get_node("/events/parameters").filters.fletcher32


def test_an_image_not_saved_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), HDF5Image(tmp_path / "out.h5") as image:
        _fill(image.handle())
        raise RuntimeError("stopped")
    assert list(tmp_path.iterdir()) == []
    image = HDF5Image(tmp_path / "out.h5")
    _fill(image.handle())
    image.close()
    image.close()  # twice: nothing to free
    assert "/events" not in image.handle()  # opened again: a new empty file
    image.close()
    assert list(tmp_path.iterdir()) == []


def test_save_errors_are_raised(tmp_path):
    image = HDF5Image(tmp_path / "no_such_directory" / "out.h5")
    _fill(image.handle())
    with pytest.raises(FileNotFoundError):
        image.save()
    assert image._handle is None  # the memory is freed all the same


def test_open_output_adds_to_a_file_on_disk(tmp_path):
    path = tmp_path / "out.h5"
    with tables.open_file(str(path), "w") as handle:
        handle.create_table("/", "first", obj=DATA)
    with open_output(path) as handle:
        _fill(handle)
    with tables.open_file(str(path)) as handle:
        assert {n._v_pathname for n in handle.walk_nodes("/", "Table")} == {
            "/first", "/events/parameters", "/coincidence/feature"}
