"""The batch's worker processes: results, a worker killed, a failing job, the parent failing.

The worker pool of a batch: started once, reused call after call, a dead worker replaced."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from lmcoinc.batch.workers import (
    BATCH_MODULES,
    WORKER_ENV,
    WorkerPool,
    death_message,
    run_in_workers,
)
from lmcoinc.config import OFFSET_MODELS
from lmcoinc.utils.memory import MALLOC_CONF, MALLOC_CONF_RETURN, MALLOC_CONF_WORKERS

from ..helpers.jobs import KILL, RAISE, SLOW, square, started


def _run(jobs_, jobs):
    results, deaths = [], []
    run_in_workers(jobs_, jobs, square, results.append,
                   lambda job, code: deaths.append((job, code)))
    return results, deaths


def test_results_of_every_job():
    results, deaths = _run(list(range(7)), 2)
    assert sorted(r[:2] for r in results) == [(i, i * i) for i in range(7)]
    assert len({r[2] for r in results}) == 2  # two workers shared the jobs
    assert deaths == []
    assert multiprocessing.active_children() == []


def test_a_killed_worker_fails_its_job_only():
    results, deaths = _run([1, 2, KILL, 3, 4, 5], 2)
    assert deaths == [(KILL, -signal.SIGKILL)]
    assert sorted(r[:2] for r in results) == [(i, i * i) for i in (1, 2, 3, 4, 5)]
    assert multiprocessing.active_children() == []


def test_a_job_that_raises_ends_its_worker():
    results, deaths = _run([1, RAISE, 2], 1)  # one worker: replaced for the last job
    assert deaths == [(RAISE, 1)]
    assert [r[:2] for r in results] == [(1, 1), (2, 4)]
    assert results[0][2] != results[1][2]


def test_an_exception_in_the_parent_stops_the_workers():
    def done(result):
        raise RuntimeError("the parent fails")

    with pytest.raises(RuntimeError, match="the parent fails"):
        run_in_workers([1, SLOW, SLOW], 2, square, done, lambda job, code: None)
    assert multiprocessing.active_children() == []  # the sleeping worker was stopped too


def test_no_job():
    assert _run([], 4) == ([], [])


@pytest.mark.parametrize(("code", "message"), [
    (-9, "worker process died: killed by signal 9 (SIGKILL; out of memory?)"),
    (-15, "worker process died: killed by signal 15 (SIGTERM)"),
    (-200, "worker process died: killed by signal 200 (unknown signal)"),
    (1, "worker process died: exit code 1"),
    (None, "worker process died: exit code None"),
])
def test_death_message(code, message):
    assert death_message(code) == message


def _pid(task: int) -> tuple[int, int]:
    return task, os.getpid()


def _die_at_one(task: int) -> tuple[int, int]:
    if task == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return task, os.getpid()


def _environment(task: str) -> str | None:
    return os.environ.get(task)


def test_workers_start_once_and_serve_every_call():
    environment = dict(os.environ)
    with WorkerPool(2) as pool:
        pids = []
        for first in (0, 10):
            done = []
            pool.run(list(range(first, first + 6)), _pid, done.append,
                     lambda task, code: None)
            assert sorted(t for t, _ in done) == list(range(first, first + 6))
            pids.append({pid for _, pid in done})
        assert pids[0] == pids[1] and len(pids[0]) <= 2  # the same processes both times
        assert os.getpid() not in pids[0]
        died = []
        done = []
        pool.run([0, 1, 2, 3], _die_at_one, done.append, lambda t, code: died.append((t, code)))
        assert died == [(1, -signal.SIGKILL)]
        assert sorted(t for t, _ in done) == [0, 2, 3]
        done = []
        pool.run([4, 5], _pid, done.append, lambda t, code: None)  # back to two workers
        assert sorted(t for t, _ in done) == [4, 5]
        got = []
        pool.run(list(WORKER_ENV), _environment, got.append, lambda t, code: None)
    # polars' threads: one each, unless the user says otherwise; this process keeps its own
    assert got == [os.environ.get(k, v) for k, v in WORKER_ENV.items()]
    assert dict(os.environ) == environment


def _mark_at_exit(path: str) -> int:
    atexit.register(Path(path).write_text, "the interpreter's teardown ran")
    return os.getpid()


def test_workers_end_without_the_interpreters_teardown(tmp_path):
    """Told to stop, a worker ends at once (exit code 0): its interpreter is not torn down."""
    marker = tmp_path / "teardown"
    with WorkerPool(1) as pool:
        done = []
        pool.run([str(marker)], _mark_at_exit, done.append, lambda task, code: None)
        (worker,) = multiprocessing.active_children()
        assert done == [worker.pid]
    assert worker.exitcode == 0
    assert not marker.exists()


def _imported(names: list[str]) -> list[bool]:
    import sys

    return [name in sys.modules for name in names]


def test_workers_import_the_batch_modules_as_they_start():
    """Before its first job, a batch's worker has imported what its jobs need (every
    offset model among them)."""
    assert {f"lmcoinc.pairing.{m}" for m in OFFSET_MODELS.values()} <= set(BATCH_MODULES)
    got = []
    with WorkerPool(1, BATCH_MODULES) as pool:
        pool.run([list(BATCH_MODULES)], _imported, got.append, lambda task, code: None)
    assert got == [[True] * len(BATCH_MODULES)]


_IMPORT_ONCE = """
import sys
import time
from contextlib import ExitStack
from lmcoinc.batch.workers import WorkerPool
from tests.helpers.jobs import pid
with WorkerPool(2, ["tests.helpers.import_marker"]) as pool:
    done = []
    pool.run(list(range(8)), pid, done.append, lambda task, code: None)
