"""Night-scale batch: every LST-1 subrun of a directory with one MAGIC directory.

``lmcoinc batch`` runs, for each LST-1 subrun file, the coincidence that
``lmcoinc run -l FILE -m MAGIC_DIR`` computes, with identical output files,
but reads the MAGIC directory once:

1. The parent process finds the LST subrun files (``dl1_LST-1*.h5``), reads
   and prepares all MAGIC files once (:func:`lmcoinc.pipeline.load_magic`,
   whose duplicate removal needs every MAGIC row), checks once that all MAGIC
   subarrays are equal, and writes the prepared MAGIC events with their int64
   ns timestamps to a Parquet cache (``OUT/.lmcoinc/cache``) sorted by time
   in small row groups.
2. Each task (one LST subrun) reads its LST file, computes the time range of
   MAGIC events that can matter to it (:func:`magic_time_range`), reads just
   those rows of the cache (row-group statistics skip the rest) and restores
   their original order, then runs :func:`lmcoinc.pipeline.coincidence` and
   :func:`lmcoinc.pipeline.write_result` as ``run`` does, plus the subrun's
   partition of the Parquet dataset (:mod:`lmcoinc.dataset`).
3. Tasks run in-process (``jobs=1``), in worker processes, or on a Dask
   distributed cluster; one failing subrun is reported and the others go on.

Why the subset gives identical results: the reference selects, per MAGIC
telescope, the MAGIC events with ``L0 − w ≤ t ≤ Llast + w`` for the
pre-offset search (``L0``/``Llast``: first/last LST row in event-id order,
both within [tmin, tmax] of the LST timestamps) and pairs them with LST
events, so the pre-offset ``p`` (a mean of differences, rounded to 0.1 µs)
lies within ``±(D + w + 50 ns)`` with ``D = tmax − tmin``; the scanned offsets
lie within ``p ± 3w`` and the candidates within ``L0 + o_first − w`` …
``Llast + o_last + w``. Every MAGIC event that any step can use is therefore
within ``[tmin − D − 5w, tmax + D + 5w]`` (``[tmin + start − w, tmax + stop +
w]`` for the fixed scan range); a filter on that range (plus 200 ns) keeps the
row order, which is all the algorithm depends on.

Resumability: after a subrun's outputs are in place, a record
``OUT/.lmcoinc/records/<output name>.json`` is written with its summary row and
a fingerprint of its inputs (LST file and MAGIC files: names, sizes, mtimes;
the configuration). A later batch skips a subrun whose record matches and
whose outputs exist (``ok``), or whose record says ``no_coincidence``; failed
subruns are always retried; ``overwrite=True`` recomputes everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import re
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .checks import check_output_dir
from .config import MAGIC_NAMES, CoincidenceConfig
from .errors import (
    InputError,
    LmcoincError,
    NoCoincidenceError,
    OutputError,
)
from .offsets import TIME_ACCURACY_NS

__all__ = [
    "EXIT_SUBRUNS_FAILED",
    "LST_GLOB",
    "BatchResult",
    "SchedulerError",
    "SubrunTask",
    "find_lst_files",
    "magic_time_range",
    "run_batch",
    "run_subrun",
    "subrun_ids",
    "summary_table",
]

log = logging.getLogger(__name__)

#: Glob of the LST-1 subrun files in ``--lst-dir``.
LST_GLOB = "dl1_LST-1*.h5"
#: Exit code of ``lmcoinc batch`` when at least one subrun failed.
EXIT_SUBRUNS_FAILED = 4
#: Statuses of a subrun in the summary.
STATUSES = ("ok", "skipped", "no_coincidence", "failed")

_STATE_DIR = ".lmcoinc"
_T = "_lmcoinc_t_ns"
_ROW = "_lmcoinc_row"
_CACHE_ROW_GROUP = 16_384
_RUN_RE = re.compile(r"Run(\d+)\.(\d+)")


class SchedulerError(LmcoincError):
    """The Dask scheduler cannot be used (dask not installed, not reachable)."""

    exit_code = 2


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
    magic_cache : pathlib.Path or None
        Parquet cache of the prepared MAGIC events (None: given in memory).
    magic_files : tuple of pathlib.Path
        The MAGIC files used (for the output subarray and images).
    fingerprint : str
        Digest of the inputs and config, stored in the subrun's record.
    """

    index: int
    lst_file: Path
    obs_id: int | None
    subrun: int | None
    output_dir: Path
    config: CoincidenceConfig
    magic_cache: Path | None
    magic_files: tuple[Path, ...]
    fingerprint: str


