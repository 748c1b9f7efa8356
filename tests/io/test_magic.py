"""io/magic: the MAGIC files of a directory and the reference's arrangement of their events
(magic-cta-pipe's loader restated with pandas, on real-format files damaged as real data can
be), the timestamp policy, the telescope check."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pandas as pd
import polars as pl
import pytest

from lmcoinc.errors import InvalidFileError
from lmcoinc.io.hdf5 import to_polars
from lmcoinc.io.magic import (
    MAGIC_INDEX,
    MAGIC_PARAMETERS_KEY,
    REQUIRED_COLUMNS,
    arrange_magic,
    arrange_rows,
    check_same_columns,
    check_tel_ids,
    find_magic_files,
    invalid_magic_times,
    invalid_times,
    iter_magic_files,
    prepare_magic,
    read_magic_file,
    read_magic_rows,
    read_magic_table,
)

from ..helpers.badinputs import MAGIC_FILTERS, drop_column, modify_column
from ..helpers.magicfiles import damaged_copy, magic_table


def reference_magic(directory) -> pd.DataFrame:
    """magic-cta-pipe 0.6.2's load_magic_dl1_data_files, its pandas steps (subarrays aside)."""
    data_list = []
    for input_file in sorted(str(p) for p in directory.glob("dl1_*.h5")):
        try:
            df_events = pd.read_hdf(input_file, key="events/parameters")
        except KeyError:
            continue
        data_list.append(df_events)
    event_data = pd.concat(data_list)
    event_data.drop_duplicates(subset=["obs_id", "event_id", "tel_id"], keep=False,
                               inplace=True)
    event_data.rename(columns={"obs_id": "obs_id_magic", "event_id": "event_id_magic"},
                      inplace=True)
    event_data.set_index(["obs_id_magic", "event_id_magic", "tel_id"], inplace=True)
    event_data.sort_index(inplace=True)
    return event_data.reset_index()


@pytest.fixture(scope="module")
def damaged(magic_subruns, tmp_path_factory):
    target = tmp_path_factory.mktemp("magic") / "magic"
    damaged_copy(magic_subruns.magic_dir, target)
    return target


def _all_rows(directory) -> pl.DataFrame:
    return pl.concat([f.frame for f in iter_magic_files(directory)], how="vertical_relaxed")


@pytest.mark.parametrize("which", ["as simulated", "damaged"])
def test_prepare_magic_as_the_reference(magic_subruns, damaged, which):
    directory = magic_subruns.magic_dir if which == "as simulated" else damaged
    raw = _all_rows(directory)
    got, want = prepare_magic(raw).to_pandas(), reference_magic(directory)
    assert list(got.columns) == list(want.columns)
    assert list(got.columns[:3]) == list(MAGIC_INDEX)
    assert len(got) == len(want) == raw.height - (0 if which == "as simulated" else 4)
    for column in want.columns:
        np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy(),
                                      err_msg=column)


def test_files_in_name_order_and_a_file_without_table_skipped(damaged, caplog):
    files = find_magic_files(damaged)
    assert [p.name for p in files] == sorted(p.name for p in damaged.glob("dl1_*.h5"))
    assert len(files) == 6
    with caplog.at_level(logging.WARNING, logger="lmcoinc.io.magic"):
        found = list(iter_magic_files(damaged))
    assert [f.path for f in found] == files[:-1]
    assert [r.getMessage() for r in caplog.records] == [
        f"File {files[-1]} has no {MAGIC_PARAMETERS_KEY} table, skipping"]
    for magic_file in found:
        table = magic_table(magic_file.path)
        assert magic_file.names == table.dtype.names
        assert magic_file.frame.columns == list(table.dtype.names)
        np.testing.assert_array_equal(magic_file.frame["event_id"].to_numpy(), table["event_id"])
    # the first file's subarray is decoded, the others' kept as stored to be compared
    assert found[0].subarray.raw is not None
    assert all(f.subarray.raw is None and f.subarray.stored for f in found[1:])


