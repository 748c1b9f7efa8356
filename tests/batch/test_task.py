"""One task of a batch: a subrun's coincidence as a summary row, never an exception."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from lmcoinc.batch.cache import build_magic_cache
from lmcoinc.batch.discovery import subrun_ids
from lmcoinc.batch.records import fingerprint
from lmcoinc.batch.summary import summary_schema
from lmcoinc.batch.task import SubrunTask, empty_row, failed_row, previous_row, run_task
from lmcoinc.config import load_config
from lmcoinc.io.dataset import partition_file
from lmcoinc.pairing import Priors

from ..helpers.badinputs import truncate

CONFIG = load_config(None)


@pytest.fixture(scope="module")
def cache(night, tmp_path_factory):
    """The batch's MAGIC cache of the test night."""
    return build_magic_cache(night.magic_dir, tmp_path_factory.mktemp("cache"), CONFIG.tel_names)


def _task(lst_file: Path, out: Path, magic, **more) -> SubrunTask:
    obs_id, subrun = subrun_ids(lst_file)
    return SubrunTask(index=5, lst_file=lst_file, obs_id=obs_id, subrun=subrun, output_dir=out,
                      config=CONFIG, fingerprint="inputs", magic=magic, **more)


def test_ok_row_and_its_record(night, cache, tmp_path):
    priors = Priors(history_fallback=True, night_offsets_ns={2: -3200, 3: -3150})
    task = _task(night.lst_files[0], tmp_path, cache, priors=priors)
    row = run_task(task)
    assert set(row) == set(summary_schema(CONFIG.magic_tel_ids))
    assert (row["status"], row["exit_code"], row["error"]) == ("ok", 0, None)
    assert (row["lst_file"], row["obs_id"], row["subrun"]) == (task.lst_file.name, 3265, 0)
    assert all(path.is_file() for path in task.outputs(row))
    # the Parquet tables in the subrun's partition of the dataset only
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == [
        "dl1_MAGIC_LST-1.Run03265.0000.h5"]
    feature = pl.read_parquet(partition_file(tmp_path, "feature", 3265, 0))
    assert task.outputs(row)[1:] == [partition_file(tmp_path, table, 3265, 0)
                                     for table in ("events", "feature", "profile")]
    for tel_id in (2, 3):
        found = feature.filter(pl.col("coincidence_id") == 10 + tel_id).row(0, named=True)
        assert row[f"offset_us_tel{tel_id}"] == found["average_offset"]
        assert row[f"n_coincidence_tel{tel_id}"] == found["n_coincidence"]
        assert row[f"n_events_magic_tel{tel_id}"] == found["n_events_magic"]
        assert row[f"fraction_tel{tel_id}"] == found["n_coincidence"] / found["n_events_magic"]
        assert row[f"accidental_tel{tel_id}"] == found["accidental"]
        assert row[f"clock_offset_us_tel{tel_id}"] == pytest.approx(found["clock_offset"])
    assert row["night_offset_us_tel2"] == -3.2 and row["night_offset_us_tel3"] == -3.15
    assert row["effective_time_s"] == feature["effective_time_s"][0]
    assert row["magic_obs_id"] == 5093711 and row["offset_source"] == "local"
    assert row["n_lst_events"] > 1000 and row["seconds"] > 0 and row["max_rss_mb"] > 0
    # complete: a later batch takes the row from the record
    again = previous_row(task)
    assert again == ({**row, "status": "skipped", "seconds": 0.0, "max_rss_mb": None}, None)
    assert previous_row(dataclasses.replace(task, fingerprint="other inputs")) == (None, None)
    # made by another lmcoinc from the same inputs: named, kept only when asked
    old = "0.0.1 (format 1)"
    record = json.loads(task.record.read_text())
    record.update(software=old, fingerprint=fingerprint("inputs", old))
    task.record.write_text(json.dumps(record))
    assert previous_row(task) == (None, old)
    assert previous_row(task, keep_other_versions=True) == (again[0], old)
    task.outputs(row)[-1].unlink()  # a dataset partition removed
    assert previous_row(task, keep_other_versions=True) == (None, None)


def test_no_coincidence_row(night, tmp_path):
    magic = tmp_path / "magic"  # only the last MAGIC subrun: none around the first LST subrun
    magic.mkdir()
    for path in night.magic_files:
        if path.name.endswith(".003.h5"):
            shutil.copy(path, magic)
    late = build_magic_cache(magic, tmp_path / "cache", CONFIG.tel_names)
    task = _task(night.lst_files[0], tmp_path / "out", late)
    row = run_task(task)
    assert (row["status"], row["exit_code"]) == ("no_coincidence", 3)
    assert "no time overlap" in row["error"] and "\n" not in row["error"]
    assert row["n_lst_events"] > 1000 and row["offset_us_tel2"] is None
    assert not list((tmp_path / "out").glob("*.h5"))
    assert previous_row(task)[0]["status"] == "skipped"  # a complete outcome, kept


def test_failed_rows(night, cache, tmp_path):
    broken = tmp_path / night.lst_files[1].name
    shutil.copy(night.lst_files[1], broken)
    truncate(broken)
    task = _task(broken, tmp_path / "out", cache)
    row = run_task(task)
    assert (row["status"], row["exit_code"]) == ("failed", 13)
    assert row["error"].startswith(f"{broken}: ") and "\n" not in row["error"]
    assert previous_row(task) == (None, None)  # a failure is retried
    no_magic = run_task(dataclasses.replace(task, magic=None))  # a bug: still a row
    assert (no_magic["status"], no_magic["exit_code"], no_magic["error"]) == (
        "failed", 1, "internal error: RuntimeError: the task has no MAGIC events")
    file_as_output = tmp_path / "a file"
    file_as_output.write_text("")
    unwritable = run_task(_task(night.lst_files[1], file_as_output, cache))
    assert (unwritable["status"], unwritable["exit_code"]) == ("failed", 15)


def test_empty_and_failed_rows(tmp_path):
    task = SubrunTask(index=7, lst_file=Path("dl1_LST-1.merged.h5"), obs_id=None, subrun=None,
                      output_dir=tmp_path, config=CONFIG, fingerprint="x")
    row = empty_row(task)
    assert row == {**dict.fromkeys(summary_schema(CONFIG.magic_tel_ids)),
                   "lst_file": "dl1_LST-1.merged.h5", "obs_id": None, "subrun": 7}
    failed = failed_row(task, "worker died\n  while writing", exit_code=137)
    assert {k: v for k, v in failed.items() if v is not None} == {
        "lst_file": "dl1_LST-1.merged.h5", "subrun": 7, "status": "failed", "exit_code": 137,
        "error": "worker died while writing", "warnings": []}
