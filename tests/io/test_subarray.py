"""io/subarray: subarray tables read as PyTables reads them and compared; the default LST-1 of
old files (the output subarray: tests/io/test_subarray_writer.py)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import h5py
import pytest
import tables

from lmcoinc.errors import InvalidFileError
from lmcoinc.io.subarray import (
    check_same_subarrays,
    default_lst_subarray,
    file_subarray,
    lst_subarray,
    read_raw_subarray,
)
from lmcoinc.io.subarray_writer import write_subarray
from lmcoinc.simulate import SimulationConfig, simulate

from ..helpers.badinputs import LAYOUT_KEY, lst_file, modify_column, remove_node
from ..helpers.cases import case_config, reference_python, run_lmcoinc, run_reference
from ..helpers.compare import differences
from ..helpers.subarrays import (
    DEFAULT_TEL_IDS,
    INSTRUMENT,
    OPTICS_KEY,
    assert_same_attrs,
    assert_same_tables,
    assert_written_as_reference,
    magic_files,
    reference_subarray,
)


def pytables_subarray(path: Path) -> tuple[dict, dict]:
    """Tables and user attributes under /configuration/instrument, as PyTables reads them."""
    data, attrs = {}, {}
    with tables.open_file(str(path)) as handle:
        for node in handle.walk_nodes(INSTRUMENT, "Table"):
            key = node._v_pathname
            data[key] = node.read()
            attrs[key] = {k: node._v_attrs[k] for k in node._v_attrs._f_list("user")}
    return data, attrs


# --- reading and comparing ------------------------------------------------------


def test_read_raw_subarray_equals_pytables(good):
    for path, n_cameras in [(lst_file(good), 1), *((p, 2) for p in magic_files(good))]:
        raw = read_raw_subarray(path)
        data, attrs = pytables_subarray(path)
        assert len(data) == 2 + 2 * n_cameras  # layout, optics, geometry and readout
        assert raw.path == path
        assert_same_tables(raw.tables, data)
        assert_same_attrs(raw.attrs, attrs)


def test_read_raw_subarray_without_layout_or_optics(good, tmp_path):
    path = tmp_path / "lst.h5"
    shutil.copy(lst_file(good), path)
    remove_node(path, OPTICS_KEY)
    with pytest.raises(InvalidFileError) as err:
        read_raw_subarray(path)
    assert err.value.path == path
    assert err.value.problem == f"subarray description without {OPTICS_KEY}"
    remove_node(path, INSTRUMENT)
    assert read_raw_subarray(path) is None


def four_magic_files(good: Path, work: Path) -> list[Path]:
    """The MAGIC files of ``good`` and a copy of each as a second subrun, in ``work/magic``."""
    shutil.copytree(good / "magic", work / "magic")
    for path in magic_files(work):
        shutil.copy(path, path.with_name(path.name.replace(".001.", ".002.")))
    return magic_files(work)


def recompress(path: Path) -> None:
    """Rewrite the subarray tables of a file with zlib instead of blosc:zstd, same content."""
    filters = tables.Filters(complevel=1, complib="zlib", fletcher32=True)
    with tables.open_file(str(path), "a") as handle:
        for node in list(handle.walk_nodes(INSTRUMENT, "Table")):
            name = node._v_name
            copy = node.copy(node._v_parent, f"{name}_new", filters=filters)
            node.remove()
            copy.move(newname=name)


def test_check_same_subarrays_accepts_identical_files(good, tmp_path):
    files = four_magic_files(good, tmp_path)
    assert len(files) == 4
    found = check_same_subarrays(files)
    first = read_raw_subarray(files[0])
    assert_same_tables(found.tables, first.tables)
    # the same subarray stored differently (other compression) is still the same
    repacked = tmp_path / "repacked.h5"
    shutil.copy(files[-1], repacked)
    recompress(repacked)
    geometry = f"{INSTRUMENT}/telescope/camera/geometry_1"
    with h5py.File(files[-1]) as a, h5py.File(repacked) as b:
        stored = [f[geometry].id.read_direct_chunk((0,))[1] for f in (a, b)]
    assert stored[0] != stored[1]
    check_same_subarrays([*files[:-1], repacked])


def _differing_copy(good: Path, work: Path, change) -> tuple[list[Path], Path]:
    files = four_magic_files(good, work)
    change(files[2])
    return files, files[2]


def _move_telescope(path: Path) -> None:
    def move(x):
        x[1] += 0.01

    modify_column(path, LAYOUT_KEY, "pos_x", move)


def _rename_subarray(path: Path) -> None:
    with tables.open_file(str(path), "a") as handle:
        handle.get_node(LAYOUT_KEY)._v_attrs["name"] = "Another-Array"


def _other_focal_length(path: Path) -> None:
    modify_column(path, OPTICS_KEY, "equivalent_focal_length", lambda f: f.__iadd__(1.0))


@pytest.mark.parametrize("change", [_move_telescope, _rename_subarray, _other_focal_length])
def test_check_same_subarrays_rejects_a_different_one(good, tmp_path, change):
    files, bad = _differing_copy(good, tmp_path, change)
    with pytest.raises(InvalidFileError) as err:
        check_same_subarrays(files)
    assert err.value.path == bad
    assert str(err.value) == f"{bad}: subarray differs from that of {files[0]}"


def test_check_same_subarrays_first_without_subarray(good, tmp_path):
    shutil.copytree(good / "magic", tmp_path / "magic")
    files = magic_files(tmp_path)
    remove_node(files[0], INSTRUMENT)
    with pytest.raises(InvalidFileError) as err:
        check_same_subarrays(files)
    assert err.value.path == files[0] and err.value.problem == "no subarray description"


def _stored(path: Path) -> tuple | None:
    with h5py.File(path) as handle:
        return file_subarray(handle).stored


@pytest.mark.parametrize("change", [_move_telescope, _rename_subarray, _other_focal_length])
def test_stored_subarrays_equal_for_copies_not_for_changes(good, tmp_path, change):
    files, bad = _differing_copy(good, tmp_path, change)
    first = _stored(files[0])
    tables_, _ = first
    assert len(tables_) == 6  # layout, optics, and two cameras' geometry and readout
    assert _stored(files[1]) == first and _stored(bad) != first
    remove_node(bad, LAYOUT_KEY)
    assert _stored(bad) is None  # then decoded by check_same_subarrays


def test_stored_subarrays_of_contiguous_datasets(good, tmp_path):
    files = four_magic_files(good, tmp_path)
    for path, value in zip(files[:3], (1, 1, 2), strict=True):
        with h5py.File(path, "a") as handle:
            handle[f"{INSTRUMENT}/telescope/extra"] = [value, 0]  # not chunked
    stored = [_stored(path) for path in files]
    assert stored[0] == stored[1] != stored[2]
    assert stored[3] != stored[0] and len(stored[0][0]) == len(stored[3][0]) + 1


# --- LST-1 files of lstchain < 0.10 ---------------------------------------------------


@pytest.fixture(scope="module")
def old_lst(tmp_path_factory):
    """A subrun whose LST-1 file has the obsolete subarray of lstchain < 0.10."""
    config = SimulationConfig(duration_s=0.5, seed=31, lst_subarray=False)
    return simulate(tmp_path_factory.mktemp("old_lst"), config)


def test_lst_subarray_of_a_recent_file(good, caplog):
    with caplog.at_level(logging.WARNING):
        found = lst_subarray(lst_file(good))
    assert_same_tables(found.tables, read_raw_subarray(lst_file(good)).tables)
    assert not caplog.records


def test_lst_subarray_of_an_old_file_is_the_default(old_lst, tmp_path, caplog):
    raw = read_raw_subarray(old_lst.lst_file)
    assert "camera_index" not in raw.tables[LAYOUT_KEY].dtype.names  # layout version 1.0
    default = default_lst_subarray()
    for path in [old_lst.lst_file, tmp_path / "no_subarray.h5"]:
        if not path.exists():
            shutil.copy(old_lst.lst_file, path)
            remove_node(path, f"{INSTRUMENT}/subarray")
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            found = lst_subarray(path)
        assert_same_tables(found.tables, default.tables)
        assert [r.getMessage() for r in caplog.records] == [
            f"{path}: no usable SubarrayDescription (lstchain < 0.10?); using the default LST-1"
        ]


def test_default_lst1_is_ctapipe_io_lst(old_lst, tmp_path):
    from ctapipe.instrument import SubarrayDescription
    from ctapipe_io_lst import LSTEventSource

    out = tmp_path / "out.h5"
    write_subarray(out, lst_subarray(old_lst.lst_file), check_same_subarrays(old_lst.magic_files),
                   DEFAULT_TEL_IDS)
    lst1 = LSTEventSource.create_subarray(tel_id=1).tel[1]
    assert SubarrayDescription.from_hdf(out).tel[1] == lst1
    magic = SubarrayDescription.from_hdf(old_lst.magic_files[0])
    assert_written_as_reference(out, reference_subarray(lst1, magic, DEFAULT_TEL_IDS), tmp_path)


@pytest.mark.reference
def test_old_lst_file_identical_to_live_reference(old_lst, tmp_path):
    """magic-cta-pipe 0.6.2 takes ctapipe_io_lst's default LST-1 for such a file, as lmcoinc."""
    import yaml

    python = reference_python()
    if python is None:
        pytest.skip("no reference venv (LMCOINC_REFERENCE_PYTHON)")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(case_config({}), sort_keys=False))
    ref = run_reference(python, old_lst.lst_file, old_lst.magic_dir, tmp_path / "ref", config)
    ours = run_lmcoinc(old_lst.lst_file, old_lst.magic_dir, tmp_path / "ours", config)
    assert ref.returncode == 0, ref.stderr[-2000:]
    assert ours.returncode == 0, ours.stderr[-2000:]
    assert "using the default LST-1" in ours.stderr
    [mine] = sorted((tmp_path / "ours").glob("*.h5"))
    [theirs] = sorted((tmp_path / "ref").glob("*.h5"))
    assert mine.name == theirs.name
    assert differences(mine, theirs) == []
    assert_same_tables(read_raw_subarray(mine).tables, read_raw_subarray(theirs).tables)
