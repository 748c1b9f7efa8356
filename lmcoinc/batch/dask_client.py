"""The Dask workers of a batch: a scheduler's, or those of a cluster the batch starts.

The client connects when the first tasks are to run, starts the cluster if
it is the batch's own (:mod:`.cluster`), and checks with one small task that
a worker sees the batch's directories (:mod:`.worker_check`). The MAGIC
cache goes to the workers once, as a task of its own that a lost worker's
peers can compute again; the subrun tasks depend on it. On any exception
(Ctrl-C, SIGTERM) the batch's tasks are cancelled on the scheduler, and a
task a worker is running stops before its outputs are renamed into place.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import ClusterSettings
from ..errors import SchedulerError
from ..io.magic_cache import MagicCache
from ..utils.signals import stop_when
from .cluster import adapt_cluster, make_cluster
from .records import STATE_DIR
from .task import SubrunTask, failed_row, run_task_in_worker
from .worker_check import check_directories, worker_problem

__all__ = ["Dask", "dask_workers", "run_task_on_dask"]

log = logging.getLogger(__name__)

Done = Callable[[dict[str, Any]], None]
#: Seconds to wait for a first Dask worker before saying that the batch waits for one.
_WAIT_NOTICE_S = 20.0


def dask_workers(address: str | None, cluster: ClusterSettings | None,
                 directories: Sequence[Path]) -> AbstractContextManager[Dask | None]:
    """The batch's :class:`Dask` workers (not started yet), or None to run here."""
    if address is None and cluster is None:
        return nullcontext()
    return Dask(address, cluster, directories)


