"""io/hdf5_image: an HDF5 output built in memory, nothing on disk before it is saved; the file
saved is the file PyTables writes on disk."""

from __future__ import annotations

import numpy as np
import pytest
import tables

from lmcoinc.io import hdf5_image
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


def _hdf5_objects(path) -> dict[str, tuple]:
    """Every object of an HDF5 file as HDF5 stores it: each attribute's type (encoded),
    dataspace and bytes; each dataset's type, shape, chunks, fill value, filters and bytes."""
    import h5py
    from h5py import h5a, h5s

    def attributes(oid) -> dict:
        found = {}
        for i in range(h5a.get_num_attrs(oid)):
            attr = h5a.open(oid, index=i)
            kind, space = attr.get_type(), attr.get_space()
            data = b""
            if space.get_simple_extent_type() != h5s.NULL:
                value = np.empty(attr.shape, dtype=f"V{kind.get_size()}")
                attr.read(value, mtype=kind)
                data = value.tobytes()
            found[attr.name] = (kind.encode(), space.get_simple_extent_type(), attr.shape, data)
        return found

    out = {}
    with h5py.File(path, "r") as handle:
        out["/"] = attributes(handle.id)

        def visit(name, node):
            out[name] = attributes(node.id)
            if isinstance(node, h5py.Dataset):
                dcpl, kind = node.id.get_create_plist(), node.id.get_type()
                value = np.empty(node.shape, dtype=f"V{kind.get_size()}")
                if node.size:
                    node.id.read(h5s.ALL, h5s.ALL, value, mtype=kind)
                fill = np.zeros(1, dtype=f"V{kind.get_size()}")
                dcpl.get_fill_value(fill)
                filters = [dcpl.get_filter(i)[:3] for i in range(dcpl.get_nfilters())]
                out[name + ":data"] = (kind.encode(), node.shape, node.chunks, fill.tobytes(),
                                       filters, value.tobytes())

        handle.visititems(visit)
    return out


TYPES = np.dtype([("a", np.int64), ("b", np.float32), ("c", np.uint16), ("d", np.bool_),
                  ("e", np.float64)])


def _rows(n: int, start: int = 0, dtype=TYPES) -> np.ndarray:
    rows = np.zeros(n, dtype=dtype)
    for name in dtype.names:
        rows[name] = (np.arange(start, start + n) * 7 % 5).astype(dtype[name])
    return rows


ATTRIBUTES = {"lmcoinc": '{"a": "élan"}', "lmcoinc_version": "0.1", "empty": ""}


def test_tables_and_attributes_are_those_pytables_writes(tmp_path):
    """add_table and set_attributes (rows and attributes written when saved, the table from
    a skeleton made once) give the file that PyTables' create_table and append give, every
    type, attribute, chunk and byte alike; later blocks are cast to the first one's type."""
    blocks = [_rows(5), _rows(0, 5), _rows(300, 5).astype(TYPES.newbyteorder(">"))]
    profile = _rows(2, dtype=np.dtype([("t", np.float64), ("n", np.int64)]))
    with tables.open_file(str(tmp_path / "pytables.h5"), "w") as handle:
        table = handle.create_table("/events", "parameters", obj=blocks[0],
                                    createparents=True)
        for block in blocks[1:]:
            table.append(block.astype(TYPES))
        handle.create_table("/coincidence", "profile", obj=profile, createparents=True)
        handle.create_table("/coincidence", "empty", obj=profile[:0], createparents=True)
        for key, value in ATTRIBUTES.items():
            handle.root._v_attrs[key] = value
    for name in ("first.h5", "second.h5"):  # the second from the first's skeleton
        with HDF5Image(tmp_path / name) as image:
            rows = image.add_table("/events", "parameters", TYPES)
            for block in blocks:
                rows.append(block)
            image.add_table("/coincidence", "profile", profile.dtype).append(profile)
            image.add_table("/coincidence", "empty", profile.dtype).append(profile[:0])
            image.set_attributes(ATTRIBUTES)
            image.save()
    expected = _hdf5_objects(tmp_path / "pytables.h5")
    assert _hdf5_objects(tmp_path / "first.h5") == expected
    assert _hdf5_objects(tmp_path / "second.h5") == expected
    with tables.open_file(str(tmp_path / "second.h5")) as handle:
        assert handle.get_node("/events/parameters").read().tobytes() == np.concatenate(
            [b.astype(TYPES) for b in blocks]).tobytes()


def test_a_skeleton_is_made_once_per_layout(tmp_path, monkeypatch):
    """Outputs of the same tables share a skeleton; other tables make another."""
    monkeypatch.setattr(hdf5_image, "_SKELETONS", {})
    kept = []
    for i, dtype in enumerate([TYPES, TYPES, np.dtype([("a", np.int64)])]):
        with HDF5Image(tmp_path / f"{i}.h5") as image:
            image.add_table("/events", "parameters", dtype).append(_rows(3, dtype=dtype))
            image.save()
        kept.append(list(hdf5_image._SKELETONS.values()))
    assert [len(k) for k in kept] == [1, 1, 2]
    assert kept[1][0] is kept[0][0]
    with tables.open_file(str(tmp_path / "1.h5")) as handle:
        assert handle.get_node("/events/parameters").read().tobytes() == _rows(3).tobytes()


def test_tables_and_groups_with_a_handle(tmp_path):
    """Tables added before the PyTables file is opened are in it (their rows written when
    it is saved); groups added before and after are copied; no table follows the handle."""
    group = _group_image(tmp_path, "configuration")
    other = _group_image(tmp_path, "extra")
    with HDF5Image(tmp_path / "out.h5") as image:
        image.add_table("/events", "parameters", TYPES).append(_rows(4))
        image.add_group(group, "/configuration")
        handle = image.handle()
        assert "/events/parameters" in handle and "/configuration/table" in handle
        handle.create_array("/events", "more", np.arange(3))
        image.add_group(other, "/extra")
        with pytest.raises(ValueError, match="added after the file was opened"):
            image.add_table("/coincidence", "feature", TYPES)
        image.save()
    with tables.open_file(str(tmp_path / "out.h5")) as handle:
        assert handle.get_node("/events/parameters").read().tobytes() == _rows(4).tobytes()
        assert handle.get_node("/events/parameters").attrs.NROWS == 4
        assert handle.get_node("/events/more").read().tolist() == [0, 1, 2]
        assert handle.get_node("/configuration/table").read().tobytes() == DATA.tobytes()
        assert handle.get_node("/extra/table").read().tobytes() == DATA.tobytes()


def _group_image(tmp_path, group: str) -> bytes:
    with HDF5Image(tmp_path / f"{group}.h5") as image:
        image.handle().create_table(f"/{group}", "table", obj=DATA, createparents=True)
        image.handle().flush()
        return image.handle().get_file_image()
