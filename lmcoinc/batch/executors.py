"""Where the tasks of a batch run: this process, worker processes (:mod:`.workers`), or
Dask workers (:mod:`.dask_client`).

Each executor calls ``done(row)`` with the summary row of every task as it
finishes; a task whose worker dies becomes a ``failed`` row. The warnings of
a task run elsewhere (a worker process, a Dask worker) come back in its row
and are logged here, each naming its subrun.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..utils.signals import raise_if_interrupted
from .dask_client import Dask
from .task import SubrunTask, failed_row, run_task, run_task_in_worker
from .workers import WorkerPool, death_message, run_in_workers

__all__ = ["execute"]

log = logging.getLogger(__name__)

Done = Callable[[dict[str, Any]], None]


def execute(tasks: list[SubrunTask], jobs: int, dask: Dask | None, done: Done,
            pool: WorkerPool | None = None) -> None:
    """Run the tasks: on Dask if given, else in ``jobs`` processes (those of ``pool``, if
    given)."""
    if dask is not None:
        dask.run(tasks, _told(done))
    elif jobs > 1:
        def died(task: SubrunTask, exitcode: int | None) -> None:
            signalled = exitcode is not None and exitcode < 0
            code = 128 - exitcode if signalled else 1  # as a shell reports it
            done(failed_row(task, death_message(exitcode), exit_code=code))

        if pool is None:
            run_in_workers(tasks, jobs, run_task_in_worker, _told(done), died)
        else:
            pool.run(tasks, run_task_in_worker, _told(done), died)
    else:
        for task in tasks:  # its warnings are logged as they come
            done(run_task(task))
            raise_if_interrupted()  # an interrupt that an extension turned into an error


def _told(done: Done) -> Done:
    """``done`` after logging the warnings a task gave in another process."""
    def told(row: dict[str, Any]) -> None:
        for message in row.get("warnings") or ():
            log.warning("%s", message)
        done(row)

    return told
