"""io/subarray_writer: the output subarray "LST-MAGIC-Array", written without ctapipe, read back
with ctapipe as what the reference writes (magic-cta-pipe 0.6.2) and stored as ctapipe stores it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.lib import recfunctions as rfn

from lmcoinc.errors import InvalidFileError
from lmcoinc.instrument import telescope_positions
from lmcoinc.io import subarray_writer
from lmcoinc.io.hdf5_image import HDF5Image
from lmcoinc.io.subarray import (
    LAYOUT,
    OPTICS,
    check_same_subarrays,
    lst_subarray,
    read_raw_subarray,
)
from lmcoinc.io.subarray_writer import OUTPUT_SUBARRAY_NAME, write_subarray

from ..helpers.badinputs import lst_file
from ..helpers.subarrays import (
    DEFAULT_TEL_IDS,
    assert_same_attrs,
    assert_same_tables,
    assert_written_as_reference,
    magic_files,
    reference_subarray,
)


@pytest.mark.parametrize("magic_ii", [3, 0])
def test_write_subarray_as_the_reference(good, tmp_path, magic_ii):
    from ctapipe.instrument import SubarrayDescription

    tel_ids = {**DEFAULT_TEL_IDS, "MAGIC-II": magic_ii}
    out = tmp_path / "out.h5"
    write_subarray(out, lst_subarray(lst_file(good)), check_same_subarrays(magic_files(good)),
                   tel_ids)
    lst = SubarrayDescription.from_hdf(lst_file(good))
    expected = reference_subarray(lst.tel[1], SubarrayDescription.from_hdf(magic_files(good)[0]),
                                  tel_ids)
    assert sorted(expected.tel) == ([1, 2, 3] if magic_ii else [1, 2])
    assert_written_as_reference(out, expected, tmp_path)


def test_write_subarray_telescope_not_described(good, tmp_path):
    lst = lst_subarray(lst_file(good))
    tel_ids = {**DEFAULT_TEL_IDS, "LST-2": 4}
    with pytest.raises(InvalidFileError) as err:
        write_subarray(tmp_path / "out.h5", lst, check_same_subarrays(magic_files(good)), tel_ids)
    assert err.value.path == lst_file(good)
    assert err.value.problem == "subarray has no telescope 4 (LST-2)"


def test_write_subarray_into_an_image_as_into_a_file(good, tmp_path):
    """The pipeline writes into the in-memory HDF5 output: the same tables and attributes."""
    lst, magic = lst_subarray(lst_file(good)), check_same_subarrays(magic_files(good))
    write_subarray(tmp_path / "file.h5", lst, magic, DEFAULT_TEL_IDS)
    with HDF5Image(tmp_path / "image.h5") as image:
        write_subarray(image, lst, magic, DEFAULT_TEL_IDS)
        assert not (tmp_path / "image.h5").exists()
        image.save()
    ours, theirs = read_raw_subarray(tmp_path / "image.h5"), read_raw_subarray(tmp_path / "file.h5")
    assert_same_tables(ours.tables, theirs.tables)
    assert_same_attrs(ours.attrs, theirs.attrs)
    assert ours.attrs[LAYOUT]["name"] == OUTPUT_SUBARRAY_NAME


def test_write_subarray_optics_of_another_format(good, tmp_path):
    """LST-1 and MAGIC optics tables with other columns cannot be put in one table."""
    lst, magic = lst_subarray(lst_file(good)), check_same_subarrays(magic_files(good))
    names = magic.tables[OPTICS].dtype.names
    other = dataclasses.replace(magic, tables={
        **magic.tables, OPTICS: rfn.repack_fields(magic.tables[OPTICS][list(names[:-1])])})
    with pytest.raises(InvalidFileError) as err:
        write_subarray(tmp_path / "out.h5", lst, other, DEFAULT_TEL_IDS)
    assert err.value.path == lst.path
    assert err.value.problem == (
        f"the columns of {OPTICS} differ from those of {magic.path} (another ctapipe version, "
        "or a damaged file)")
    assert not (tmp_path / "out.h5").exists()


def test_software_version_without_ctapipe(good, tmp_path, monkeypatch):
    """The tables written anew say the installed ctapipe's version (what it would write), or
    without ctapipe the version that wrote the LST-1 file."""
    from importlib.metadata import version

    def missing(name):
        raise subarray_writer.PackageNotFoundError(name)

    lst, magic = lst_subarray(lst_file(good)), check_same_subarrays(magic_files(good))
    lst = dataclasses.replace(lst, attrs={**lst.attrs, LAYOUT: {**lst.attrs[LAYOUT],
                                                                "SOFT_VER": "0.17.0"}})
    for found, want in [(version, version("ctapipe")), (missing, "0.17.0")]:
        monkeypatch.setattr(subarray_writer, "version", found)
        monkeypatch.setattr(subarray_writer, "_TEMPLATES", {})  # written anew, not copied
        subarray_writer._installed_ctapipe.cache_clear()  # the version found once a process
        out = tmp_path / f"{want}.h5"
        write_subarray(out, lst, magic, DEFAULT_TEL_IDS)
        written = read_raw_subarray(out)
        assert [written.attrs[key]["SOFT_VER"] for key in (LAYOUT, OPTICS)] == [want] * 2
    subarray_writer._installed_ctapipe.cache_clear()
    # the positions are those of the telescopes in use relative to their mean
    layout = written.tables[LAYOUT]
    positions = telescope_positions(DEFAULT_TEL_IDS)
    assert layout["tel_id"].tolist() == [1, 2, 3]
    for row in layout:
        assert [row["pos_x"], row["pos_y"], row["pos_z"]] == positions[row["tel_id"]].tolist()


def test_write_subarray_into_images_is_a_copy_of_one_written_once(good, tmp_path,
                                                                   monkeypatch):
    """Into an output built in memory, the subarray is copied from an image written once per
    process for the same inputs: the same nodes, data and attributes as written directly."""
    from ..helpers.compare import hdf5_contents

    monkeypatch.setattr(subarray_writer, "_TEMPLATES", {})
    lst, magic = lst_subarray(lst_file(good)), check_same_subarrays(magic_files(good))
    direct = tmp_path / "direct.h5"
    write_subarray(direct, lst, magic, DEFAULT_TEL_IDS)
    written = []
    real = subarray_writer._write_subarray
    monkeypatch.setattr(subarray_writer, "_write_subarray",
                        lambda *args: written.append(1) or real(*args))
    for name, tel_ids in [("a", DEFAULT_TEL_IDS), ("b", DEFAULT_TEL_IDS),
                          ("c", {**DEFAULT_TEL_IDS, "MAGIC-II": 0})]:
        with HDF5Image(tmp_path / f"{name}.h5") as image:
            image.handle().create_group("/", "events")  # the output's own nodes
            write_subarray(image, lst_subarray(lst_file(good)), magic, tel_ids)
            image.save()
    assert len(written) == 2  # a and b share their inputs; c has others
    contents = hdf5_contents(tmp_path / "a.h5")
    assert "events" in contents
    assert {k: v for k, v in contents.items() if k.startswith("configuration")} == {
        k: v for k, v in hdf5_contents(direct).items() if k.startswith("configuration")}
    assert hdf5_contents(tmp_path / "b.h5") == contents
    assert hdf5_contents(tmp_path / "c.h5") != contents


def test_the_fingerprint_follows_every_table_byte_and_attribute(good):
    """Subarrays read twice share a fingerprint; a changed table byte, attribute value or
    attribute type (the same number as another numpy type) gives another."""
    import copy

    from lmcoinc.io.subarray import LAYOUT, OPTICS

    lst, magic = lst_subarray(lst_file(good)), check_same_subarrays(magic_files(good))
    key = subarray_writer._fingerprint([lst, magic], DEFAULT_TEL_IDS)
    assert subarray_writer._fingerprint(
        [lst_subarray(lst_file(good)), magic], DEFAULT_TEL_IDS) == key
    changed = []
    for change in ("table", "value", "type"):
        other = copy.deepcopy(lst)
        if change == "table":
            other.tables[OPTICS] = other.tables[OPTICS].copy()
            other.tables[OPTICS].view(np.uint8)[-1] ^= 1
        else:
            name = next(n for n, v in other.attrs[LAYOUT].items() if isinstance(v, np.floating))
            value = other.attrs[LAYOUT][name]
            other.attrs[LAYOUT][name] = (value + 1 if change == "value"
                                         else np.float32(value) if value.dtype == np.float64
                                         else np.float64(value))
        changed.append(subarray_writer._fingerprint([other, magic], DEFAULT_TEL_IDS))
    assert len({key, *changed}) == 4


def test_the_fingerprint_is_computed_again_unless_the_inputs_are_the_same_objects(
        good, monkeypatch):
    """A subarray reused by this process (the same tables and attributes, another path) keeps
    the last fingerprint; subarrays read again, or other telescopes, are fingerprinted."""
    monkeypatch.setattr(subarray_writer, "_LAST_KEY", [])
    computed = []
    real = subarray_writer._fingerprint
    monkeypatch.setattr(subarray_writer, "_fingerprint",
                        lambda *args: computed.append(1) or real(*args))
    lst, magic = lst_subarray(lst_file(good)), check_same_subarrays(magic_files(good))
    key = subarray_writer._key(lst, magic, DEFAULT_TEL_IDS)
    moved = dataclasses.replace(lst, path=lst.path.with_name("other.h5"))
    assert subarray_writer._key(moved, magic, dict(DEFAULT_TEL_IDS)) == key
    assert len(computed) == 1
    assert subarray_writer._key(lst_subarray(lst_file(good)), magic, DEFAULT_TEL_IDS) == key
    assert len(computed) == 2
    fewer = {**DEFAULT_TEL_IDS, "MAGIC-II": 0}
    assert subarray_writer._key(lst, magic, fewer) != key
    assert len(computed) == 3
