"""Night-scale batch: every LST-1 subrun of a directory with one MAGIC directory.

``lmcoinc batch`` runs, for each LST-1 subrun file, what ``lmcoinc run -l
FILE -m MAGIC_DIR`` computes (:func:`lmcoinc.subrun.process_subrun`), with
identical output files, but reads the MAGIC directory once into a cache
(:mod:`.cache`), runs the subruns as tasks (:mod:`.task`) in this process,
worker processes or on Dask (:mod:`.executors`), skips the subruns an earlier
batch completed (:mod:`.records`) and writes a summary (:mod:`.summary`).
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from ..checks import check_output_dir
from ..config import CoincidenceConfig, load_config
from ..errors import EXIT_SUBRUNS_FAILED, MagicInputError, OutputError, input_roles
from ..io.atomic import remove_temporaries
from ..io.magic import find_magic_files
from .cache import MagicCache, build_magic_cache
from .discovery import LST_GLOB, find_lst_files, subrun_ids
from .executors import execute
from .lock import output_lock
from .night import NightLevel, levels_frame
from .records import STATE_DIR, file_stat, fingerprint
from .redo import add_night_columns, night_pass
from .run_model import rerun_with_run_model
from .summary import STATUSES, magic_tel_ids, summary_frame, write_summary
from .task import SubrunTask, previous_row

__all__ = [
    "LST_GLOB",
    "STATUSES",
    "BatchReporter",
    "BatchResult",
    "find_lst_files",
    "run_batch",
    "subrun_ids",
]

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
    tasks = []
    for index, path in enumerate(lst_files):
        obs_id, subrun = subrun_ids(path)
        tasks.append(SubrunTask(
            index=index, lst_file=path, obs_id=obs_id, subrun=subrun, output_dir=output_dir,
            config=config, fingerprint=fingerprint(config, path, magic_stats),
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


def run_batch(
    lst_dir: str | Path,
    magic_dir: str | Path,
    output_dir: str | Path,
    config: CoincidenceConfig | None = None,
    *,
    jobs: int = 1,
    dask_scheduler: str | None = None,
    overwrite: bool = False,
    reporter: BatchReporter | None = None,
    night: bool = True,
) -> BatchResult:
    """Run the coincidence of every LST-1 subrun of ``lst_dir`` with ``magic_dir``.

    Parameters
    ----------
    lst_dir : str or pathlib.Path
        Directory of the LST-1 subrun files (``dl1_LST-1*.h5``).
    magic_dir : str or pathlib.Path
        Directory of the MAGIC ``dl1_*.h5`` files (the whole night or run).
    output_dir : str or pathlib.Path
        Where the per-subrun outputs of ``lmcoinc run``, the Parquet dataset
        (``parquet/``) and ``summary.parquet`` are written.
    config : CoincidenceConfig, optional
        Settings (default: the built-in config).
    jobs : int
        Number of worker processes; 1 runs in this process.
    dask_scheduler : str, optional
        Address of a Dask distributed scheduler to run the tasks on instead;
        the workers must see ``output_dir`` (shared file system).
    overwrite : bool
        Recompute subruns whose outputs are complete.
    reporter : BatchReporter, optional
        Told when the tasks start and as each finishes.
    night : bool
        Apply the night model (:mod:`.redo`): weak subruns are run again with
        the clock offset of the sound subruns around them to fall back on.

    Returns
    -------
    BatchResult
        The summary (also written to ``OUT/summary.parquet``) and exit code.

    Raises
    ------
    LmcoincError
        When nothing can be done: no LST file, an invalid MAGIC directory
        (missing, no events, differing subarrays), an unwritable output
        directory, or an unusable Dask scheduler.
    """
    started = time.perf_counter()
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    config = config if config is not None else load_config(None)
    if config.history_fallback is None:  # batch's default: fall back on the history
        config = replace(config, history_fallback=True)
    reporter = reporter or BatchReporter()
    lst_dir, magic_dir, output_dir = Path(lst_dir), Path(magic_dir), Path(output_dir)
    lst_files = find_lst_files(lst_dir)
    with input_roles({magic_dir: MagicInputError}):
        magic_stats = [file_stat(p) for p in find_magic_files(magic_dir)]
    _prepare_output(output_dir)
    with output_lock(output_dir):
        _remove_leftovers(output_dir)
        tasks = _tasks(lst_files, magic_stats, output_dir, config)
        rows, (model, redo) = _process(tasks, magic_dir, config, overwrite, reporter, night,
                                       partial(_run, jobs=jobs, dask_scheduler=dask_scheduler),
                                       len(magic_stats), jobs)
        summary, levels = _write_tables([rows[t.index] for t in tasks], model, config,
                                        output_dir)
    failed = summary.filter(pl.col("status") == "failed").height
    return BatchResult(summary, output_dir / "summary.parquet",
                       EXIT_SUBRUNS_FAILED if failed else 0, time.perf_counter() - started,
                       levels, len(redo))


_Model = dict[int, list[NightLevel]]


def _process(tasks: list[SubrunTask], magic_dir: Path, config: CoincidenceConfig,
             overwrite: bool, reporter: BatchReporter, night: bool, execute_: Callable,
             n_magic: int, jobs: int) -> tuple[dict[int, dict[str, Any]], tuple[_Model, list]]:
    """The rows of the tasks (those done before kept unless ``overwrite``) and
    the night model with the subruns it redid (the MAGIC cache made by ``jobs`` processes)."""
    rows = {t.index: row for t in tasks
            if not overwrite and (row := previous_row(t)) is not None}
    pending = [t for t in tasks if t.index not in rows]
    if pending:
        reporter.start(len(tasks), len(pending), n_magic)
    with ExitStack() as stack:
        cache = _LazyCache(stack, magic_dir, tasks[0].output_dir, config, jobs)
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
        if config.offset_model == "drift":  # sparse subruns again, with the run's model
            rerun_with_run_model(tasks, pending, rows,
                                 lambda again, redone: run(again, report=redone, keep=False))
    if not night:
        return {}, []
    # the subruns redone are not reported: the progress counts the first pass
    return night_pass(tasks, rows, config, lambda weak: run(weak, report=lambda row: None))


def _write_tables(rows: list[dict[str, Any]], model: dict[int, list[NightLevel]],
                  config: CoincidenceConfig, output_dir: Path
                  ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Write ``summary.parquet`` (the rows with the night model's columns) and
    ``night.parquet`` (its levels); both tables."""
    add_night_columns(rows, model)
    summary = summary_frame(rows, magic_tel_ids(config))
    write_summary(summary, output_dir / "summary.parquet")
    levels = levels_frame([lv for tel in model.values() for lv in tel],
                          [row["subrun"] for row in rows])
    write_summary(levels, output_dir / "night.parquet")
    return summary, levels


