"""One task of a batch: the coincidence of one LST-1 subrun, as a summary row.

:func:`run_task` runs in the batch process, a worker process or on a Dask
worker; it calls :func:`lmcoinc.pipeline.process_subrun` (what ``lmcoinc run``
does) with the batch's MAGIC cache, the night's priors and the subrun's
dataset partition, and never raises an ``Exception``: a failing subrun
becomes a ``failed`` row.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import CoincidenceConfig
from ..errors import LmcoincError, NoCoincidenceError, OutputError, exit_code, one_line
from ..io.magic_cache import MagicCache, OutsideCache
from ..io.magic_source import MagicDirectory
from ..io.output import DatasetPartition, output_names
from ..pairing import Priors
from ..pipeline import SubrunReport, process_subrun
from ..quality.diagnostics import summary_values
from ..utils.named_warnings import named_warnings
from .records import read_record, record_path, write_record
from .summary import max_rss_mb, summary_schema
from .workers import KILL_ENV

__all__ = [
    "KILL_ONCE_ENV",
    "SubrunTask",
    "empty_row",
    "failed_row",
    "previous_row",
    "run_task",
    "run_task_in_worker",
]

log = logging.getLogger(__name__)

#: Fault injection with :data:`~.workers.KILL_ENV`: a file that the first worker to get
#: the task creates before it kills itself; the task's next attempt runs (a worker lost
#: once, the task retried elsewhere).
KILL_ONCE_ENV = "LMCOINC_KILL_WORKER_ONCE"


@dataclass(frozen=True)
class SubrunTask:
    """Everything a worker needs to process one LST-1 subrun.

    Attributes
    ----------
    index : int
        Position of the file in the sorted LST file list.
    lst_file : pathlib.Path
        The LST-1 subrun file.
    obs_id, subrun : int or None
        From the file name (``Run03265.0040``); None when the name has no such
        part (then the table's obs_id and ``index`` are used).
    output_dir : pathlib.Path
        The batch output directory.
    config : CoincidenceConfig
        Settings.
    fingerprint : str
        Digest of the inputs and config (:func:`.records.inputs_digest`), stored
        in the subrun's record with the software that made it.
    priors : Priors
        What the night teaches the subrun (its first pass: the history fallback).
    magic : MagicCache or None
        The MAGIC events (set once the cache is built).
    """

    index: int
    lst_file: Path
    obs_id: int | None
    subrun: int | None
    output_dir: Path
    config: CoincidenceConfig
    fingerprint: str
    priors: Priors = field(default_factory=Priors)
    magic: MagicCache | None = None

    @property
    def record(self) -> Path:
        """The subrun's resume record."""
        name = output_names(self.lst_file, self.output_dir)["hdf5"].name
        return record_path(self.output_dir, name)

    def outputs(self, row: dict[str, Any]) -> list[Path]:
        """The files a complete subrun of summary row ``row`` has: its HDF5 file and its
        partition of the dataset (where a batch writes its Parquet tables)."""
        partition = DatasetPartition(self.output_dir, row["obs_id"], row["subrun"])
        return list(output_names(self.lst_file, self.output_dir, dataset=partition).values())


def empty_row(task: SubrunTask) -> dict[str, Any]:
    """A summary row with the task's identity and nothing else."""
    row = dict.fromkeys(summary_schema(task.config.magic_tel_ids))
    row.update(lst_file=task.lst_file.name, obs_id=task.obs_id,
               subrun=task.subrun if task.subrun is not None else task.index)
    return row


def failed_row(task: SubrunTask, message: str, exit_code: int = 1) -> dict[str, Any]:
    """The row of a task that did not report (e.g. its worker died)."""
    row = empty_row(task)
    row.update(status="failed", exit_code=exit_code, error=one_line(message), warnings=[])
    return row


def previous_row(task: SubrunTask, keep_other_versions: bool = False
                 ) -> tuple[dict[str, Any] | None, str | None]:
    """The summary row of a complete earlier run of this subrun (status ``skipped``), or
    None; and the other lmcoinc version that made it, if another did (its row is None
    unless ``keep_other_versions``)."""
    found = read_record(task.record, task.fingerprint, task.outputs)
    if found is None or (found.software is not None and not keep_other_versions):
        return None, None if found is None else found.software
    row = empty_row(task)
    row.update({k: v for k, v in found.row.items() if k in row})
    row.update(status="skipped", seconds=0.0, max_rss_mb=None)
    return row, found.software


def _fill(row: dict[str, Any], report: SubrunReport, priors: Priors) -> None:
    """Put what a subrun found, as far as it came, in its summary row."""
    row["n_lst_events"] = report.n_lst_events
    if row["obs_id"] is None:
        row["obs_id"] = report.obs_id
    for tel_id, night_ns in priors.night_offsets_ns.items():  # the night model's, if redone
        row[f"night_offset_us_tel{tel_id}"] = night_ns / 1000
    if report.result is None:
        return
    for tel_id, found in report.result.telescopes.items():
        n_pairs, n_magic = found.n_pairs, len(found.candidates)
        row[f"offset_us_tel{tel_id}"] = found.average_offset_ns / 1000
        row[f"n_coincidence_tel{tel_id}"] = n_pairs
        row[f"n_events_magic_tel{tel_id}"] = n_magic
        row[f"fraction_tel{tel_id}"] = n_pairs / n_magic if n_magic else None
        clock = found.clock_offset_ns
        row[f"clock_offset_us_tel{tel_id}"] = None if clock is None else clock / 1000
        row[f"drift_us_per_s_tel{tel_id}"] = getattr(found, "drift_us_per_s", None)
        row[f"n_offset_steps_tel{tel_id}"] = len(found.steps)
    sources = sorted({t.offset_source for t in report.result.telescopes.values()} - {"local"})
    row["offset_source"] = "+".join(sources) or "local"
    magic_runs = report.result.events.plan["obs_id_magic"].drop_nulls()
    row["magic_obs_id"] = int(magic_runs.mode().min()) if len(magic_runs) else None
    row.update(summary_values(report.result))


def _process(task: SubrunTask, row: dict[str, Any], report: SubrunReport) -> None:
    """The subrun's coincidence with the batch's MAGIC cache, priors and dataset partition."""
    if task.magic is None:
        raise RuntimeError("the task has no MAGIC events")
    dataset = DatasetPartition(task.output_dir, task.obs_id, row["subrun"])
    try:
        process_subrun(task.lst_file, task.magic, task.output_dir, task.config,
                       priors=task.priors, dataset=dataset, report=report)
    except OutsideCache as outside:
        log.info("%s: %s; the MAGIC directory is read", task.lst_file.name, outside)
        magic = MagicDirectory(task.magic.root, task.config.tel_names)
        process_subrun(task.lst_file, magic, task.output_dir, task.config,
                       priors=task.priors, dataset=dataset, report=report)
    row.update(status="ok", exit_code=0)


def run_task(task: SubrunTask) -> dict[str, Any]:
    """Coincidence of one LST-1 subrun; its summary row. Never raises an ``Exception``."""
    start = time.perf_counter()
    row = empty_row(task)
    report = SubrunReport()
    with named_warnings(task.lst_file.name) as row["warnings"]:
        try:
            _process(task, row, report)
        except NoCoincidenceError as err:
            row.update(status="no_coincidence", exit_code=exit_code(err), error=one_line(err))
        except LmcoincError as err:
            row.update(status="failed", exit_code=exit_code(err), error=one_line(err))
        except Exception as err:  # noqa: BLE001 - one subrun must not stop the night
            log.debug("subrun %s failed", task.lst_file, exc_info=True)
            row.update(status="failed", exit_code=1,
                       error=one_line(f"internal error: {type(err).__name__}: {err}"))
    _fill(row, report, task.priors)
    if row["status"] != "failed":
        try:
            write_record(task.record, task.fingerprint, {**row, "seconds": None,
                                                          "max_rss_mb": None})
        except OutputError as err:
            row.update(status="failed", exit_code=exit_code(err),
                       error=one_line(f"cannot write the record of the subrun: {err}"))
    row["seconds"] = time.perf_counter() - start
    row["max_rss_mb"] = max_rss_mb()
    return row


def run_task_in_worker(task: SubrunTask) -> dict[str, Any]:
    """:func:`run_task` in a worker process (of the batch's pool or Dask's).

    With the environment variable :data:`~.workers.KILL_ENV` naming the task's
    LST file, the worker kills itself with SIGKILL instead (fault injection);
    with :data:`KILL_ONCE_ENV` too, only the first worker to get it does.
    """
    if os.environ.get(KILL_ENV) == task.lst_file.name and _first_attempt():
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task)


def _first_attempt() -> bool:
    """Whether this is the task's first attempt (:data:`KILL_ONCE_ENV`: its file is created
    now), or no such file is named."""
    marker = os.environ.get(KILL_ONCE_ENV)
    if not marker:
        return True
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
