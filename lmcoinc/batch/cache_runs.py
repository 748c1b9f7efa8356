"""The runs of the batch's MAGIC cache: each MAGIC file read once, checked, and its events
with a valid time written to a Parquet file sorted by time, in ``jobs`` worker processes.

What the workers say (warnings, errors) is told by the parent in file order, as
:func:`lmcoinc.io.magic.iter_magic_files` would tell it.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..columns import MAGIC_INDEX
from ..errors import InvalidFileError
from ..io.atomic import atomic_file
from ..io.magic import (
    MagicFile,
    arrange_magic,
    check_same_columns,
    invalid_magic_times,
    read_magic_file,
)
from ..memory import release_free_memory
from ..timestamps import magic_ns

__all__ = ["TIME_COLUMN", "CacheRun", "PreparedFile", "prepare_files"]

log = logging.getLogger(__name__)

#: The int64 ns timestamp column of the cache runs.
TIME_COLUMN = "_lmcoinc_t_ns"
_ROW_GROUP = 16_384


@dataclass(frozen=True)
class CacheRun:
    """One Parquet file of the cache: the prepared events of one MAGIC file, by time."""

    path: Path
    t_min: int
    t_max: int


@dataclass(frozen=True)
class PreparedFile:
    """What the cache keeps of one MAGIC file.

    Attributes
    ----------
    path : pathlib.Path
        The MAGIC file.
    run : CacheRun or None
        Its cache run (None: no event with a valid time).
    runs_of : set of (int, int)
        Its (obs_id, tel_id) pairs.
    invalid_ids : polars.DataFrame
        The ids (obs_id_magic, event_id_magic, tel_id) of its events with an invalid time.
    tel_ids : set of int
        Its telescopes.
    schema : polars.Schema
        Its parameter table's columns.
    names : tuple of str
        The names of the table's fields.
    """

    path: Path
    run: CacheRun | None
    runs_of: set
    invalid_ids: pl.DataFrame
    tel_ids: set
    schema: pl.Schema
    names: tuple[str, ...]


@dataclass
class _Outcome:
    """A file prepared (``prepared`` None: no parameter table), or what went wrong, and the
    log records of a worker."""

    index: int
    prepared: PreparedFile | None = None
    error: tuple[str, str, str] | None = None  # ("invalid" or "internal", path, text)
    records: list[logging.LogRecord] = field(default_factory=list)


def prepare_files(files: list[Path], directory: Path, jobs: int = 1) -> list[PreparedFile]:
    """Prepare the MAGIC files (in ``jobs`` worker processes) into cache runs in ``directory``.

    Returns
    -------
    list of PreparedFile
        Those of the files with a parameter table, in order.

    Raises
    ------
    InvalidFileError
        The first file at fault, as :func:`lmcoinc.io.magic.iter_magic_files`.
    """
    jobs_ = [(index, path, directory) for index, path in enumerate(files)]
    outcomes = _in_workers(jobs_, jobs) if jobs > 1 and len(files) > 1 else map(_prepare, jobs_)
    prepared, first = [], None
    for outcome in outcomes:
        for record in outcome.records:
            logging.getLogger(record.name).handle(record)
        if outcome.error is not None:
            kind, path, text = outcome.error
            if kind == "invalid":
                raise InvalidFileError(path, text)
            raise RuntimeError(f"{path}: {text}")
        if outcome.prepared is not None:
            first = check_same_columns(outcome.prepared.path, outcome.prepared.names, first)
            prepared.append(outcome.prepared)
    return prepared


def _prepare(job: tuple[int, Path, Path]) -> _Outcome:
    """Read one MAGIC file and write its cache run; an error is returned, not raised."""
    index, path, directory = job
    try:
        found = read_magic_file(path)
        prepared = None if found is None else _write_run(found, index, directory)
    except InvalidFileError as err:
        return _Outcome(index, error=("invalid", str(err.path), err.problem))
    release_free_memory()
    return _Outcome(index, prepared)


def _write_run(found: MagicFile, index: int, directory: Path) -> PreparedFile:
    """Write the events with a valid time of one MAGIC file, sorted by time, to a cache run."""
    raw = found.frame
    bad = invalid_magic_times(raw)
    frame = arrange_magic(raw.filter(~bad))
    invalid_ids = arrange_magic(raw.filter(bad)).select(MAGIC_INDEX)
    run = None
    if frame.height:
        t = magic_ns(frame["time_sec"].to_numpy(), frame["time_nanosec"].to_numpy())
        run = CacheRun(directory / f"run-{index:05}.parquet", int(t.min()), int(t.max()))
        with atomic_file(run.path) as temp:
            frame.with_columns(pl.Series(TIME_COLUMN, t, dtype=pl.Int64)) \
                .sort(TIME_COLUMN, maintain_order=True) \
                .write_parquet(temp, compression="lz4", statistics=True, row_group_size=_ROW_GROUP)
    return PreparedFile(found.path, run, set(raw.select("obs_id", "tel_id").unique().iter_rows()),
                        invalid_ids, set(raw["tel_id"].unique().to_list()), found.schema,
                        found.names)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None  # picklable whatever the args
        self.records.append(record)


def _prepare_in_worker(job: tuple[int, Path, Path]) -> _Outcome:
    """:func:`_prepare` in a worker process: its log records and any error sent back.

    With the environment variable ``KILL_ENV`` of :mod:`.workers` naming the
    MAGIC file, the worker kills itself with SIGKILL instead (fault injection).
    """
    from .workers import KILL_ENV

    if os.environ.get(KILL_ENV) == job[1].name:
        os.kill(os.getpid(), signal.SIGKILL)
    logger = logging.getLogger("lmcoinc")
    handler, propagate = _Records(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        outcome = _prepare(job)
    except Exception as err:  # noqa: BLE001 - a bug: told by the parent
        outcome = _Outcome(job[0], error=("internal", str(job[1]),
                                          f"{type(err).__name__}: {err}"))
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    outcome.records = handler.records
    return outcome


def _in_workers(jobs_: list[tuple[int, Path, Path]], jobs: int) -> Iterator[_Outcome]:
    """The outcomes of the jobs run in worker processes, in the jobs' order."""
    from .workers import death_message, run_in_workers  # (they import the tasks, which import us)

    outcomes: dict[int, _Outcome] = {}

    def died(job: Any, exitcode: int | None) -> None:  # the file once more, in this process
        log.warning("%s: %s while preparing it for the MAGIC cache; prepared again in the main "
                    "process", job[1], death_message(exitcode))
        outcomes[job[0]] = _prepare(job)

    run_in_workers(jobs_, jobs, _prepare_in_worker,
                   lambda outcome: outcomes.__setitem__(outcome.index, outcome), died)
    return (outcomes[index] for index, _, _ in jobs_)
