"""The runs of the batch's MAGIC cache: each MAGIC file read once, checked, and its events
with a valid time written to an Arrow IPC file sorted by time, by the batch's worker processes.

The runs are uncompressed IPC files: a subrun memory-maps those that overlap
its MAGIC time range and slices them by binary search on their time column,
which costs nothing beside the copy of the rows it takes.

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

import numpy as np
import polars as pl

from ..errors import InvalidFileError, OutputError
from ..io.atomic import atomic_file
from ..io.magic import (
    MAGIC_INDEX,
    MagicTable,
    arrange_rows,
    check_same_columns,
    invalid_times,
    read_magic_table,
)
from ..io.magic_cache import TIME_COLUMN, CacheRun
from ..io.subarray import FileSubarray
from ..io.timestamps import magic_ns
from ..utils.memory import release_free_memory
from .workers import KILL_ENV, WorkerPool, death_message

__all__ = ["PreparedFile", "prepare_files"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedFile:
    """What the cache keeps of one MAGIC file.

    Attributes
    ----------
    path : pathlib.Path
        The MAGIC file.
    run : CacheRun or None
        Its cache run (None: no event with a valid time).
    id_ranges : dict
        (obs_id, tel_id) → the first and last event_id of its events of that MAGIC run
        and telescope.
    repeated : polars.DataFrame
        The ids (obs_id_magic, event_id_magic, tel_id) that occur more than once in it.
    invalid_ids : polars.DataFrame
        The ids (obs_id_magic, event_id_magic, tel_id) of its events with an invalid time.
    tel_ids : set of int
        Its telescopes.
    schema : polars.Schema
        Its parameter table's columns.
    names : tuple of str
        The names of the table's fields.
    subarray : FileSubarray
        Its subarray as stored (decoded for the first file).
    """

    path: Path
    run: CacheRun | None
    id_ranges: dict
    repeated: pl.DataFrame
    invalid_ids: pl.DataFrame
    tel_ids: set
    schema: pl.Schema
    names: tuple[str, ...]
    subarray: FileSubarray

    @property
    def runs_of(self) -> set:
        """Its (obs_id, tel_id) pairs."""
        return set(self.id_ranges)


@dataclass
class _Outcome:
    """A file prepared (``prepared`` None: no parameter table), or what went wrong, and the
    log records of a worker."""

    index: int
    prepared: PreparedFile | None = None
    error: tuple[str, str, str] | None = None  # ("invalid", "output" or "internal", path, text)
    records: list[logging.LogRecord] = field(default_factory=list)


def prepare_files(files: list[Path], directory: Path, pool: WorkerPool | None = None
                  ) -> list[PreparedFile]:
    """Prepare the MAGIC files (by the workers of ``pool``, else in this process) into cache
    runs in ``directory``.

    Returns
    -------
    list of PreparedFile
        Those of the files with a parameter table, in order.

    Raises
    ------
    InvalidFileError
        The first file at fault, as :func:`lmcoinc.io.magic.iter_magic_files`.
    OutputError
        If a cache run cannot be written.
    """
    jobs_ = [(index, path, directory) for index, path in enumerate(files)]
    outcomes = (_in_workers(jobs_, pool) if pool is not None and len(files) > 1
                else map(_prepare, jobs_))
    prepared, first = [], None
    for outcome in outcomes:
        for record in outcome.records:
            logging.getLogger(record.name).handle(record)
        if outcome.error is not None:
            kind, path, text = outcome.error
            if kind == "invalid":
                raise InvalidFileError(path, text)
            if kind == "output":
                raise OutputError(text)
            raise RuntimeError(f"{path}: {text}")
        if outcome.prepared is not None:
            first = check_same_columns(outcome.prepared.path, outcome.prepared.names, first)
            prepared.append(outcome.prepared)
    return prepared


def _prepare(job: tuple[int, Path, Path]) -> _Outcome:
    """Read one MAGIC file and write its cache run; an error is returned, not raised."""
    index, path, directory = job
    try:
        found = read_magic_table(path, decode_subarray=index == 0)
        prepared = None if found is None else _write_run(found, index, directory)
    except InvalidFileError as err:
        return _Outcome(index, error=("invalid", str(err.path), err.problem))
    except OutputError as err:  # its cache run cannot be written
        return _Outcome(index, error=("output", str(path), str(err)))
    release_free_memory()
    return _Outcome(index, prepared)


def _write_run(found: MagicTable, index: int, directory: Path) -> PreparedFile:
    """Write the events with a valid time of one MAGIC file, sorted by time, to a cache run."""
    rows = found.rows
    bad = invalid_times(rows["time_sec"], rows["time_nanosec"])
    good = np.flatnonzero(~bad) if bad.any() else None  # None: all rows
    invalid_ids = arrange_rows(rows, np.flatnonzero(bad), ("obs_id", "event_id", "tel_id"))
    run = None
    if len(rows) > np.count_nonzero(bad):
        valid = rows if good is None else rows[good]
        t = magic_ns(valid["time_sec"], valid["time_nanosec"])
        order = np.argsort(t, kind="stable")
        run = CacheRun(directory / f"run-{index:05}.arrow", int(t[order[0]]), int(t[order[-1]]),
                       found.path)
        if np.any(order[1:] < order[:-1]):
            good, t = (order if good is None else good[order]), t[order]
        frame = arrange_rows(rows, good).hstack([pl.Series(TIME_COLUMN, t, dtype=pl.Int64)])
        with atomic_file(run.path) as temp:
            frame.write_ipc(temp, compression="uncompressed")
    ranges, repeated = _ids(*(rows[c] for c in ("obs_id", "event_id", "tel_id")))
    return PreparedFile(found.path, run, ranges, repeated, invalid_ids,
                        {tel for _, tel in ranges}, found.schema, found.names, found.subarray)


def _ids(obs: np.ndarray, event: np.ndarray, tel: np.ndarray) -> tuple[dict, pl.DataFrame]:
    """(obs_id, tel_id) → first and last event_id, and the ids that occur more than once."""
    order = np.lexsort((event, tel, obs))
    obs, event, tel = obs[order], event[order], tel[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (obs[1:] != obs[:-1]) | (tel[1:] != tel[:-1])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(order)) - 1
    ranges = {(int(obs[a]), int(tel[a])): (int(event[a]), int(event[b]))
              for a, b in zip(starts, ends, strict=True)}
    again = np.flatnonzero(~new[1:] & (event[1:] == event[:-1])) + 1
    repeated = pl.DataFrame({"obs_id_magic": obs[again], "event_id_magic": event[again],
                             "tel_id": tel[again]}, schema=dict.fromkeys(MAGIC_INDEX, pl.Int64))
    return ranges, repeated.unique() if len(again) else repeated


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


def _in_workers(jobs_: list[tuple[int, Path, Path]], pool: WorkerPool) -> Iterator[_Outcome]:
    """The outcomes of the jobs run by the pool's workers, in the jobs' order."""
    outcomes: dict[int, _Outcome] = {}

    def died(job: Any, exitcode: int | None) -> None:  # the file once more, in this process
        log.warning("%s: %s while preparing it for the MAGIC cache; prepared again in the main "
                    "process", job[1], death_message(exitcode))
        outcomes[job[0]] = _prepare(job)

    pool.run(jobs_, _prepare_in_worker,
             lambda outcome: outcomes.__setitem__(outcome.index, outcome), died)
    return (outcomes[index] for index, _, _ in jobs_)
