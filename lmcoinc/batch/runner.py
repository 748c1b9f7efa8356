"""A night: every LST-1 subrun of a directory with one MAGIC directory (``lmcoinc batch``).

:func:`run_batch` runs, for each LST-1 subrun file, what ``lmcoinc run -l
FILE -m MAGIC_DIR`` computes (:func:`lmcoinc.pipeline.process_subrun`), with
identical output files, but reads the MAGIC files that its subruns need once
into a cache (:mod:`.cache`), runs the subruns as tasks (:mod:`.task`) in this
process, worker processes started once for the batch (:mod:`.workers`: they
build the cache, then run the subruns) or on Dask (:mod:`.executors`; every path
absolute first: the workers run elsewhere), skips the subruns an earlier
batch completed (:mod:`.records`), runs the weak subruns again with what the
night teaches them (:mod:`.run_model`, :mod:`.redo`) and writes a summary
(:mod:`.summary`).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from ..config import ClusterSettings, CoincidenceConfig, config_yaml, load_config
from ..errors import EXIT_SUBRUNS_FAILED, MagicInputError, OutputError, input_roles
from ..io.atomic import remove_temporaries
from ..io.magic import find_magic_files
from ..io.magic_cache import MagicCache
from ..io.output_dir import check_output_dir
from ..io.provenance import file_entry, now_utc, provenance, software_versions
from ..pairing import command_priors
from .cache import batch_cache
from .dask_client import Dask, dask_workers
from .discovery import LstSelection, find_lst_files, subrun_ids
from .executors import execute
from .lock import output_lock
from .night import NightLevel, levels_frame
from .records import STATE_DIR, file_stat, inputs_digest, software_version
from .redo import add_night_columns, night_pass
from .run_model import rerun_with_run_model
from .summary import summary_frame, write_summary
from .task import SubrunTask, previous_row
from .workers import BATCH_MODULES, WorkerPool

__all__ = ["BatchReporter", "BatchResult", "run_batch"]

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    """Outcome of :func:`run_batch`.

    Attributes
    ----------
    summary : polars.DataFrame
        One row per LST subrun, in file order (see :func:`.summary.summary_schema`).
    summary_path : pathlib.Path
        ``OUT/summary.parquet``.
    exit_code : int
        0 when no subrun failed, :data:`lmcoinc.errors.EXIT_SUBRUNS_FAILED` otherwise.
    seconds : float
        Wall time of the batch.
    night : polars.DataFrame
        The levels of the night model (also ``OUT/night.parquet``; empty without it).
    redone : int
        Number of weak subruns run again with the night model's offsets.
    """

    summary: pl.DataFrame
    summary_path: Path
    exit_code: int
    seconds: float
    night: pl.DataFrame = field(default_factory=lambda: levels_frame([], []))
    redone: int = 0


@dataclass
class BatchReporter:
    """What a batch tells its caller while it runs (the CLI shows a progress bar).

    Attributes
    ----------
    start : callable
        Called once before the tasks run, with (subruns in all, subruns to
        process, MAGIC files).
    done : callable
        Called with the summary row of each task as it finishes.
    """

    start: Callable[[int, int, int], None] = lambda total, pending, n_magic: None
    done: Callable[[dict[str, Any]], None] = lambda row: None


def _tasks(lst_files: list[Path], magic_stats: list, output_dir: Path,
           config: CoincidenceConfig) -> list[SubrunTask]:
    tasks, priors = [], command_priors(config, batch=True)
    for index, path in enumerate(lst_files):
        obs_id, subrun = subrun_ids(path)
        tasks.append(SubrunTask(
            index=index, lst_file=path, obs_id=obs_id, subrun=subrun, output_dir=output_dir,
            config=config, fingerprint=inputs_digest(config, path, magic_stats), priors=priors,
        ))
    return tasks


def _remove_leftovers(output_dir: Path) -> None:
    """Remove what batches killed with SIGKILL left: temporary files, MAGIC caches."""
    removed = remove_temporaries(output_dir)
    for path in (output_dir / STATE_DIR / "cache").iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.warning("%s: removed %d temporary files left by an interrupted batch",
                    output_dir, len(removed))


def _prepare_output(output_dir: Path) -> None:
    check_output_dir(output_dir)
    try:
        (output_dir / STATE_DIR / "cache").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{output_dir}: cannot create {STATE_DIR} ({err.strerror})") from None


def _find_inputs(lst_dir: Path, magic_dir: Path, select: LstSelection | None
                 ) -> tuple[list[Path], list[Path], list]:
    """The LST-1 subrun files selected, the MAGIC files and their :func:`.records.file_stat`."""
    lst_files = find_lst_files(lst_dir, select or LstSelection())
    with input_roles({magic_dir: MagicInputError}):
        magic_files = find_magic_files(magic_dir)
        return lst_files, magic_files, [file_stat(p) for p in magic_files]


@contextmanager
def _locked_output(output_dir: Path, shared: list[Path], dask_scheduler: str | None,
                   cluster: ClusterSettings | None) -> Iterator[Dask | None]:
    """The output directory checked, locked and cleared of what killed batches left, with
    the Dask workers of the batch (checked to see the ``shared`` directories), or None."""
    _prepare_output(output_dir)
    with output_lock(output_dir), dask_workers(dask_scheduler, cluster, shared) as dask:
        _remove_leftovers(output_dir)
        yield dask


def run_batch(
    lst_dir: str | Path,
    magic_dir: str | Path,
    output_dir: str | Path,
    config: CoincidenceConfig | None = None,
    *,
    jobs: int = 1,
    dask_scheduler: str | None = None,
    cluster: ClusterSettings | None = None,
    overwrite: bool = False,
    reporter: BatchReporter | None = None,
    night: bool = True,
    select: LstSelection | None = None,
    keep_other_versions: bool = False,
    workers: WorkerPool | None = None,
) -> BatchResult:
    """Run the coincidence of every LST-1 subrun of ``lst_dir`` with ``magic_dir``.

    Parameters
    ----------
    lst_dir : str or pathlib.Path
        Directory of the LST-1 subrun files (``dl1_LST-1.Run03265.0040.h5``).
    magic_dir : str or pathlib.Path
        Directory of the MAGIC ``dl1_*.h5`` files (the whole night or run).
    output_dir : str or pathlib.Path
        Where the per-subrun outputs of ``lmcoinc run``, the Parquet dataset
        (``parquet/``) and ``summary.parquet`` are written.
    config : CoincidenceConfig, optional
        Settings (default: the built-in config).
    jobs, workers : int, WorkerPool, optional
        Number of worker processes (1: this process); those the caller started, stopped here.
    dask_scheduler, cluster : str or ClusterSettings, optional
        A Dask scheduler's address, or a Dask cluster to start (:mod:`.cluster`), to run the
        tasks on; the workers must see ``lst_dir`` and ``output_dir`` (checked first).
    overwrite : bool
        Recompute subruns whose outputs are complete.
    reporter : BatchReporter, optional
        Told when the tasks start and as each finishes.
    night : bool
        Apply the night model (:mod:`.redo`): weak subruns are run again with the clock
        offset of the sound subruns around them to fall back on.
    select : LstSelection, optional
        Only some runs and subruns, or the merged run files (:mod:`.discovery`).
    keep_other_versions : bool
        Keep the complete subruns another lmcoinc version made from the same inputs
        (default: do them again); a warning names them either way.

    Returns
    -------
    BatchResult
        The summary (also written to ``OUT/summary.parquet``) and exit code.

    Raises
    ------
    LmcoincError
        When nothing can be done: no LST file, an invalid MAGIC directory
        (missing, no events, differing subarrays), an unwritable output
        directory, or an unusable Dask scheduler or cluster.
    """
    started, started_utc = time.perf_counter(), now_utc()
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    config, reporter = config or load_config(None), reporter or BatchReporter()
    # tasks run in other directories and on other hosts: no path relative to this one
    lst_dir, magic_dir, output_dir = (Path(p).resolve() for p in (lst_dir, magic_dir, output_dir))
    lst_files, magic_files, magic_stats = _find_inputs(lst_dir, magic_dir, select)
    with _locked_output(output_dir, [output_dir, lst_dir], dask_scheduler, cluster) as dask, \
            ExitStack() as removals:
        tasks = _tasks(lst_files, magic_stats, output_dir, config)
        inputs = _inputs(lst_files, magic_files)
        done = {} if overwrite else _previous_rows(tasks, output_dir, keep_other_versions)
        rows, (model, redo) = _process(tasks, magic_dir, config, done, reporter, night,
                                       partial(_run, jobs=jobs, dask=dask),
                                       len(magic_stats), jobs, workers, removals)
        summary, levels = _write_tables([rows[t.index] for t in tasks], model, config,
                                        output_dir, inputs, started_utc)
    failed = summary.filter(pl.col("status") == "failed").height
    return BatchResult(summary, output_dir / "summary.parquet",
                       EXIT_SUBRUNS_FAILED if failed else 0, time.perf_counter() - started,
                       levels, len(redo))


_Model = dict[int, list[NightLevel]]


def _inputs(lst_files: list[Path], magic_files: list[Path]) -> list[dict[str, Any]]:
    """The input files of the batch as its provenance lists them: all of them. Found, with
    the software versions, while the workers start: not between the last subrun and the
    summary."""
    software_versions()
    return [*(file_entry(p, "lst") for p in lst_files),
            *(file_entry(p, "magic") for p in magic_files)]


def _previous_rows(tasks: list[SubrunTask], output_dir: Path, keep_other_versions: bool
                   ) -> dict[int, dict[str, Any]]:
    """The rows of the subruns complete from an earlier batch; those made by another lmcoinc
    are named in a warning (and kept only with ``keep_other_versions``)."""
    rows, others = {}, []
    for task in tasks:
        row, software = previous_row(task, keep_other_versions)
        if row is not None:
            rows[task.index] = row
        if software is not None:
            others.append(f"{task.lst_file.name} ({software})")
    if others:
        what = ("kept as they are (keep_other_versions); their outputs are that version's"
                if keep_other_versions else "done again (--keep-other-versions keeps them)")
        log.warning("%s: %d complete subruns were made by another version of lmcoinc than %s: "
                    "%s; %s", output_dir, len(others), software_version(), ", ".join(others),
                    what)
    return rows


def _process(tasks: list[SubrunTask], magic_dir: Path, config: CoincidenceConfig,
             rows: dict[int, dict[str, Any]], reporter: BatchReporter, night: bool,
             execute_: Callable, n_magic: int, jobs: int, workers: WorkerPool | None = None,
             removals: ExitStack | None = None
             ) -> tuple[dict[int, dict[str, Any]], tuple[_Model, list]]:
    """The rows of the tasks (those done before given in ``rows``) and the night model with
    the subruns it redid (the MAGIC cache made by ``jobs`` processes, ``workers`` if given;
    its files removed, and the workers ending, in the background until ``removals`` closes,
    if given)."""
    pending = [t for t in tasks if t.index not in rows]
    if pending:
        reporter.start(len(tasks), len(pending), n_magic)
    with ExitStack() as stack:
        pool = _LazyPool(stack, jobs, removals, None if workers is None
                         else stack.enter_context(workers.join_later(removals)))
        if pending:
            pool.get()  # the workers import while the cache is planned
        cache = _LazyCache(stack, magic_dir, tasks[0].output_dir, config, pool,
                           [t.lst_file for t in tasks], removals)
        run = partial(execute_, rows=rows, cache=cache)
        return rows, _passes(tasks, pending, rows, config, run, reporter, night)


def _passes(
    tasks: list[SubrunTask], pending: list[SubrunTask], rows: dict[int, dict[str, Any]],
    config: CoincidenceConfig, run: Callable, reporter: BatchReporter, night: bool,
) -> tuple[dict[int, list[NightLevel]], list]:
    """The tasks to do, then (drift mode) the sparse subruns with the run's model, then the
    night model's weak subruns; the night model and the subruns it redid."""
    if pending:
        run(pending, report=reporter.done)
        # sparse subruns again, with what the others teach (drift mode: the run's offset)
        rerun_with_run_model(tasks, pending, rows,
                             lambda again, redone: run(again, report=redone, keep=False))
    if not night:
        return {}, []
    # the subruns redone are not reported: the progress counts the first pass
    return night_pass(tasks, rows, config, lambda weak: run(weak, report=lambda row: None))


