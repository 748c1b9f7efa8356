"""run_batch: the tasks it builds carry no path relative to the directory it runs in; what it
tells its caller, the leftovers it removes, the night model turned off (identity with run,
resume and failures: tests/integration/test_batch.py)."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from pathlib import Path

import polars as pl
import pytest

from lmcoinc.batch import BatchReporter, run_batch, runner
from lmcoinc.batch.records import STATE_DIR
from lmcoinc.batch.workers import BATCH_MODULES, WorkerPool

from ..helpers.compare import differences


def _paths(value, seen=None) -> list[Path]:
    """Every Path inside a value (dataclasses, mappings, sequences, sets)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, Path):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = list(value)
    else:
        return []
    return [p for child in children for p in _paths(child, seen)]


def test_tasks_carry_absolute_paths_only(night, tmp_path, monkeypatch):
    here = tmp_path / "client"
    here.mkdir()
    monkeypatch.chdir(here)
    submitted = []

    def execute(tasks, *args):
        submitted.extend(tasks)
        return runner_execute(tasks, *args)

    runner_execute = runner.execute
    monkeypatch.setattr(runner, "execute", execute)
    result = runner.run_batch(os.path.relpath(night.lst_dir), os.path.relpath(night.magic_dir),
                              "out", night=False)
    assert result.exit_code == 0
    assert len(submitted) == 3
    paths = [p for task in submitted for p in _paths(task)]
    assert {p.name for p in paths} >= {f.name for f in night.lst_files} | {"out"}
    assert [p for p in paths if not p.is_absolute()] == []
    assert all(".." not in p.parts for p in paths)
    assert result.summary_path == here / "out" / "summary.parquet"


def test_jobs_at_least_one(good, tmp_path):
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        run_batch(good / "lst", good / "magic", tmp_path, jobs=0)


def test_reporter_leftovers_and_no_night_model(good, tmp_path, caplog):
    out = tmp_path / "out"
    leftovers = [out / STATE_DIR / "cache" / "magic-0badcafe" / "run-00000.parquet",
                 out / ".dl1_MAGIC_LST-1.Run03265.0040.h5.0badcafe.tmp"]
    for path in leftovers:  # what a batch killed with SIGKILL leaves: a cache, a temporary
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    told = []
    reporter = BatchReporter(start=lambda *counts: told.append(("start", counts)),
                             done=lambda row: told.append(("done", row["status"])))
    with caplog.at_level(logging.WARNING):
        result = run_batch(good / "lst", good / "magic", out, reporter=reporter, night=False)
    assert f"{out}: removed 2 temporary files left by an interrupted batch" in caplog.messages
    assert not any(path.exists() for path in leftovers)
    assert not (out / STATE_DIR / "cache" / "magic-0badcafe").exists()
    n_magic = len(list((good / "magic").glob("dl1_*.h5")))
    assert told == [("start", (1, 1, n_magic)), ("done", "ok")]
    assert result.exit_code == 0 and result.redone == 0
    assert result.summary_path == out / "summary.parquet"
    assert pl.read_parquet(result.summary_path).equals(result.summary)
    assert result.summary["status"].to_list() == ["ok"]
    assert result.night.height == 0 and pl.read_parquet(out / "night.parquet").height == 0
    assert result.summary["night_offset_us_tel2"].to_list() == [None]
    assert list((out / STATE_DIR / "cache").iterdir()) == []  # the MAGIC cache removed
    # resumed: nothing to process, the reporter is not started
    told.clear()
    again = run_batch(good / "lst", good / "magic", out, reporter=reporter)
    assert told == [] and again.summary["status"].to_list() == ["skipped"]
    assert again.night.height == 2  # the night model of the rows, one level per telescope


def test_workers_started_by_the_caller_run_the_batch_and_are_stopped(night, tmp_path):
    """Worker processes started before the batch (as the CLI does) prepare the MAGIC cache
    and run the subruns; the batch stops them; the outputs are those of one process."""
    with WorkerPool(2, BATCH_MODULES) as workers:
        early = run_batch(night.lst_dir, night.magic_dir, tmp_path / "early", jobs=2,
                          workers=workers, night=False)
        assert multiprocessing.active_children() == []
    alone = run_batch(night.lst_dir, night.magic_dir, tmp_path / "alone", night=False)
    assert early.summary.drop("seconds", "max_rss_mb").equals(
        alone.summary.drop("seconds", "max_rss_mb"))
    names = sorted(p.name for p in (tmp_path / "alone").glob("*.h5"))
    assert len(names) == 3
    for name in names:
        assert differences(tmp_path / "early" / name, tmp_path / "alone" / name) == []