@dataclass
class BatchResult:
    """Outcome of :func:`run_batch`.

    Attributes
    ----------
    summary : polars.DataFrame
        One row per LST subrun, in file order (see :func:`summary_schema`).
    summary_path : pathlib.Path
        ``OUT/summary.parquet``.
    exit_code : int
        0 when no subrun failed, :data:`EXIT_SUBRUNS_FAILED` otherwise.
    seconds : float
        Wall time of the batch.
    """

    summary: pl.DataFrame
    summary_path: Path
    exit_code: int
    seconds: float


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------
def find_lst_files(lst_dir: str | Path) -> list[Path]:
    """The LST-1 subrun files (``dl1_LST-1*.h5``) of a directory, in name order.

    Raises
    ------
    InputError
        If the directory does not exist or holds no such file.
    """
    lst_dir = Path(lst_dir)
    if not lst_dir.is_dir():
        raise InputError(f"{lst_dir}: LST directory not found")
    files = sorted(p for p in lst_dir.glob(LST_GLOB) if p.is_file())
    if not files:
        raise InputError(f"{lst_dir}: no LST-1 DL1 subrun files ({LST_GLOB})")
    return files


def subrun_ids(path: str | Path) -> tuple[int | None, int | None]:
    """LST obs_id and subrun from a file name like ``dl1_LST-1.Run03265.0040.h5``."""
    found = _RUN_RE.search(Path(path).name)
    if found is None:
        return None, None
    return int(found.group(1)), int(found.group(2))


def magic_tel_ids(config: CoincidenceConfig) -> list[int]:
    """The MAGIC telescope ids in use, in config order."""
    return [config.tel_ids[n] for n in MAGIC_NAMES if config.tel_ids.get(n, 0) > 0]


def magic_time_range(t_lst: np.ndarray, config: CoincidenceConfig) -> tuple[int, int]:
    """Range of MAGIC timestamps (int64 ns, inclusive) that can matter to an LST subrun.

    A superset of every MAGIC event the coincidence of these LST events can
    use (see the module docstring).

    Parameters
    ----------
    t_lst : numpy.ndarray
        LST timestamps (int64 ns) of the prepared events, not empty.
    config : CoincidenceConfig
        Settings (window, pre-offset search or fixed scan range).
    """
    w = config.window_half_width_ns
    tmin, tmax = int(t_lst.min()), int(t_lst.max())
    margin = 2 * TIME_ACCURACY_NS
    if config.pre_offset_search:
        span = tmax - tmin
        return tmin - span - 5 * w - margin, tmax + span + 5 * w + margin
    return (
        tmin + config.offset_start_ns - w - margin,
        tmax + config.offset_stop_ns + w + margin,
    )