def test_some_columns_of_a_file(magic_subruns):
    path = magic_subruns.magic_files[0]
    wanted = ["no_such_column", *REQUIRED_COLUMNS[::-1], "time_diff"]
    found = read_magic_file(path, columns=wanted)
    assert found.frame.columns == [*REQUIRED_COLUMNS[::-1], "time_diff"]
    assert list(found.schema) == list(magic_table(path).dtype.names)
    rows = np.array([0, 3, 4, 10])
    part = read_magic_rows(path, rows, ["event_id", "intensity"])
    assert part["intensity"].to_list() == magic_table(path)["intensity"][rows].tolist()
    assert read_magic_rows(path, slice(2, 5)).columns == list(found.schema)


@pytest.mark.parametrize("kind", ["missing", "a file", "empty", "other files"])
def test_directory_errors(tmp_path, kind):
    where = tmp_path / "magic"
    problem = {"missing": "MAGIC directory not found", "a file": "not a directory"}.get(
        kind, "no MAGIC DL1 files (dl1_*.h5)")
    if kind == "a file":
        where.write_text("")
    elif kind != "missing":
        where.mkdir()
        if kind == "other files":
            (where / "M1.Run05093711.001.h5").write_bytes(b"")
            (where / "dl1_M1.txt").write_text("")
    with pytest.raises(InvalidFileError) as err:
        find_magic_files(where)
    assert (err.value.path, err.value.problem) == (where, problem)


def test_file_errors(magic_subruns, tmp_path):
    first, second = magic_subruns.magic_files[:2]
    path = tmp_path / second.name
    shutil.copy(second, path)
    drop_column(path, MAGIC_PARAMETERS_KEY, "length", MAGIC_FILTERS)
    names = tuple(magic_table(first).dtype.names)
    assert read_magic_file(path) is not None  # alone, its own columns are fine
    with pytest.raises(InvalidFileError) as err:
        read_magic_file(path, first=(first, names))
    assert str(err.value) == f"{path}: columns differ from those of {first}"
    drop_column(path, MAGIC_PARAMETERS_KEY, "time_nanosec", MAGIC_FILTERS)
    with pytest.raises(InvalidFileError) as err:
        read_magic_file(path)
    assert err.value.problem == f"{MAGIC_PARAMETERS_KEY} lacks column(s) time_nanosec"
    assert check_same_columns(first, names, None) == (first, names)
    assert check_same_columns(path, names, (first, names)) == (first, names)
    assert set(REQUIRED_COLUMNS) <= set(names)


def test_invalid_times_dropped_with_a_warning(magic_subruns, tmp_path, caplog):
    path = tmp_path / magic_subruns.magic_files[0].name
    shutil.copy(magic_subruns.magic_files[0], path)

    def bad_sec(sec):
        sec[[1, 4]] = [0, -3]

    def bad_nsec(nsec):
        nsec[[2, 4]] = [1_000_000_000, -1]

    modify_column(path, MAGIC_PARAMETERS_KEY, "time_sec", bad_sec)
    modify_column(path, MAGIC_PARAMETERS_KEY, "time_nanosec", bad_nsec)
    with caplog.at_level(logging.WARNING, logger="lmcoinc.io.magic"):
        found = read_magic_file(path)
    n = found.frame.height
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: 3 of {n} events have an invalid time (time_sec <= 0 or time_nanosec outside "
        "0..999999999); dropped"]
    assert invalid_magic_times(found.frame).arg_true().to_list() == [1, 2, 4]
    assert prepare_magic(found.frame).height == n - 3
    modify_column(path, MAGIC_PARAMETERS_KEY, "time_sec", lambda sec: sec.fill(0))
    with pytest.raises(InvalidFileError) as err:
        read_magic_file(path)
    assert err.value.problem == (f"all {n} events have an invalid time (time_sec <= 0 or "
                                 "time_nanosec outside 0..999999999)")


def test_backward_times_kept_with_a_warning(magic_subruns, tmp_path, caplog):
    path = tmp_path / magic_subruns.magic_files[0].name
    shutil.copy(magic_subruns.magic_files[0], path)

    def swap(sec):
        sec[[10, 11]] = sec[[10, 11]][::-1] + [1, 0]  # a second forward, then back

    modify_column(path, MAGIC_PARAMETERS_KEY, "time_sec", swap)
    with caplog.at_level(logging.WARNING, logger="lmcoinc.io.magic"):
        found = read_magic_file(path)
    assert found.frame.height == len(magic_table(path))
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: time goes backwards at 1 events (in event-id order); kept"]


