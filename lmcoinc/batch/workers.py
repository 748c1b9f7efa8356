"""Worker processes for the tasks of a batch that outlive none of it and survive one's death.

``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when one worker
dies (every pending task fails with ``BrokenProcessPool``), cannot tell which
task killed it, and leaves its workers running when the parent is
interrupted. Here each worker runs one task at a time and the parent knows
which: a worker that dies (the OOM killer, ``kill -9``) fails its task with
the signal that killed it and is replaced for the remaining tasks; when the
parent is interrupted (Ctrl-C, SIGTERM) or fails, its workers are stopped
(SIGTERM, which removes the temporary files of a task being written, then
SIGKILL after a grace period) before the exception goes on. A worker whose
parent is gone ends when it next asks for a task.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from .task import SubrunTask, run_task

__all__ = ["KILL_ENV", "death_message", "run_in_workers", "run_task_in_worker"]

#: Fault injection for tests and ``scripts/faults.py``: the worker that gets the
#: task of the LST file of this name (or the MAGIC file of this name to cache)
#: kills itself with SIGKILL.
KILL_ENV = "LMCOINC_KILL_WORKER_AT"
#: Seconds a stopped worker has to clean up before it is killed.
GRACE_S = 10.0


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: SubrunTask | None = None


def _worker_main(conn: Connection, func: Callable[[SubrunTask], Any]) -> None:
    """Run the tasks received on ``conn`` and send back their results, until told to stop."""
    from ..signals import interrupt_signals, interrupted

    try:
        with interrupt_signals():
            while (task := conn.recv()) is not None:
                result = func(task)
                if interrupted():
                    raise KeyboardInterrupt
                conn.send(result)
    except (KeyboardInterrupt, EOFError, OSError):  # stopped, or the parent is gone
        # The task has removed its temporary files; the interpreter's teardown
        # would only warn about HDF5 files an interrupt left open.
        sys.stderr.flush()
        os._exit(0)


def run_task_in_worker(task: SubrunTask) -> dict[str, Any]:
    """:func:`~lmcoinc.batch.task.run_task` in a worker process (of this pool or Dask's).

    With the environment variable :data:`KILL_ENV` naming the task's LST file,
    the worker kills itself with SIGKILL instead (fault injection).
    """
    if os.environ.get(KILL_ENV) == task.lst_file.name:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task)


def death_message(exitcode: int | None) -> str:
    """What the exit status of a dead worker says ("killed by signal 9 (SIGKILL) ...")."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        hint = "; out of memory?" if -exitcode == signal.SIGKILL else ""
        return f"worker process died: killed by signal {-exitcode} ({name}{hint})"
    return f"worker process died: exit code {exitcode}"


def run_in_workers(
    tasks: list[SubrunTask],
    jobs: int,
    func: Callable[[SubrunTask], Any],
    done: Callable[[Any], None],
    died: Callable[[SubrunTask, int | None], None],
) -> None:
    """Run ``func(task)`` for every task in up to ``jobs`` spawned worker processes.

    ``done(result)`` is called with each result as it comes, ``died(task,
    exitcode)`` for a task whose worker died (exitcode negative: the
    signal). On any exception the workers are stopped before it propagates.
    """
    ctx = multiprocessing.get_context("spawn")  # safe with polars' and HDF5's threads
    pending = deque(tasks)
    workers: list[_Worker] = []
    finished = False
    try:
        for _ in range(min(jobs, len(pending))):
            workers.append(_start(ctx, func))
            _give(workers[-1], pending)
        while any(w.task is not None for w in workers):
            ready = set(wait([w.conn for w in workers] + [w.process.sentinel for w in workers]))
            for worker in [w for w in workers if {w.conn, w.process.sentinel} & ready]:
                result = _receive(worker)
                if result is _NOTHING:
                    continue
                if result is not _DEAD:
                    worker.task = None
                    done(result)
                    _give(worker, pending)
                    continue
                task, worker.task = worker.task, None
                workers.remove(worker)
                _stop([worker], graceful=False)
                if task is not None:
                    died(task, worker.process.exitcode)
                if pending:
                    workers.append(_start(ctx, func))
                    _give(workers[-1], pending)
        finished = True
    finally:
        _stop(workers, graceful=finished)


_DEAD, _NOTHING = object(), object()


def _start(ctx: Any, func: Callable) -> _Worker:
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_worker_main, args=(child, func), daemon=True)
    process.start()
    child.close()
    return _Worker(process, parent)


def _give(worker: _Worker, pending: deque) -> None:
    """Send the next pending task to a worker (if it is dead, the loop finds out)."""
    if pending:
        worker.task = pending.popleft()
        try:
            worker.conn.send(worker.task)
        except OSError:
            pass


def _receive(worker: _Worker) -> Any:
    """The worker's result; ``_DEAD`` if it has died, ``_NOTHING`` if it has not yet answered."""
    try:
        if worker.conn.poll():
            return worker.conn.recv()
    except (EOFError, OSError):
        return _DEAD
    return _NOTHING if worker.process.is_alive() else _DEAD


def _stop(workers: list[_Worker], graceful: bool) -> None:
    """End the workers: asked to (graceful), or SIGTERM; SIGKILL after :data:`GRACE_S`."""
    for worker in workers:
        try:
            if graceful:
                worker.conn.send(None)
            elif worker.process.is_alive():
                worker.process.terminate()
        except OSError:
            pass
    deadline = time.monotonic() + GRACE_S
    interrupt = None
    for worker in workers:
        try:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        except KeyboardInterrupt as err:  # a Ctrl-C: no more waiting
            deadline, interrupt = time.monotonic(), err
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()
    if graceful and interrupt is not None:  # the first one, while the tasks had all ended
        raise interrupt
