"""Where the tasks of a batch run: this process, worker processes, or a Dask cluster.

Each executor calls ``done(row)`` with the summary row of every task as it
finishes; a task whose worker dies becomes a ``failed`` row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from ..errors import SchedulerError
from ..signals import raise_if_interrupted
from .task import SubrunTask, failed_row, run_task
from .workers import death_message, run_in_workers, run_task_in_worker

__all__ = ["execute"]

Done = Callable[[dict[str, Any]], None]


def execute(tasks: list[SubrunTask], jobs: int, dask_scheduler: str | None, done: Done) -> None:
    """Run the tasks: on a Dask scheduler if given, else in ``jobs`` processes."""
    if dask_scheduler is not None:
        _execute_dask(tasks, dask_scheduler, done)
    elif jobs > 1:
        def died(task: SubrunTask, exitcode: int | None) -> None:
            signalled = exitcode is not None and exitcode < 0
            code = 128 - exitcode if signalled else 1  # as a shell reports it
            done(failed_row(task, death_message(exitcode), exit_code=code))

        run_in_workers(tasks, jobs, run_task_in_worker, done, died)
    else:
        for task in tasks:
            done(run_task(task))
            raise_if_interrupted()  # an interrupt that an extension turned into an error


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
        keys = [f"lmcoinc-{task.lst_file.name}-{token}" for task in tasks]
        # submitted together: the scheduler queues them as one group (worker-saturation)
        submitted = client.map(run_task_in_worker, tasks, key=keys, pure=False)
        futures = dict(zip(submitted, tasks, strict=True))
        for future in dask_as_completed(list(futures)):
            try:
                row = future.result()
            except Exception as err:  # noqa: BLE001 - worker lost, deserialization error
                row = failed_row(futures[future], _dask_failure(err))
            done(row)
    finally:
        client.close()


def _dask_failure(err: Exception) -> str:
    """The summary's error for a task that Dask could not run."""
    if type(err).__name__ == "KilledWorker":  # its worker(s) died while running it
        return ("Dask worker died while running it (KilledWorker: killed, out of memory? "
                "see the worker's log)")
    return f"Dask task failed: {type(err).__name__}: {err}"
