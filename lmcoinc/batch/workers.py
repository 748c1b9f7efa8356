"""Worker processes for the jobs of a batch that outlive none of it and survive one's death.

``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when one worker
dies (every pending task fails with ``BrokenProcessPool``), cannot tell which
task killed it, and leaves its workers running when the parent is
interrupted. Here each worker runs one task at a time and the parent knows
which: a worker that dies (the OOM killer, ``kill -9``) fails its job with
the signal that killed it and is replaced for the remaining jobs (the job it
held next, :data:`AHEAD`, goes to another worker); when the
parent is interrupted (Ctrl-C, SIGTERM) or fails, its workers are stopped
(SIGTERM, which removes the temporary files of a task being written, then
SIGKILL after a grace period) before the exception goes on. A worker whose
parent is gone ends when it next asks for a job. A batch starts its workers
once (:class:`WorkerPool`): first thing, a fork server (``multiprocessing``'s
"forkserver" start method) imports the modules of its jobs
(:data:`BATCH_MODULES`) once while the parent imports and prepares; each worker
is then forked from it, ready at once, and prepares the MAGIC files and runs
the subruns. The fork server is a fresh process that has imported those
modules and done nothing else (no thread of polars' has run a job), so
forking it is as safe as spawning, and the workers do not each import the
same libraries again (~0.4 s of CPU each). The pool knows nothing of what its
jobs are (subruns, MAGIC files to cache): it runs a function on them.
"""

from __future__ import annotations

import importlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from ..utils.memory import MALLOC_CONF, MALLOC_CONF_RETURN, MALLOC_CONF_WORKERS
from ..utils.signals import interrupt_signals, interrupted
from .inbox import Inbox

__all__ = ["BATCH_MODULES", "KILL_ENV", "WorkerPool", "death_message", "run_in_workers",
           "start_fork_server"]

#: Fault injection for tests and ``scripts/faults.py``: the worker that gets the
#: task of the LST file of this name (or the MAGIC file of this name to cache)
#: kills itself with SIGKILL (:func:`lmcoinc.batch.task.run_task_in_worker`).
KILL_ENV = "LMCOINC_KILL_WORKER_AT"
#: Seconds a stopped worker has to clean up before it is killed.
GRACE_S = 10.0
#: Seconds a worker whose pipe has closed has to end by itself before it is stopped.
EXIT_WAIT_S = 2.0
#: What a batch's workers import as they start, while the parent prepares: the modules of
#: its jobs (MAGIC files to cache, subruns), the offset models and the libraries the jobs
#: import on first use (reading with h5py, writing with PyTables, and nanoarrow for the
#: Parquet schemas; never pyarrow, which a subrun does not need).
BATCH_MODULES = (
    "lmcoinc.batch.cache_runs", "lmcoinc.batch.task", "lmcoinc.pairing.constant_model",
    "lmcoinc.pairing.drift_model", "h5py", "hdf5plugin", "tables", "nanoarrow",
)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    tasks: deque = field(default_factory=deque)  # the jobs given, in order: the first runs
    used: bool = False  # given a job


def _worker_main(conn: Connection, preload: Sequence[str] = (),
                 environ: dict[str, str] | None = None) -> None:
    """Take the parent's environment ``environ`` (a worker forked from the fork server has
    the server's), import the modules ``preload``, run the jobs ``(function, task)``
    received on ``conn`` in order and send back their results, until told to stop; then
    end without the interpreter's teardown. A thread reads the jobs as they come
    (:class:`~.inbox.Inbox`), so that the parent never waits to give the next one."""
    if environ is not None and environ != os.environ:
        os.environ.clear()
        os.environ.update(environ)
    try:
        with interrupt_signals():
            for module in preload:
                importlib.import_module(module)
            inbox = Inbox(conn)
            while (job := inbox.get()) is not None:
                func, task = job
                result = func(task)
                if interrupted():
                    raise KeyboardInterrupt
                conn.send(result)
    except (KeyboardInterrupt, EOFError, OSError):  # stopped, or the parent is gone
        # The task has removed its temporary files; the interpreter's teardown
        # would only warn about HDF5 files an interrupt left open.
        pass
    # Every file of every job is closed and renamed: tearing down polars, numpy and HDF5
    # would only keep the parent waiting for the worker to end.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


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
    tasks: list[Any],
    jobs: int,
    func: Callable[[Any], Any],
    done: Callable[[Any], None],
    died: Callable[[Any, int | None], None],
) -> None:
    """Run ``func(task)`` for every task in up to ``jobs`` worker processes started for
    them (:meth:`WorkerPool.run`)."""
    with WorkerPool(min(jobs, len(tasks))) as pool:
        pool.run(tasks, func, done, died)