@dataclass
class _LazyCache:
    """The MAGIC cache, built when first asked for, removed when ``stack`` closes."""

    stack: ExitStack
    magic_dir: Path
    output_dir: Path
    config: CoincidenceConfig
    jobs: int
    cache: MagicCache | None = None

    def get(self) -> MagicCache:
        if self.cache is None:
            self.cache = self.stack.enter_context(
                _magic_cache(self.magic_dir, self.output_dir, self.config, self.jobs))
        return self.cache


@contextmanager
def _magic_cache(magic_dir: Path, output_dir: Path, config: CoincidenceConfig, jobs: int
                 ) -> Iterator[MagicCache]:
    """Build the MAGIC cache with ``jobs`` processes; remove it at the end."""
    cache_dir = output_dir / STATE_DIR / "cache" / f"magic-{uuid.uuid4().hex[:8]}"
    try:
        with input_roles({magic_dir: MagicInputError}):
            cache = build_magic_cache(magic_dir, cache_dir, config, jobs)
        yield cache
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)


def _run(
    tasks: list[SubrunTask],
    cache: _LazyCache,
    jobs: int,
    dask_scheduler: str | None,
    rows: dict[int, dict[str, Any]],
    report: Callable[[dict[str, Any]], None],
    keep: bool = True,
) -> None:
    """Run the tasks with the MAGIC cache; give their rows to ``report`` (and, with ``keep``,
    put them in ``rows``)."""
    index = {t.lst_file.name: t.index for t in tasks}

    def done(row: dict[str, Any]) -> None:
        if keep:
            rows[index[row["lst_file"]]] = row
        report(row)

    try:
        execute([replace(t, magic=cache.get()) for t in tasks], jobs, dask_scheduler, done)
    finally:
        if dask_scheduler is None:  # every worker has ended: what they left is garbage
            remove_temporaries(cache.output_dir)  # (a worker stopped twice by a Ctrl-C)
