"""The runs of the MAGIC cache: each file read once, its valid events sorted by time;
what the worker processes tell, told in file order."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import polars as pl
import pytest

from lmcoinc.batch.cache_runs import prepare_files
from lmcoinc.batch.workers import WorkerPool
from lmcoinc.errors import InvalidFileError, OutputError
from lmcoinc.io.magic import (
    MAGIC_PARAMETERS_KEY,
    arrange_magic,
    invalid_magic_times,
    read_magic_file,
)
from lmcoinc.io.magic_cache import TIME_COLUMN
from lmcoinc.io.timestamps import magic_ns

from ..helpers.badinputs import MAGIC_FILTERS, drop_column, modify_column, remove_node
from ..helpers.simread import read


@pytest.fixture(scope="module")
def magic_files(night, tmp_path_factory):
    """The night's MAGIC files; the 2nd with 3 invalid times, the 4th without a table."""
    magic = tmp_path_factory.mktemp("magic")
    for path in night.magic_files:
        shutil.copy(path, magic)
    files = sorted(magic.glob("*.h5"))
    modify_column(files[1], MAGIC_PARAMETERS_KEY, "time_sec", lambda t: t.__setitem__(slice(3), 0))
    remove_node(files[3], MAGIC_PARAMETERS_KEY)
    return files


def _prepare_files(files, directory, jobs):
    """prepare_files in this process (jobs 1) or in a pool of ``jobs`` worker processes."""
    if jobs == 1:
        return prepare_files(files, directory)
    with WorkerPool(jobs) as pool:
        return prepare_files(files, directory, pool)


def _prepare(files, directory, jobs, caplog):
    directory.mkdir(exist_ok=True)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmcoinc"):
        prepared = _prepare_files(files, directory, jobs)
    return prepared, [r.getMessage() for r in caplog.records if r.name.startswith("lmcoinc")]


def test_runs_sorted_by_time(magic_files, tmp_path, caplog):
    prepared, told = _prepare(magic_files, tmp_path, 1, caplog)
    assert [p.path for p in prepared] == magic_files[:3] + magic_files[4:]  # 4th: no table
    assert told[0].startswith(f"{magic_files[1]}: 3 of ")
    assert told[1] == f"File {magic_files[3]} has no {MAGIC_PARAMETERS_KEY} table, skipping"
    for found in prepared:
        raw = pl.DataFrame(read(found.path, MAGIC_PARAMETERS_KEY))
        bad = invalid_magic_times(raw)
        run = pl.read_ipc(found.run.path)
        t = run[TIME_COLUMN].to_numpy()
        assert np.all(np.diff(t) >= 0)
        assert (found.run.t_min, found.run.t_max) == (t.min(), t.max())
        valid = arrange_magic(raw.filter(~bad))
        np.testing.assert_array_equal(
            np.sort(t), np.sort(magic_ns(valid["time_sec"], valid["time_nanosec"])))
        assert run.drop(TIME_COLUMN).sort("event_id_magic").equals(
            valid.sort("event_id_magic"), null_equal=True)
        assert found.invalid_ids.rows() == arrange_magic(raw.filter(bad)).select(
            "obs_id_magic", "event_id_magic", "tel_id").rows()
        assert found.runs_of == {(5093711, int(raw["tel_id"][0]))}
        assert found.tel_ids == {int(raw["tel_id"][0])}
        assert found.names == tuple(raw.columns)
    assert prepared[1].invalid_ids.height == 3
    assert [p.invalid_ids.height for p in prepared].count(0) == len(prepared) - 1


def test_workers_give_what_one_process_gives(magic_files, tmp_path, caplog):
    one, told_one = _prepare(magic_files, tmp_path / "one", 1, caplog)
    two, told_two = _prepare(magic_files, tmp_path / "two", 2, caplog)
    assert told_two == told_one  # in file order
    for a, b in zip(one, two, strict=True):
        assert (a.path, a.runs_of, a.tel_ids, a.names) == (b.path, b.runs_of, b.tel_ids, b.names)
        assert a.invalid_ids.equals(b.invalid_ids)
        assert (a.run.t_min, a.run.t_max) == (b.run.t_min, b.run.t_max)
        assert pl.read_ipc(a.run.path).equals(pl.read_ipc(b.run.path), null_equal=True)


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_first_error_in_file_order(night, tmp_path, jobs):
    magic = tmp_path / "magic"
    shutil.copytree(night.magic_dir, magic)
    files = sorted(magic.glob("*.h5"))
    drop_column(files[4], MAGIC_PARAMETERS_KEY, "intensity", MAGIC_FILTERS)
    drop_column(files[2], MAGIC_PARAMETERS_KEY, "time_sec", MAGIC_FILTERS)
    with pytest.raises(InvalidFileError) as err:
        _prepare_files(files, tmp_path, jobs)
    assert str(err.value) == f"{files[2]}: {MAGIC_PARAMETERS_KEY} lacks column(s) time_sec"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_that_cannot_be_written(night, tmp_path, jobs):
    gone = tmp_path / "removed"  # the cache directory, removed meanwhile
    with pytest.raises(OutputError) as err:
        _prepare_files(night.magic_files[:3], gone, jobs)
    assert str(err.value) == (
        f"{gone / 'run-00000.arrow'}: cannot write (no such file or directory)")


def _run_as_polars(path, directory):
    """The cache run of a file written as its polars frame gives it (the rows with a valid
    time, arranged, stably sorted by time, with the time column)."""
    raw = read_magic_file(path, decode_subarray=False).frame
    bad = invalid_magic_times(raw).to_numpy()
    frame = arrange_magic(raw.filter(~bad))
    t = magic_ns(frame["time_sec"].to_numpy(), frame["time_nanosec"].to_numpy())
    order = np.argsort(t, kind="stable")
    out = directory / "polars.arrow"
    frame[order].hstack([pl.Series(TIME_COLUMN, t[order], dtype=pl.Int64)]).write_ipc(
        out, compression="uncompressed")
    return out, arrange_magic(raw.filter(bad).select("obs_id", "event_id", "tel_id")), raw


def test_run_written_from_the_arrays_is_the_polars_one(night, tmp_path):
    path = tmp_path / night.magic_files[0].name
    shutil.copy(night.magic_files[0], path)

    def shuffle(nsec):  # times out of order, a few invalid
        nsec[20:60] = nsec[20:60][::-1].copy()
        nsec[[5, 70]] = -1

    modify_column(path, MAGIC_PARAMETERS_KEY, "time_nanosec", shuffle)
    modify_column(path, MAGIC_PARAMETERS_KEY, "event_id", lambda e: e.__setitem__([8, 9], e[7]))
    (found,) = prepare_files([path], tmp_path)
    expected, invalid_ids, raw = _run_as_polars(path, tmp_path)
    assert np.any(np.diff(raw["time_nanosec"].to_numpy()[10:65]) < 0)  # sorted by the run
    assert found.run.path.read_bytes() == expected.read_bytes()
    assert found.invalid_ids.equals(invalid_ids) and found.invalid_ids.height == 2
    assert found.repeated.rows() == [(int(raw["obs_id"][7]), int(raw["event_id"][7]),
                                      int(raw["tel_id"][7]))]
    assert found.schema == raw.schema and found.names == tuple(raw.columns)
