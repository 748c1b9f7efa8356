"""Dask clusters that a batch starts itself: workers as jobs of SLURM, PBS or HTCondor
(dask-jobqueue) or as local processes, scaled to the subruns that wait.

The scheduler runs in the batch's process; the workers start when tasks wait
and stop when none does (adaptive), at most ``max_workers`` and never more
than the subruns of the batch. Each worker has one thread (HDF5 is not
thread-safe); a job has ``cores`` of them.
"""

from __future__ import annotations

from typing import Any

from ..config import ClusterSettings
from ..errors import MissingPackageError

__all__ = ["DEATH_TIMEOUT_S", "JOB_CLUSTERS", "adapt_cluster", "job_kwargs", "make_cluster"]

#: The dask-jobqueue class of each batch system.
JOB_CLUSTERS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "htcondor": "HTCondorCluster"}
#: Seconds a worker waits for a scheduler it has lost before it ends (and its job with it):
#: a batch killed with SIGKILL leaves no job behind for long.
DEATH_TIMEOUT_S = 120


def _job_memory(settings: ClusterSettings) -> str:
    """The memory of a job: ``cores`` workers of ``memory`` each."""
    if settings.cores == 1:
        return settings.memory
    from dask.utils import format_bytes, parse_bytes

    return format_bytes(parse_bytes(settings.memory) * settings.cores)


def job_kwargs(settings: ClusterSettings) -> dict[str, Any]:
    """The arguments of the dask-jobqueue cluster class for the settings."""
    prologue = list(settings.job_script_prologue)
    kwargs: dict[str, Any] = {
        "cores": settings.cores, "processes": settings.cores,  # one thread per worker
        "memory": _job_memory(settings), "job_name": "lmcoinc-worker",
        "death_timeout": DEATH_TIMEOUT_S,
    }
    if settings.venv is not None:
        prologue.insert(0, f"source {settings.venv}/bin/activate")
        kwargs["python"] = f"{settings.venv}/bin/python"
    if prologue:
        kwargs["job_script_prologue"] = prologue
    for key in ("interface", "log_directory", "local_directory"):
        if getattr(settings, key) is not None:
            kwargs[key] = getattr(settings, key)
    if settings.type == "htcondor":  # its directives are "key = value" pairs
        kwargs["disk"] = settings.disk
        kwargs["job_extra_directives"] = dict(
            (part.strip() for part in line.split("=", 1)) for line in settings.job_extra_directives
            if "=" in line)
        return kwargs
    kwargs["walltime"] = settings.walltime
    kwargs["job_extra_directives"] = list(settings.job_extra_directives)
    for key in ("queue", "account"):
        if getattr(settings, key) is not None:
            kwargs[key] = getattr(settings, key)
    return kwargs


def make_cluster(settings: ClusterSettings) -> Any:
    """Start the scheduler of the settings' cluster, with no worker yet.

    Raises
    ------
    MissingPackageError
        Without dask (``local``) or dask-jobqueue (a batch system).
    """
    if settings.type == "local":
        try:
            from distributed import LocalCluster
        except ImportError:
            raise MissingPackageError(
                "--cluster local needs Dask: pip install 'lmcoinc[dask]'") from None
        return LocalCluster(n_workers=0, threads_per_worker=1, processes=True,
                            memory_limit=settings.memory, dashboard_address=None,
                            local_directory=settings.local_directory)
    try:
        import dask_jobqueue
    except ImportError:
        raise MissingPackageError(f"--cluster {settings.type} needs dask-jobqueue: pip install "
                                  "'lmcoinc[dask]'") from None
    return getattr(dask_jobqueue, JOB_CLUSTERS[settings.type])(**job_kwargs(settings))


def adapt_cluster(cluster: Any, settings: ClusterSettings, n_tasks: int) -> None:
    """Let the cluster scale its workers to the waiting tasks, at most ``max_workers`` and
    ``n_tasks``."""
    cluster.adapt(minimum=0, maximum=max(1, min(settings.max_workers, n_tasks)))