def _stat(path: Path) -> list:
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def _fingerprint(config: CoincidenceConfig, lst_file: Path, magic_stat: list) -> str:
    payload = json.dumps([repr(config), _stat(lst_file), magic_stat], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def check_magic_subarrays(files: Sequence[Path]) -> None:
    """Check once, in the parent, that all MAGIC files have the subarray of the first one.

    The tasks then read the subarray of the first file only
    (``write_result(..., subarray_files=files[:1])``), which gives the same
    output file; the error is the one ``lmcoinc run`` gives.

    Raises
    ------
    MagicInputError
        If a subarray is missing, unreadable or differs from the first one.
    """
    from .io.subarray import check_same_subarrays

    if files:
        check_same_subarrays(list(files))


# ---------------------------------------------------------------------------
# MAGIC events: in memory or from the cache
# ---------------------------------------------------------------------------
def _with_times(magic: pl.DataFrame) -> pl.DataFrame:
    from .timestamps import magic_ns

    t = magic_ns(magic["time_sec"].to_numpy(), magic["time_nanosec"].to_numpy())
    return magic.with_columns(pl.Series(_T, t, dtype=pl.Int64))


def _write_cache(magic: pl.DataFrame, path: Path) -> None:
    """Prepared MAGIC events (with times) sorted by time, original row in a column."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    frame = magic.with_row_index(_ROW).sort(_T, maintain_order=True)
    frame.write_parquet(temp, compression="lz4", statistics=True,
                        row_group_size=_CACHE_ROW_GROUP)
    os.replace(temp, path)


def _magic_subset(
    task: SubrunTask, magic: pl.DataFrame | None, lo: int, hi: int
) -> pl.DataFrame:
    """Prepared MAGIC rows with ``lo <= t <= hi``, in their original order."""
    window = pl.col(_T).is_between(lo, hi, closed="both")
    if magic is not None:
        return magic.filter(window).drop(_T)
    if task.magic_cache is None:
        raise RuntimeError("no MAGIC events given to the task")
    frame = pl.scan_parquet(task.magic_cache).filter(window).collect()
    return frame.sort(_ROW).drop(_ROW, _T)


def _empty_magic(task: SubrunTask, magic: pl.DataFrame | None) -> pl.DataFrame:
    if magic is not None:
        return magic.clear().drop(_T)
    frame = pl.scan_parquet(task.magic_cache).head(0).collect()
    return frame.drop(_ROW, _T)


# ---------------------------------------------------------------------------
# one subrun
# ---------------------------------------------------------------------------
def summary_schema(tel_ids: Sequence[int]) -> dict[str, pl.DataType]:
    """Columns and types of the summary table for the given MAGIC telescope ids."""
    schema: dict[str, Any] = {
        "lst_file": pl.String,
        "obs_id": pl.Int64,
        "subrun": pl.Int64,
        "status": pl.String,
        "exit_code": pl.Int64,
        "error": pl.String,
        "n_lst_events": pl.Int64,
    }
    for tel_id in tel_ids:
        schema[f"offset_us_tel{tel_id}"] = pl.Float64
        schema[f"n_coincidence_tel{tel_id}"] = pl.Int64
        schema[f"n_events_magic_tel{tel_id}"] = pl.Int64
        schema[f"fraction_tel{tel_id}"] = pl.Float64
    schema["seconds"] = pl.Float64
    schema["max_rss_mb"] = pl.Float64
    return schema


def _empty_row(task: SubrunTask) -> dict[str, Any]:
    row = dict.fromkeys(summary_schema(magic_tel_ids(task.config)))
    row.update(lst_file=task.lst_file.name, obs_id=task.obs_id,
               subrun=task.subrun if task.subrun is not None else task.index)
    return row


def _max_rss_mb() -> float | None:
    """Peak resident memory of this process so far (MB).

    Linux's VmHWM, which starts anew at exec; ``ru_maxrss`` would include the
    memory of the parent that forked a spawned worker.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _record_path(task: SubrunTask) -> Path:
    from .io.output import output_names

    name = output_names(task.lst_file, task.output_dir)["hdf5"].name
    return task.output_dir / _STATE_DIR / "records" / f"{name}.json"


def _outputs(task: SubrunTask, obs_id: int, subrun: int) -> list[Path]:
    from .dataset import TABLES, partition_file
    from .io.output import output_names

    paths = list(output_names(task.lst_file, task.output_dir).values())
    return paths + [partition_file(task.output_dir, t, obs_id, subrun) for t in TABLES]


def _write_record(task: SubrunTask, row: dict[str, Any]) -> None:
    path = _record_path(task)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        temp.write_text(json.dumps({"fingerprint": task.fingerprint, "row": row}))
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def previous_row(task: SubrunTask) -> dict[str, Any] | None:
    """The summary row of a complete earlier run of this subrun, or None.

    Complete: a record with the same fingerprint, status ``ok`` with all
    outputs present, or status ``no_coincidence``.
    """
    try:
        record = json.loads(_record_path(task).read_text())
        row, fingerprint = record["row"], record["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if fingerprint != task.fingerprint or row.get("status") not in ("ok", "no_coincidence"):
        return None
    if row["status"] == "ok" and not all(
        p.is_file() for p in _outputs(task, row["obs_id"], row["subrun"])
    ):
        return None
    out = _empty_row(task)
    out.update({k: v for k, v in row.items() if k in out})
    out.update(status="skipped", seconds=0.0, max_rss_mb=None)
    return out


def run_subrun(task: SubrunTask, magic: pl.DataFrame | None = None) -> dict[str, Any]:
    """Coincidence of one LST-1 subrun; never raises an ``Exception``.

    Parameters
    ----------
    task : SubrunTask
        The subrun.
    magic : polars.DataFrame, optional
        The prepared MAGIC events with their times (in-process runs);
        otherwise they are read from ``task.magic_cache``.

    Returns
    -------
    dict
        The summary row (see :func:`summary_schema`).
    """
    from .dataset import write_partition
    from .pipeline import coincidence, load_lst, select_common, write_result

    start = time.perf_counter()
    row = _empty_row(task)
    config = task.config
    try:
        lst, t_lst = load_lst(task.lst_file, config)
        row["n_lst_events"] = lst.height
        if row["obs_id"] is None:
            row["obs_id"] = int(lst["obs_id_lst"][0]) if lst.height else -1
        if lst.height:
            subset = _magic_subset(task, magic, *magic_time_range(t_lst, config))
        else:
            subset = _empty_magic(task, magic)
        lst, subset = select_common(lst, subset)
        result = coincidence(lst, t_lst, subset, config)
        files = list(task.magic_files)
        write_result(result, task.lst_file, files, task.output_dir, config,
                     subarray_files=files[:1])
        write_partition(task.output_dir, row["obs_id"], row["subrun"], result.tables(),
                        magic_tel_ids(config))
        for tel_id, found in result.telescopes.items():
            n_pairs, n_magic = len(found.idx_lst), len(found.candidates)
            row[f"offset_us_tel{tel_id}"] = found.average_offset_ns / 1000
            row[f"n_coincidence_tel{tel_id}"] = n_pairs
            row[f"n_events_magic_tel{tel_id}"] = n_magic
            row[f"fraction_tel{tel_id}"] = n_pairs / n_magic if n_magic else None
        row.update(status="ok", exit_code=0)
    except NoCoincidenceError as err:
        row.update(status="no_coincidence", exit_code=err.exit_code, error=_one_line(err))
    except LmcoincError as err:
        row.update(status="failed", exit_code=err.exit_code, error=_one_line(err))
    except Exception as err:  # noqa: BLE001 - one subrun must not stop the night
        log.debug("subrun %s failed", task.lst_file, exc_info=True)
        row.update(status="failed", exit_code=1,
                   error=_one_line(f"internal error: {type(err).__name__}: {err}"))
    if row["status"] != "failed":
        try:
            _write_record(task, {**row, "seconds": None, "max_rss_mb": None})
        except OSError as err:
            row.update(status="failed", exit_code=OutputError.exit_code,
                       error=_one_line(f"cannot write the record of the subrun: {err}"))
    row["seconds"] = time.perf_counter() - start
    row["max_rss_mb"] = _max_rss_mb()
    return row


def _one_line(err: BaseException | str) -> str:
    text = str(err).strip().replace("\n", " ")
    return text[:300] or type(err).__name__


def _failed_row(task: SubrunTask, message: str) -> dict[str, Any]:
    row = _empty_row(task)
    row.update(status="failed", exit_code=1, error=_one_line(message))
    return row


# ---------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------
def _execute_local(
    tasks: list[SubrunTask], magic: pl.DataFrame, done: Callable[[dict], None]
) -> None:
    for task in tasks:
        done(run_subrun(task, magic))


def _execute_pool(tasks: list[SubrunTask], jobs: int, done: Callable[[dict], None]) -> None:
    ctx = multiprocessing.get_context("spawn")  # safe with polars' and HDF5's threads
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx)
    try:
        futures = {pool.submit(run_subrun, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as err:  # noqa: BLE001 - e.g. a worker killed by the OOM killer
                row = _failed_row(futures[future], f"worker process died: {err}")
            done(row)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _execute_dask(tasks: list[SubrunTask], address: str, done: Callable[[dict], None]) -> None:
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
        futures = {}
        for task in tasks:
            key = f"lmcoinc-{task.lst_file.name}-{token}"
            futures[client.submit(run_subrun, task, key=key, pure=False)] = task
        for future in dask_as_completed(list(futures)):
            try:
                row = future.result()
            except Exception as err:  # noqa: BLE001 - worker lost, deserialization error
                row = _failed_row(futures[future], f"Dask task failed: {err}")
            done(row)
    finally:
        client.close()


# ---------------------------------------------------------------------------
# the batch
# ---------------------------------------------------------------------------
def _progress(enabled: bool, console: Any):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def _prepare_output(output_dir: Path) -> None:
    check_output_dir(output_dir)
    try:
        (output_dir / _STATE_DIR / "tmp").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{output_dir}: cannot create {_STATE_DIR} ({err.strerror})") from None


def _write_summary(summary: pl.DataFrame, path: Path) -> None:
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        summary.write_parquet(temp)
        os.replace(temp, path)
    except OSError as err:
        raise OutputError(f"{path}: cannot write the summary ({err})") from None
    finally:
        temp.unlink(missing_ok=True)


def run_batch(
    lst_dir: str | Path,
    magic_dir: str | Path,
    output_dir: str | Path,
    config: CoincidenceConfig | None = None,
    *,
    jobs: int = 1,
    dask_scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
    console: Any = None,
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
    progress : bool
        Show a progress bar with ETA (on ``console``, default stderr).
    console : rich.console.Console, optional
        Where the progress bar and messages go.

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
    from rich.console import Console

    from .config import load_config
    from .io.magic import find_magic_files
    from .pipeline import load_magic

    started = time.perf_counter()
    if jobs < 1:
        raise ValueError("jobs must be at least 1")
    config = config if config is not None else load_config(None)
    console = console if console is not None else Console(stderr=True)
    lst_dir, magic_dir, output_dir = Path(lst_dir), Path(magic_dir), Path(output_dir)
    lst_files = find_lst_files(lst_dir)
    magic_stat = [_stat(p) for p in find_magic_files(magic_dir)]
    _prepare_output(output_dir)
    cache = output_dir / _STATE_DIR / "cache" / f"magic-{uuid.uuid4().hex[:8]}.parquet"
    use_cache = jobs > 1 or dask_scheduler is not None

    tasks = []
    seen: dict[tuple[int, int], Path] = {}
    for index, path in enumerate(lst_files):
        obs_id, subrun = subrun_ids(path)
        if obs_id is not None:
            other = seen.setdefault((obs_id, subrun), path)
            if other != path:
                raise InputError(f"{lst_dir}: two files of LST run {obs_id} subrun {subrun}: "
                                 f"{other.name} and {path.name}")
        tasks.append(SubrunTask(
            index=index, lst_file=path, obs_id=obs_id, subrun=subrun, output_dir=output_dir,
            config=config, magic_cache=cache if use_cache else None, magic_files=(),
            fingerprint=_fingerprint(config, path, magic_stat),
        ))
    rows: dict[int, dict[str, Any]] = {}
    pending = []
    for task in tasks:
        previous = None if overwrite else previous_row(task)
        if previous is not None:
            rows[task.index] = previous
        else:
            pending.append(task)

    if pending:
        console.print(f"lmcoinc batch: {len(lst_files)} LST subruns, {len(pending)} to process, "
                      f"{len(tasks) - len(pending)} complete; reading {len(magic_stat)} MAGIC "
                      f"files once", highlight=False)
        magic, magic_files = load_magic(magic_dir, config)
        check_magic_subarrays(magic_files)
        magic = _with_times(magic)
        pending = [_with_files(t, magic_files) for t in pending]
        try:
            if use_cache:
                _write_cache(magic, cache)
                magic = None  # the workers read their subsets from the cache
            _run_tasks(pending, rows, jobs, dask_scheduler, magic, progress, console)
        finally:
            cache.unlink(missing_ok=True)

    schema = summary_schema(magic_tel_ids(config))
    summary = pl.DataFrame([[rows[t.index].get(c) for c in schema] for t in tasks],
                           schema=schema, orient="row")
    summary_path = output_dir / "summary.parquet"
    _write_summary(summary, summary_path)
    failed = summary.filter(pl.col("status") == "failed").height
    return BatchResult(summary, summary_path, EXIT_SUBRUNS_FAILED if failed else 0,
                       time.perf_counter() - started)


def _with_files(task: SubrunTask, magic_files: list[Path]) -> SubrunTask:
    from dataclasses import replace

    return replace(task, magic_files=tuple(magic_files))


def _run_tasks(
    pending: list[SubrunTask],
    rows: dict[int, dict[str, Any]],
    jobs: int,
    dask_scheduler: str | None,
    magic: pl.DataFrame | None,
    progress: bool,
    console: Any,
) -> None:
    index = {task.lst_file.name: task.index for task in pending}
    counts = dict.fromkeys(STATUSES, 0)
    with _progress(progress, console) as bar:
        bar_task = bar.add_task("subruns", total=len(pending))

        def done(row: dict[str, Any]) -> None:
            rows[index[row["lst_file"]]] = row
            counts[row["status"]] += 1
            text = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
            bar.update(bar_task, advance=1, description=f"subruns ({text})")

        if dask_scheduler is not None:
            _execute_dask(pending, dask_scheduler, done)
        elif jobs > 1:
            _execute_pool(pending, jobs, done)
        else:
            _execute_local(pending, magic, done)


def summary_table(summary: pl.DataFrame, title: str | None = None):
    """A ``rich`` table of the summary (for printing)."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    tel_ids = [int(c.removeprefix("offset_us_tel")) for c in summary.columns
               if c.startswith("offset_us_tel")]
    headers = ["obs_id", "subrun", "status", "LST events"]
    for tel_id in tel_ids:
        headers += [f"offset tel{tel_id} (us)", f"coinc. tel{tel_id}", f"fraction tel{tel_id}"]
    headers += ["s", "error"]
    for header in headers:
        table.add_column(header, justify="left" if header in ("status", "error") else "right",
                         overflow="fold")

    def fmt(value: Any, spec: str = "") -> str:
        return "" if value is None else format(value, spec)

    for row in summary.iter_rows(named=True):
        cells = [fmt(row["obs_id"]), fmt(row["subrun"]), row["status"], fmt(row["n_lst_events"])]
        for tel_id in tel_ids:
            cells += [fmt(row[f"offset_us_tel{tel_id}"], ".3f"),
                      fmt(row[f"n_coincidence_tel{tel_id}"]),
                      fmt(row[f"fraction_tel{tel_id}"], ".3f")]
        cells += [fmt(row["seconds"], ".2f"), row["error"] or ""]
        table.add_row(*cells)
    return table