class WorkerPool:
    """Up to ``jobs`` worker processes, started once and given job after job by
    :meth:`run`, call after call, until the pool is closed.

    :meth:`start` (or entering the pool) starts the fork server, which imports the
    modules ``preload`` while the caller goes on; the workers are forked from it when
    the first jobs come, each with the modules imported. Where there is no fork
    server, the workers are spawned and each imports ``preload`` itself. Use the pool
    as a context manager: on exit the workers are asked to end (SIGTERM, then SIGKILL
    after :data:`GRACE_S` when an exception is going on). Exiting twice stops nothing
    more.
    """

    def __init__(self, jobs: int, preload: Sequence[str] = ()) -> None:
        self.jobs = jobs
        self.preload = tuple(preload)
        self._ctx = _context()
        self._workers: list[_Worker] = []
        self._join_in: ExitStack | None = None

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: Any) -> None:
        self.close(graceful=kind is None)

    def close(self, graceful: bool = True) -> None:
        """Stop the workers (``graceful``: those given a job are asked to end; waited for
        now, or when the stack of :meth:`join_later` closes)."""
        workers, self._workers = self._workers, []
        if graceful and self._join_in is not None and workers:
            _ask_to_end(workers, graceful)
            self._join_in.callback(_join, workers, graceful)
            return
        _stop(workers, graceful)

    def join_later(self, stack: ExitStack | None) -> WorkerPool:
        """Leave the wait for the workers of a graceful :meth:`close` to ``stack`` (if
        given): they end while the caller goes on (a batch writes its summary)."""
        self._join_in = stack
        return self

    def start(self) -> None:
        """Start the fork server now: it imports the modules ``preload`` while the caller
        goes on (without a fork server: start the missing workers, which import them)."""
        if self._ctx.get_start_method() != "forkserver":
            self._start_workers()
            return
        start_fork_server(self.preload)

    def _start_workers(self) -> None:
        """Start the missing workers (forked from the fork server once it has imported)."""
        while len(self._workers) < self.jobs:
            self._workers.append(_start(self._ctx, self.preload))

    def run(
        self,
        tasks: list[Any],
        func: Callable[[Any], Any],
        done: Callable[[Any], None],
        died: Callable[[Any, int | None], None],
    ) -> None:
        """Run ``func(task)`` (``func`` picklable: a module's function) for every task (a
        picklable job) in the workers.

        ``done(result)`` is called with each result as it comes, ``died(task,
        exitcode)`` for a task whose worker died (exitcode negative: the
        signal); a dead worker is replaced while tasks remain. On any exception
        the workers are stopped before it propagates (the pool is then empty).
        """
        pending = deque((func, task) for task in tasks)
        try:
            self._start_workers()
            for ahead in (1, AHEAD):  # a job each, then the next ones
                for worker in self._workers:
                    _give(worker, pending, len(self._workers), ahead)
            self._serve(pending, done, died)
        except BaseException:
            workers, self._workers = self._workers, []
            _stop(workers, graceful=False)
            raise

    def _serve(self, pending: deque, done: Callable[[Any], None],
               died: Callable[[Any, int | None], None]) -> None:
        workers = self._workers
        while any(w.tasks for w in workers):
            ready = set(wait([w.conn for w in workers] + [w.process.sentinel for w in workers]))
            for worker in [w for w in workers if {w.conn, w.process.sentinel} & ready]:
                result = _receive(worker)
                if result is _NOTHING:
                    continue
                if result is not _DEAD:
                    worker.tasks.popleft()
                    _give(worker, pending, len(workers))  # before the result is handled
                    done(result)
                    continue
                workers.remove(worker)
                worker.process.join(EXIT_WAIT_S)  # ending by itself: its own exit code
                _stop([worker], graceful=False)
                if worker.tasks:  # the job it ran died with it; those given after it wait
                    job = worker.tasks.popleft()
                    pending.extendleft(reversed(worker.tasks))
                    died(job[1], worker.process.exitcode)
                if pending:  # else the next run starts it
                    workers.append(_start(self._ctx, self.preload))
                    _give(workers[-1], pending, len(workers))


