"""``lmcoinc run`` and ``lmcoinc batch``: parse, call the library, show the result."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .base import (
    EXIT_HELP,
    ConfigOption,
    DebugOption,
    ReportOption,
    app,
    errors_as_exit_codes,
    require_report,
    write_report,
)
from .logs import logging_options

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


@app.command(epilog=EXIT_HELP)
@logging_options(logging.INFO)
def run(
    input_file_lst: Annotated[
        Path, typer.Option("--input-file-lst", "-l", help="LST-1 DL1 file (one subrun).")
    ],
    input_dir_magic: Annotated[
        Path, typer.Option("--input-dir-magic", "-m", help="Directory of MAGIC dl1_*.h5 files.")
    ],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Output directory.")
    ] = Path("./data"),
    config_file: ConfigOption = None,
    debug: DebugOption = False,
    timings: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--timings", help="Write the time of each stage (s) to this JSON file."),
    ] = None,
    with_report: ReportOption = False,
) -> None:
    """Find the LST-1/MAGIC coincident events of one LST-1 subrun.

    Writes OUTPUT_DIR/<LST file name with LST → MAGIC_LST> (HDF5, read by
    magic-cta-pipe) and the same tables as Parquet beside it, atomically:
    after an error, Ctrl-C or SIGTERM no output of the subrun is left and an
    earlier complete one is kept. Every error is one line on stderr,
    "lmcoinc: error: <file or config key>: <problem>", with the exit code below.
    """
    with errors_as_exit_codes(debug):
        require_report(with_report)
        from ..config import load_config
        from ..io.magic_source import MagicDirectory
        from ..pairing import command_priors
        from ..pipeline import process_subrun

        config = load_config(config_file)
        report = process_subrun(input_file_lst, MagicDirectory(input_dir_magic, config.tel_names),
                                output_dir, config, priors=command_priors(config, batch=False))
        if timings is not None:
            _write_timings(timings, report.timer.timings)
        for tel_id, found in sorted(report.result.telescopes.items()):
            typer.echo(
                f"tel {tel_id}: average offset {found.average_offset_ns / 1000:.3f} us, "
                f"{found.n_pairs} coincident events"
            )
        if with_report:
            write_report(output_dir)


def _write_timings(path: Path, timings: dict[str, float]) -> None:
    import json

    from ..io.atomic import atomic_file

    with atomic_file(path) as temp:
        temp.write_text(json.dumps(timings, indent=1))


ClusterOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--cluster", help="Start Dask workers as jobs of this batch system (slurm, "
                 "pbs, htcondor: dask-jobqueue) or as local processes (local), scaled to the "
                 "subruns; settings from the config's cluster section (which alone starts one "
                 "too)."),
]
RunsOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--runs", help="Only these LST-1 runs: 3265,3266 or 3265-3270."),
]
SubrunsOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--subruns", help="Only these subruns: 0-40 or 0,5,10-20."),
]
MergedOption = Annotated[
    bool, typer.Option("--merged", help="Process the merged run files (dl1_LST-1.RunNNNNN.h5) "
                       "instead of the subrun files beside them.")
]
WideOption = Annotated[
    bool, typer.Option("--wide", help="Every column of the summary in the table printed "
                       "at the end (else the main ones, which fit 100 columns).")
]
KeepOtherVersionsOption = Annotated[
    bool, typer.Option("--keep-other-versions", help="Keep complete subruns made by "
                       "another lmcoinc version (default: redo them; both are said).")
]


def _numbers(value: str | None, option: str) -> frozenset[int] | None:
    """A --runs/--subruns selection (3265,3266 or 0-40), or None."""
    if value is None:
        return None
    from ..batch.discovery import parse_numbers

    try:
        return parse_numbers(value)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint=option) from None


def _selection(cluster: str | None, dask_scheduler: str | None, runs: str | None,
               subruns: str | None, merged: bool) -> Any:
    """The LST files to take; usage errors of --cluster, --runs, --subruns, --merged."""
    from ..batch import LstSelection
    from ..config import CLUSTER_TYPES

    if cluster is not None and cluster not in CLUSTER_TYPES:
        raise typer.BadParameter(f"{cluster!r} is not one of {', '.join(CLUSTER_TYPES)}",
                                 param_hint="--cluster")
    if cluster is not None and dask_scheduler is not None:
        raise typer.BadParameter("give --cluster or --dask-scheduler, not both",
                                 param_hint="--cluster")
    if merged and subruns is not None:
        raise typer.BadParameter("merged run files have no subruns to select",
                                 param_hint="--subruns")
    return LstSelection(_numbers(runs, "--runs"), _numbers(subruns, "--subruns"), merged)


def _early_workers(jobs: int, dask_scheduler: str | None, cluster: str | None
                   ) -> AbstractContextManager[Any]:
    """The batch's worker processes, started before the batch's modules are imported (their
    own imports overlap them), for ``jobs`` > 1 without Dask; else nothing (None)."""
    if jobs < 2 or dask_scheduler is not None or cluster is not None:
        return nullcontext()
    from ..batch.workers import BATCH_MODULES, WorkerPool

    return WorkerPool(jobs, BATCH_MODULES)


def _unless_dask(workers: Any, settings: Any) -> Any:
    """The early ``workers``, or None (they are stopped) when the config's Dask cluster
    (``settings``) runs the batch."""
    if settings is not None and workers is not None:
        workers.close()
        return None
    return workers


def _cluster(kind: str | None, dask_scheduler: str | None, config: Any) -> Any:
    """The cluster to start: the config's ``cluster`` section, its type set by --cluster."""
    from dataclasses import replace

    from ..config import ClusterSettings

    if dask_scheduler is not None:
        return None
    if kind is None:
        return config.cluster
    return replace(config.cluster or ClusterSettings(), type=kind)


