"""Where the tasks of a batch run: this process, worker processes, or a Dask cluster.

Each executor calls ``done(row)`` with the summary row of every task as it
finishes; a task whose worker dies becomes a ``failed`` row.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from ..errors import SchedulerError
from .task import SubrunTask, failed_row, run_task

__all__ = ["execute"]

Done = Callable[[dict[str, Any]], None]


def execute(tasks: list[SubrunTask], jobs: int, dask_scheduler: str | None, done: Done) -> None:
    """Run the tasks: on a Dask scheduler if given, else in ``jobs`` processes."""
    if dask_scheduler is not None:
        _execute_dask(tasks, dask_scheduler, done)
    elif jobs > 1:
        _execute_pool(tasks, jobs, done)
    else:
        for task in tasks:
            done(run_task(task))


def _execute_pool(tasks: list[SubrunTask], jobs: int, done: Done) -> None:
    ctx = multiprocessing.get_context("spawn")  # safe with polars' and HDF5's threads
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx)
    try:
        futures = {pool.submit(run_task, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as err:  # noqa: BLE001 - e.g. a worker killed by the OOM killer
                row = failed_row(futures[future], f"worker process died: {err}")
            done(row)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _execute_dask(tasks: list[SubrunTask], address: str, done: Done) -> None:
    try:
        from distributed import Client
        from distributed import as_completed as dask_as_completed
    except ImportError:
        raise SchedulerError(
            "--dask-scheduler needs Dask: pip install 'lmcoinc[dask]'"
        ) from None
    try:
        client = Client(address, timeout="20s")
    except Exception as err:  # noqa: BLE001 - OSError, TimeoutError, ValueError
        raise SchedulerError(f"cannot connect to the Dask scheduler {address}: {err}") from None
    token = uuid.uuid4().hex[:8]
    try:
        futures = {}
        for task in tasks:
            key = f"lmcoinc-{task.lst_file.name}-{token}"
            futures[client.submit(run_task, task, key=key, pure=False)] = task
        for future in dask_as_completed(list(futures)):
            try:
                row = future.result()
            except Exception as err:  # noqa: BLE001 - worker lost, deserialization error
                row = failed_row(futures[future], f"Dask task failed: {err}")
            done(row)
    finally:
        client.close()