def test_invalid_magic_times_of_each_type():
    frame = pl.DataFrame({"time_sec": [1.0, 0.0, 1.0, np.nan, 1.0, None, 1.0],
                          "time_nanosec": [0, 5, -1, 5, 999_999_999, 5, None]})
    assert invalid_magic_times(frame).to_list() == [False, True, True, True, False, True, True]


def test_invalid_times_of_numpy_columns_as_of_a_frame():
    sec = np.array([1.0, 0.0, 1.0, np.nan, 1.0, -np.inf, 2.0])
    nsec = np.array([0, 5, -1, 5, 999_999_999, 5, 1_000_000_000])
    frame = pl.DataFrame({"time_sec": sec, "time_nanosec": nsec})
    assert invalid_times(sec, nsec).tolist() == invalid_magic_times(frame).to_list()
    assert invalid_times(sec, nsec).tolist() == [False, True, True, True, False, True, True]


def test_read_magic_table_is_what_read_magic_file_reads(magic_subruns):
    path = magic_subruns.magic_files[0]
    table, found = read_magic_table(path), read_magic_file(path)
    assert to_polars(table.rows).equals(found.frame)
    assert table.schema == found.schema and table.names == found.names
    wanted = ["time_diff", *REQUIRED_COLUMNS]
    part = read_magic_table(path, columns=wanted)
    assert part.rows.dtype.names == tuple(wanted) and part.schema == found.schema
    assert to_polars(part.rows).equals(found.frame.select(wanted))


@pytest.mark.parametrize("columns", [None, ("obs_id", "event_id", "tel_id"),
                                     ("intensity", "tel_id", "event_id")])
def test_arrange_rows_is_arrange_magic_of_the_frame(magic_subruns, columns):
    rows = read_magic_table(magic_subruns.magic_files[0]).rows
    n = len(rows)
    for take in (None, np.arange(n)[::-1], np.array([3, 0, 7]), np.array([], dtype=np.int64)):
        frame = to_polars(rows, columns)
        expected = arrange_magic(frame if take is None else frame[take])
        ours = arrange_rows(rows, take, columns)
        assert ours.equals(expected) and ours.schema == expected.schema


def test_arrange_rows_of_every_column_kind():
    rows = np.zeros(4, [("event_id", "<i8"), ("flag", "?"), ("tel_id", "<u2"), ("x", "<f4"),
                        ("obs_id", "<u8"), ("name", "S3"), ("pixels", "?", (3,))])
    rows["event_id"], rows["flag"], rows["name"] = [4, 3, 2, 1], [1, 0, 1, 0], b"ab"
    rows["pixels"][:, 1] = True
    for columns in (None, ["obs_id", "flag", "x", "tel_id", "event_id"]):  # polars' numpy too
        expected = arrange_magic(to_polars(rows, columns)[[3, 1]])
        ours = arrange_rows(rows, np.array([3, 1]), columns)
        assert ours.equals(expected) and ours.schema == expected.schema


def test_check_tel_ids():
    check_tel_ids([2, 3], [1, 2, 3], "magic")
    check_tel_ids([], [1, 2, 3], "magic")
    with pytest.raises(InvalidFileError) as err:
        check_tel_ids([5, 2, 4], {1: "LST-1", 2: "MAGIC-I"}, "in/magic")
    assert str(err.value) == "in/magic: MAGIC tel_id [4, 5] not in the config's mc_tel_ids"


def test_arrange_magic():
    frame = pl.DataFrame({"intensity": [1.0, 2.0], "tel_id": [3, 2], "event_id": [7, 6],
                          "obs_id": [1, 1]})
    out = arrange_magic(frame)
    assert out.columns == ["obs_id_magic", "event_id_magic", "tel_id", "intensity"]
    assert out.rows() == [(1, 7, 3, 1.0), (1, 6, 2, 2.0)]  # rows kept in their order