_BATCH_HELP = (
    "Subrun status: ok, skipped (complete earlier output of the same inputs and config), "
    "no_coincidence (a normal outcome, like exit code 3 of run), failed. "
    "Exit codes: 0 no subrun failed; 4 at least one subrun failed (see the summary); "
    "2 usage error, unusable Dask scheduler or cluster, or Dask workers that do not see the "
    "directories; 12 invalid config; 13 no LST files; "
    "7/14 invalid MAGIC directory; 15 output cannot be written; 17 OUTPUT_DIR in use by "
    "another batch; 130 interrupted."
)


@app.command(epilog=_BATCH_HELP)
@logging_options(logging.WARNING)
def batch(
    lst_dir: Annotated[
        Path, typer.Option("--lst-dir", "-l", help="Directory of LST-1 subrun files "
                           "(dl1_LST-1.RunNNNNN.NNNN.h5).")
    ],
    magic_dir: Annotated[
        Path, typer.Option("--magic-dir", "-m", help="Directory of MAGIC dl1_*.h5 files.")
    ],
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Output directory.")],
    config_file: ConfigOption = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes (1: in this process).")
    ] = 1,
    dask_scheduler: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--dask-scheduler", help="Run on this Dask scheduler (tcp://host:port) "
                     "instead; needs the 'dask' extra and the directories shared with the "
                     "workers."),
    ] = None,
    cluster: ClusterOption = None,
    runs: RunsOption = None,
    subruns: SubrunsOption = None,
    merged: MergedOption = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Recompute subruns with complete outputs.")
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar with ETA on stderr.")
    ] = True,
    night_model: Annotated[
        bool, typer.Option("--night-model/--no-night-model", help="Redo weak subruns at the "
                           "clock offset of the sound ones around them.")
    ] = True,
    wide: WideOption = False,
    keep_other_versions: KeepOtherVersionsOption = False,
    debug: DebugOption = False,
    with_report: ReportOption = False,
) -> None:
    """Coincidence of every LST-1 subrun of a directory with a MAGIC directory, in parallel.

    Reads the MAGIC files once, writes per subrun the HDF5 file of `lmcoinc run`
    (same name and tables) to OUTPUT_DIR and its Parquet tables, once, to the dataset
    OUTPUT_DIR/parquet/<table>/lst_obs_id=N/lst_subrun=M/ (events, feature, profile; in drift
    mode offset_model, offset_segments; read it with lmcoinc.scan), and
    OUTPUT_DIR/summary.parquet, one row per subrun.
    Subruns with complete outputs are skipped unless --overwrite, or made by another
    lmcoinc version.
    """
    with _early_workers(jobs, dask_scheduler, cluster) as workers:
        select = _selection(cluster, dask_scheduler, runs, subruns, merged)
        from rich.console import Console

        from .display import BatchProgress, print_summary

        console = Console(stderr=True)
        with errors_as_exit_codes(debug):
            require_report(with_report)
            from ..batch import run_batch
            from ..config import load_config

            config = load_config(config_file)
            settings = _cluster(cluster, dask_scheduler, config)
            workers = _unless_dask(workers, settings)
            quiet = logging.getLogger("lmcoinc").getEffectiveLevel() > logging.WARNING  # -q
            with BatchProgress(console, enabled=progress and not quiet,
                               announce=not quiet) as shown:
                result = run_batch(lst_dir, magic_dir, output_dir, config, jobs=jobs,
                                   dask_scheduler=dask_scheduler, cluster=settings,
                                   overwrite=overwrite, reporter=shown.reporter(),
                                   night=night_model, select=select,
                                   keep_other_versions=keep_other_versions, workers=workers)
            summary = result.summary
            print_summary(summary, wide=wide)
            typer.echo(f"{summary.height} subruns: {_status_counts(summary)}; night model: "
                       f"{result.redone} redone; {result.seconds:.1f} s; summary: "
                       f"{result.summary_path}")
            if with_report:
                write_report(output_dir)
    raise typer.Exit(result.exit_code)


def _status_counts(summary: pl.DataFrame) -> str:
    counts: dict[Any, int] = dict(summary.group_by("status").len().iter_rows())
    return ", ".join(f"{counts[s]} {s}" for s in ("ok", "skipped", "no_coincidence", "failed")
                     if counts.get(s))