_DEAD, _NOTHING = object(), object()


def start_fork_server(preload: Sequence[str]) -> None:
    """Start ``multiprocessing``'s fork server, which imports the modules ``preload``, with the
    workers' environment (:data:`WORKER_ENV`), unless it runs already; nothing where there
    is no fork server (:func:`_context`)."""
    if _context().get_start_method() != "forkserver":
        return
    multiprocessing.set_forkserver_preload(list(preload))
    with _worker_environment():
        multiprocessing.forkserver.ensure_running()


def _context() -> Any:
    """The "forkserver" context of ``multiprocessing`` where there is one, else "spawn"
    (both safe with polars' and HDF5's threads, unlike a fork of a process that ran jobs)."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _start(ctx: Any, preload: tuple[str, ...]) -> _Worker:
    parent, child = ctx.Pipe()
    environ = {**os.environ, **_worker_variables()}  # the parent's now, not the server's
    process = ctx.Process(target=_worker_main, args=(child, preload, environ), daemon=True)
    with _worker_environment():
        process.start()
    child.close()
    return _Worker(process, parent)


#: The environment of the workers: one thread of polars each (the workers are the parallelism;
#: more threads only contend for the cores), unless the user set it.
WORKER_ENV = {"POLARS_MAX_THREADS": "1"}


def _worker_variables() -> dict[str, str]:
    """What the workers' environment adds to this one's: :data:`WORKER_ENV` where not set,
    and polars' allocator keeping freed pages for the next job
    (:data:`~lmcoinc.utils.memory.MALLOC_CONF_WORKERS`) unless the user set another
    configuration than the console's own."""
    added = {k: v for k, v in WORKER_ENV.items() if k not in os.environ}
    # (polars puts its own defaults before the value as it is imported; the last one holds)
    if os.environ.get(MALLOC_CONF, MALLOC_CONF_RETURN).endswith(MALLOC_CONF_RETURN):
        added[MALLOC_CONF] = MALLOC_CONF_WORKERS
    return added


@contextmanager
def _worker_environment() -> Iterator[None]:
    """The workers' variables (:func:`_worker_variables`) in the environment while the fork
    server or a worker is started (it inherits them)."""
    added = _worker_variables()
    previous = {key: os.environ.get(key) for key in added}
    os.environ.update(added)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


#: Jobs a worker holds at most: the one it runs and the next, sent while the first runs so
#: that it starts on it at once (while this many jobs per worker are left to give).
AHEAD = 2


def _give(worker: _Worker, pending: deque, n_workers: int, ahead: int = AHEAD) -> None:
    """Send a worker the next pending jobs: one if it has none, and more to run next, up to
    ``ahead`` in all, while :data:`AHEAD` jobs per worker are pending (the last ones go one
    at a time to the first worker free: none waits behind a long one while another worker
    is free). A dead worker is found out by the loop."""
    while pending and (not worker.tasks or (len(worker.tasks) < ahead
                                            and len(pending) >= AHEAD * n_workers)):
        job = pending.popleft()
        worker.tasks.append(job)
        worker.used = True
        try:
            worker.conn.send(job)
        except OSError:
            return


def _receive(worker: _Worker) -> Any:
    """The worker's result; ``_DEAD`` if it has died, ``_NOTHING`` if it has not yet answered."""
    try:
        if worker.conn.poll():
            return worker.conn.recv()
    except (EOFError, OSError):
        return _DEAD
    return _NOTHING if worker.process.is_alive() else _DEAD


def _stop(workers: list[_Worker], graceful: bool) -> None:
    """End the workers: asked to (graceful, once given a job), or SIGTERM; SIGKILL after
    :data:`GRACE_S`. (A worker never given a job may still be importing.)"""
    _ask_to_end(workers, graceful)
    _join(workers, graceful)


def _ask_to_end(workers: list[_Worker], graceful: bool) -> None:
    """Ask the workers to end (graceful, once given a job), else SIGTERM."""
    for worker in workers:
        try:
            if graceful and worker.used:
                worker.conn.send(None)
            elif worker.process.is_alive():
                worker.process.terminate()
        except OSError:
            pass


def _join(workers: list[_Worker], graceful: bool) -> None:
    """Wait for the workers asked to end; SIGKILL those still alive after :data:`GRACE_S`."""
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