def _write_tables(rows: list[dict[str, Any]], model: dict[int, list[NightLevel]],
                  config: CoincidenceConfig, output_dir: Path, inputs: list[dict[str, Any]],
                  started: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Write ``summary.parquet`` (the rows with the night model's columns) and
    ``night.parquet`` (its levels), with the batch's provenance (its ``inputs``, started at
    ``started``); both tables."""
    document = provenance("batch", config_yaml(config), inputs, started)
    add_night_columns(rows, model)
    summary = summary_frame(rows, config.magic_tel_ids)
    write_summary(summary, output_dir / "summary.parquet", "summary", document)
    levels = levels_frame([lv for tel in model.values() for lv in tel],
                          [row["subrun"] for row in rows])
    write_summary(levels, output_dir / "night.parquet", "night", document)
    return summary, levels


@dataclass
class _LazyPool:
    """The batch's worker processes (``jobs`` > 1): ``pool`` if given, else started when first
    asked for and stopped when ``stack`` closes (waited for when ``later`` closes)."""

    stack: ExitStack
    jobs: int
    later: ExitStack | None = None
    pool: WorkerPool | None = None

    def get(self) -> WorkerPool | None:
        if self.pool is None and self.jobs > 1:
            self.pool = self.stack.enter_context(
                WorkerPool(self.jobs, BATCH_MODULES).join_later(self.later))
        return self.pool


@dataclass
class _LazyCache:
    """The MAGIC cache of the MAGIC files that the LST files need, built when first asked
    for (by the pool's workers), removed when ``stack`` closes."""

    stack: ExitStack
    magic_dir: Path
    output_dir: Path
    config: CoincidenceConfig
    pool: _LazyPool
    lst_files: list[Path]
    removals: ExitStack | None = None
    cache: MagicCache | None = None

    def get(self) -> MagicCache:
        if self.cache is None:
            self.cache = self.stack.enter_context(batch_cache(
                self.magic_dir, self.output_dir, self.config, self.pool.get(), self.lst_files,
                self.removals))
        return self.cache


def _run(tasks: list[SubrunTask], cache: _LazyCache, jobs: int, dask: Dask | None,
         rows: dict[int, dict[str, Any]], report: Callable[[dict[str, Any]], None],
         keep: bool = True) -> None:
    """Run the tasks with the MAGIC cache; give their rows to ``report`` (and, with ``keep``,
    put them in ``rows``)."""
    index = {t.lst_file.name: t.index for t in tasks}

    def done(row: dict[str, Any]) -> None:
        if keep:
            rows[index[row["lst_file"]]] = row
        report(row)

    if dask is not None:  # an unusable cluster is told before the MAGIC files are read
        dask.start(len(tasks))
    try:
        magic = cache.get()
        execute([replace(t, magic=magic) for t in tasks], jobs, dask, done,
                cache.pool.get() if dask is None else None)
    except BaseException:
        if dask is None:  # every worker has ended: what they left is garbage
            remove_temporaries(cache.output_dir)  # (a worker stopped twice by a Ctrl-C)
        raise  # (a cancelled Dask task may still be running: it removes its own)
    # every task has ended: what a lost worker left is garbage
    remove_temporaries(cache.output_dir)
