"""Where a batch's tasks run: this process, worker processes, a Dask cluster.

The tasks here have no MAGIC events: each fails at once, inside the task, with a known
row (the tasks that really compute are in test_task and the integration tests).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lmcoinc.batch.dask_client import Dask
from lmcoinc.batch.executors import execute
from lmcoinc.batch.records import STATE_DIR
from lmcoinc.batch.task import SubrunTask
from lmcoinc.batch.workers import KILL_ENV
from lmcoinc.config import load_config
from lmcoinc.errors import SchedulerError

CONFIG = load_config(None)
NO_MAGIC = "internal error: RuntimeError: the task has no MAGIC events"


def _tasks(out: Path, n: int = 4) -> list[SubrunTask]:
    return [SubrunTask(index=i, lst_file=Path(f"dl1_LST-1.Run03265.{i:04}.h5"), obs_id=3265,
                       subrun=i, output_dir=out, config=CONFIG, fingerprint="x")
            for i in range(n)]


def _execute(tasks, jobs=1, dask=None) -> dict[str, dict]:
    rows = {}

    def done(row):
        assert row["lst_file"] not in rows
        rows[row["lst_file"]] = row

    execute(tasks, jobs, dask, done)
    assert set(rows) == {t.lst_file.name for t in tasks}
    return rows


def _failed_as_expected(row: dict, task: SubrunTask, error: str, code: int) -> None:
    assert (row["status"], row["exit_code"], row["error"]) == ("failed", code, error)
    assert (row["obs_id"], row["subrun"]) == (task.obs_id, task.subrun)


def test_in_this_process(tmp_path):
    tasks = _tasks(tmp_path)
    order = []
    execute(tasks, 1, None, lambda row: order.append(row["lst_file"]))
    assert order == [t.lst_file.name for t in tasks]  # one after the other, in order
    rows = _execute(tasks)
    for task in tasks:
        _failed_as_expected(rows[task.lst_file.name], task, NO_MAGIC, 1)
        assert rows[task.lst_file.name]["seconds"] >= 0


def test_in_worker_processes_one_killed(tmp_path, monkeypatch):
    tasks = _tasks(tmp_path)
    victim = tasks[1]
    monkeypatch.setenv(KILL_ENV, victim.lst_file.name)  # inherited by the workers
    rows = _execute(tasks, jobs=2)
    _failed_as_expected(rows.pop(victim.lst_file.name), victim,
                        "worker process died: killed by signal 9 (SIGKILL; out of memory?)",
                        128 + 9)  # as a shell reports it
    for name, row in rows.items():
        task = next(t for t in tasks if t.lst_file.name == name)
        _failed_as_expected(row, task, NO_MAGIC, 1)


def test_on_a_dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    tasks = _tasks(tmp_path, 3)
    (tmp_path / STATE_DIR).mkdir()  # where the batch checks that the workers see its files
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Dask(
            cluster.scheduler_address, None, [tmp_path]) as dask:
        rows = _execute(tasks, dask=dask)
    for task in tasks:
        _failed_as_expected(rows[task.lst_file.name], task, NO_MAGIC, 1)


def test_dask_errors(tmp_path, monkeypatch):
    with pytest.raises(SchedulerError, match="cannot connect to the Dask scheduler nowhere: "):
        execute(_tasks(tmp_path), 1, Dask("nowhere", None, [tmp_path]), lambda row: None)
    monkeypatch.setitem(sys.modules, "distributed", None)  # not installed
    with pytest.raises(SchedulerError, match=r"not installed: pip install 'lmcoinc\[dask\]'"):
        execute(_tasks(tmp_path), 1, Dask("tcp://localhost:8786", None, [tmp_path]),
                lambda row: None)
