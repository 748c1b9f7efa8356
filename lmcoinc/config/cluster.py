"""The ``cluster:`` section: the Dask workers a batch starts itself (SLURM, PBS, HTCondor
through dask-jobqueue, or local processes). Validated like the other keys: a named error,
exit code 12.

Example (one single-threaded worker per SLURM job, at most 40 at a time)::

    cluster:
        type: slurm
        queue: short
        memory: 2GB
        walltime: "02:00:00"
        max_workers: 40
        venv: /fefs/aswg/workspace/me/venv
        job_extra_directives: ["--output=dask-worker-%j.log"]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .sections import checked_section

__all__ = ["CLUSTER_KEYS", "CLUSTER_TYPES", "ClusterSettings", "cluster_settings"]

#: The kinds of cluster a batch can start: its own processes, or jobs of a batch system.
CLUSTER_TYPES = ("local", "slurm", "pbs", "htcondor")
#: The keys of the ``cluster`` section.
CLUSTER_KEYS = ("type", "queue", "account", "cores", "memory", "walltime", "disk", "max_workers",
                "venv", "job_extra_directives", "job_script_prologue", "interface",
                "log_directory", "local_directory")
_MEMORY_RE = re.compile(r"\d+(\.\d+)?\s*([kKMGT]i?B|[kKMGT])")
_WALLTIME_RE = re.compile(r"(\d+-)?\d{1,3}:\d{2}(:\d{2})?")


@dataclass(frozen=True)
class ClusterSettings:
    """The Dask workers a batch starts and scales to its subruns.

    Attributes
    ----------
    type : str
        One of :data:`CLUSTER_TYPES`.
    queue, account : str or None
        The batch system's queue (partition) and account.
    cores : int
        Workers per job, one thread each (HDF5 is not thread-safe); the job
        asks for this many cores.
    memory : str
        Memory of one worker ("2GB"); a job asks for ``cores`` times as much.
    walltime : str
        Time limit of a job ("HH:MM:SS"; SLURM, PBS).
    disk : str
        Scratch disk of a job (HTCondor).
    max_workers : int
        The most workers at a time; fewer when the batch has fewer subruns.
    venv : str or None
        A virtual environment with lmcoinc that the jobs activate.
    job_extra_directives, job_script_prologue : tuple of str
        Further lines of the job script's header (``#SBATCH ...``) and shell
        lines run before the worker starts.
    interface : str or None
        The network interface of the workers and scheduler ("ib0").
    log_directory, local_directory : str or None
        Where the jobs write their logs, and the workers' scratch directory.
    """

    type: str = "slurm"
    queue: str | None = None
    account: str | None = None
    cores: int = 1
    memory: str = "2GB"
    walltime: str = "01:00:00"
    disk: str = "1GB"
    max_workers: int = 20
    venv: str | None = None
    job_extra_directives: tuple[str, ...] = ()
    job_script_prologue: tuple[str, ...] = ()
    interface: str | None = None
    log_directory: str | None = None
    local_directory: str | None = None


def _text(section: dict, key: str, name: str, pattern: re.Pattern | None = None,
          example: str = "") -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}: cluster.{key} must be a text, got {value!r}")
    if pattern is not None and not pattern.fullmatch(value.strip()):
        raise ConfigError(f"{name}: cluster.{key} = {value!r} is not valid (e.g. {example})")
    return value.strip()


def _walltime(section: dict, name: str) -> str:
    value = section.get("walltime")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        # YAML 1.1 reads an unquoted 02:00:00 as a number of seconds (sexagesimal)
        return f"{value // 3600:02}:{value // 60 % 60:02}:{value % 60:02}"
    return _text(section, "walltime", name, _WALLTIME_RE, '"02:00:00"') or ClusterSettings.walltime


def _lines(section: dict, key: str, name: str) -> tuple[str, ...]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{name}: cluster.{key} must be a list of texts")
    return tuple(value)


def _count(section: dict, key: str, name: str, default: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: cluster.{key} must be a positive integer, got {value!r}")
    return value


def cluster_settings(section: Any, name: str) -> ClusterSettings | None:
    """Validate the ``cluster`` section (None: there is none).

    Raises
    ------
    ConfigError
        If it is not a mapping, has an unknown key, or a value is invalid.
    """
    if section is None:
        return None
    section = checked_section(section, "cluster", CLUSTER_KEYS, name)
    kind = section.get("type", ClusterSettings.type)
    if kind not in CLUSTER_TYPES:
        raise ConfigError(f"{name}: cluster.type = {kind!r} is unknown; use one of "
                          f"{', '.join(CLUSTER_TYPES)}")
    texts = {key: _text(section, key, name) for key in
             ("queue", "account", "venv", "interface", "log_directory", "local_directory")}
    return ClusterSettings(
        type=kind,
        cores=_count(section, "cores", name, ClusterSettings.cores),
        memory=_text(section, "memory", name, _MEMORY_RE, "2GB") or ClusterSettings.memory,
        walltime=_walltime(section, name),
        disk=_text(section, "disk", name, _MEMORY_RE, "1GB") or ClusterSettings.disk,
        max_workers=_count(section, "max_workers", name, ClusterSettings.max_workers),
        job_extra_directives=_lines(section, "job_extra_directives", name),
        job_script_prologue=_lines(section, "job_script_prologue", name),
        **texts,
    )