print(" ".join(str(p) for p in sorted(set(done))))
"""


def test_the_workers_are_forked_from_one_process_that_imported_their_modules(tmp_path):
    """The modules to preload are imported once, by the fork server, not by each worker."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server on this platform: each worker imports them")
    marker = tmp_path / "imported"
    env = {**os.environ, "LMCOINC_TEST_IMPORT_MARKER": str(marker)}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _IMPORT_ONCE], cwd=root, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    workers = {int(p) for p in out}
    importers = {int(p) for p in marker.read_text().split()}
    assert len(workers) == 2
    assert len(importers) == 1 and not importers & workers


def test_a_pool_given_no_job_starts_no_worker():
    """Workers are forked when the first jobs come: a pool closed before leaves none."""
    with WorkerPool(2, BATCH_MODULES):
        children = multiprocessing.active_children()
    assert children == []
    assert multiprocessing.active_children() == []


def test_a_worker_gets_its_next_job_while_one_runs():
    """Each worker holds the job it runs and the next: a parent slow to take a result (0.4 s
    here, for jobs of 0.2 s) does not keep the worker waiting for its next job."""
    results = []

    def done(result):
        results.append(result)
        time.sleep(0.4)

    with WorkerPool(1) as pool:
        pool.run([0.2] * 6, started, done, lambda task, code: None)
    starts = [start for _, start, _ in results]
    # one job given at a time, the second and third would start 0.4 s after the one before
    assert all(b - a < 0.3 for a, b in zip(starts[:3], starts[1:4], strict=True))


def test_the_last_jobs_go_to_the_first_worker_free():
    """No job waits behind a slow one while another worker is free: the jobs run next are
    given only while each worker can have its own."""
    with WorkerPool(2) as pool:
        results = []
        pool.run([5.0, 0.01, 0.01, 0.01], started, results.append, lambda task, code: None)
    slow = next(pid_ for job, _, pid_ in results if job == 5.0)
    assert [pid_ == slow for job, _, pid_ in results] == [False, False, False, True]


def test_a_dead_workers_next_job_runs_elsewhere_once():
    """The job a worker held next when it died is run by another worker, not failed."""
    results, deaths = _run([KILL, 1, 2, 3, 4, 5, 6], 2)
    assert deaths == [(KILL, -signal.SIGKILL)]
    assert sorted(r[0] for r in results) == [1, 2, 3, 4, 5, 6]


_ALLOCATOR = """
import os
from multiprocessing import forkserver
from lmcoinc.batch.workers import WorkerPool
from lmcoinc.utils.memory import MALLOC_CONF
from tests.helpers.jobs import malloc_conf
with WorkerPool(1) as pool:
    got = []
    pool.run([0], malloc_conf, got.append, lambda task, code: None)
    server = forkserver._forkserver._forkserver_pid
    with open(f"/proc/{server}/environ", "rb") as f:
        start = dict(v.split(b"=", 1) for v in f.read().split(b"\\0") if b"=" in v)
print(got[0], start.get(MALLOC_CONF.encode(), b"-").decode(), os.environ.get(MALLOC_CONF, "-"))
"""


@pytest.mark.parametrize("given", [None, MALLOC_CONF_RETURN, "dirty_decay_ms:7"])
def test_workers_keep_freed_pages_unless_the_user_says_otherwise(given):
    """polars' allocator keeps the pages a job frees for the next (the console returns them at
    once in its own process), in the fork server that imports polars and in each worker; a
    configuration of the user's is kept; this process's environment is unchanged."""
    if not Path("/proc/self/environ").exists() or "forkserver" not in \
            multiprocessing.get_all_start_methods():
        pytest.skip("needs /proc and a fork server")
    env = {k: v for k, v in os.environ.items() if k != MALLOC_CONF}
    if given is not None:
        env[MALLOC_CONF] = given
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _ALLOCATOR], cwd=root, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    expected = "dirty_decay_ms:7" if given == "dirty_decay_ms:7" else MALLOC_CONF_WORKERS
    worker, server, parent = out
    assert worker.endswith(expected)  # (polars puts its defaults first as it is imported)
    assert (server, parent) == (expected, given or "-")


def test_a_pool_closed_gracefully_can_leave_the_wait_for_its_workers_to_later(monkeypatch):
    """With join_later(stack), closing the pool asks its workers to end and returns; they are
    waited for when the stack closes (an interrupted pool still waits at once)."""
    import lmcoinc.batch.workers as workers_module

    joined = []
    real = workers_module._join
    monkeypatch.setattr(workers_module, "_join",
                        lambda found, graceful: joined.append(len(found)) or real(found, graceful))
    with ExitStack() as later:
        with WorkerPool(2).join_later(later) as pool:
            done = []
            pool.run([1, 2, 3], square, done.append, lambda task, code: None)
        assert joined == []  # asked to end, not waited for
    assert joined == [2]
    assert multiprocessing.active_children() == []
    with ExitStack() as later:
        with pytest.raises(RuntimeError), WorkerPool(1).join_later(later) as pool:
            pool.run([1], square, lambda result: None, lambda task, code: None)
            raise RuntimeError("the caller fails")
        assert joined == [2, 1]  # stopped and waited for at once
    assert joined == [2, 1]