class Dask:
    """The Dask workers of a batch: those of a scheduler, or of a cluster started here.

    Nothing happens until :meth:`start` or the first :meth:`run`: then the cluster is started
    (and scaled to the tasks), the client connects, and one small task checks
    that a worker sees ``directories`` (a shared file system). Use as a
    context manager: the client and the cluster end with it.

    Parameters
    ----------
    address : str, optional
        A running scheduler (``tcp://host:port``).
    cluster : ClusterSettings, optional
        Or the cluster to start.
    directories : sequence of pathlib.Path
        Absolute directories the workers must see; the first is the output
        directory (the check writes a file in its state directory).
    """

    def __init__(self, address: str | None, cluster: ClusterSettings | None,
                 directories: Sequence[Path]) -> None:
        if (address is None) == (cluster is None):
            raise ValueError("give either a Dask scheduler's address or cluster settings")
        self.address, self.settings, self.directories = address, cluster, list(directories)
        self.token = uuid.uuid4().hex[:8]
        self.passes = 0  # the keys of a subrun redone later differ from its first pass's
        self.cluster: Any = None
        self.client: Any = None
        self.magic_cache: MagicCache | None = None
        self.magic_future: Any = None

    def __enter__(self) -> Dask:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect (the scheduler forgets the batch's tasks); stop the cluster started
        here (its jobs are cancelled)."""
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception as err:  # noqa: BLE001 - ending anyway
                    log.debug("closing %s: %s", thing, err)
        self.client = self.cluster = None

    def start(self, n_tasks: int) -> None:
        """Connect (once): start the cluster, scaled to at most ``n_tasks`` workers, and
        check that a worker sees the directories.

        Raises
        ------
        SchedulerError, MissingPackageError
            Dask is not installed, the scheduler cannot be reached, or the
            workers cannot run the tasks or do not see the directories.
        """
        if self.client is None:
            self._connect(n_tasks)

    def _connect(self, n_tasks: int) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise SchedulerError("Dask is not installed: pip install 'lmcoinc[dask]'") from None
        address = self.address
        if self.settings is not None:
            self.cluster = make_cluster(self.settings)
            adapt_cluster(self.cluster, self.settings, n_tasks)
            address = self.cluster.scheduler_address
        try:
            self.client = Client(address, timeout="20s")
        except Exception as err:  # noqa: BLE001 - OSError, TimeoutError, ValueError
            raise SchedulerError(f"cannot connect to the Dask scheduler {address}: {err}") from None
        self._check_workers()

    def _check_workers(self) -> None:
        """One task: does a worker see the directories and the file written here?"""
        from distributed import wait

        state = self.directories[0] / STATE_DIR
        with check_directories(state, self.token) as token_file:
            future = self.client.submit(worker_problem, [str(d) for d in self.directories],
                                        str(token_file), self.token, pure=False,
                                        key=f"lmcoinc-check-{self.token}")
            try:
                if wait([future], timeout=_WAIT_NOTICE_S).not_done:
                    log.warning("waiting for a Dask worker (%s)", self.address or
                                f"{self.settings.type} cluster, up to "
                                f"{self.settings.max_workers} workers")
                problem = future.result()
            except Exception as err:  # noqa: BLE001 - the task could not run on the workers
                raise SchedulerError(
                    f"the Dask workers cannot run lmcoinc's tasks ({type(err).__name__}: "
                    f"{err}); is lmcoinc installed where the workers run?") from None
            finally:
                future.release()
        if problem is not None:
            raise SchedulerError(f"{problem}: the input and output directories must be on a "
                                 "file system shared with the Dask workers")

    def run(self, tasks: list[SubrunTask], done: Done) -> None:
        """Run the tasks on the workers; on any exception (Ctrl-C, SIGTERM) cancel them first."""
        self.start(len(tasks))  # first: it says so when Dask is not installed
        from distributed import as_completed

        client = self.client
        self.passes += 1
        keys = [f"lmcoinc-{task.lst_file.name}-{self.token}-{self.passes}" for task in tasks]
        if len({id(task.magic) for task in tasks}) != 1:
            raise ValueError("the tasks run together share one MAGIC cache")
        # the MAGIC cache (its index grows with the night) is sent once, not in every task
        magic = self._magic(tasks[0].magic)
        # submitted together: the scheduler queues them as one group (worker-saturation)
        submitted = client.map(run_task_on_dask, [replace(t, magic=None) for t in tasks],
                               keys, [magic] * len(tasks), key=keys, pure=False)
        futures = dict(zip(submitted, tasks, strict=True))
        try:
            for future in as_completed(list(futures)):
                try:
                    row = future.result()
                except Exception as err:  # noqa: BLE001 - worker lost, deserialization error
                    row = failed_row(futures[future], _dask_failure(err))
                done(row)
        except BaseException:
            self._cancel(submitted)
            raise

    def _magic(self, cache: MagicCache | None) -> Any:
        """The future of the MAGIC cache on the workers: a task whose result it is (one that
        a lost worker's peers compute again, unlike scattered data)."""
        if cache is None:
            return None
        if self.magic_cache is not cache:
            self.magic_cache, self.magic_future = cache, self.client.submit(
                _identity, cache, key=f"lmcoinc-magic-{self.token}-{uuid.uuid4().hex[:4]}",
                pure=False)
        return self.magic_future

    def _cancel(self, futures: list) -> None:
        """Remove the tasks from the scheduler; those running stop before they write their
        outputs (:func:`run_task_on_dask`), or end whole if they are writing them."""
        try:
            self.client.cancel(futures, force=True)
        except Exception as err:  # noqa: BLE001 - the scheduler is gone: nothing to cancel
            log.debug("cancelling the batch's tasks: %s", err)


def _identity(value: Any) -> Any:
    return value


def run_task_on_dask(task: SubrunTask, key: str, magic: MagicCache | None = None
                     ) -> dict[str, Any]:
    """:func:`.task.run_task_in_worker` as the Dask task ``key``, with the batch's MAGIC
    cache: if the batch cancels it while it runs, it stops before its outputs are renamed
    into place (no signal reaches a worker's thread; the worker knows the task is
    cancelled)."""
    from distributed import get_worker

    worker = get_worker()

    def cancelled() -> bool:
        try:
            state = worker.state.tasks.get(key)
        except AttributeError:  # another distributed: the task is never stopped early
            return False
        return state is None or state.state == "cancelled"

    try:
        with stop_when(cancelled):
            return run_task_in_worker(task if magic is None else replace(task, magic=magic))
    except KeyboardInterrupt:  # nobody waits for this row
        return failed_row(task, "cancelled by the batch")


def _dask_failure(err: Exception) -> str:
    """The summary's error for a task that Dask could not run."""
    if type(err).__name__ == "KilledWorker":  # its worker(s) died while running it
        return ("Dask worker died while running it (KilledWorker: killed, out of memory? "
                "see the worker's log)")
    return f"Dask task failed: {type(err).__name__}: {err}"
