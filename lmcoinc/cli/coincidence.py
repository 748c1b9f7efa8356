"""``lmcoinc run`` and ``lmcoinc batch``: parse, call the library, show the result."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .base import (
    EXIT_HELP,
    ConfigOption,
    DebugOption,
    ReportOption,
    VerboseOption,
    app,
    errors_as_exit_codes,
    exit_now_if_console,
    setup_logging,
    write_report,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl


@app.command(epilog=EXIT_HELP)
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
    verbose: VerboseOption = False,
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
    setup_logging(verbose)
    with errors_as_exit_codes(debug):
        from ..config import load_config
        from ..sources import MagicDirectory
        from ..subrun import process_subrun

        config = load_config(config_file)
        report = process_subrun(input_file_lst, MagicDirectory(input_dir_magic), output_dir,
                                config)
        if timings is not None:
            _write_timings(timings, report.timer.timings)
        for tel_id, found in sorted(report.result.telescopes.items()):
            typer.echo(
                f"tel {tel_id}: average offset {found.average_offset_ns / 1000:.3f} us, "
                f"{len(found.idx_lst)} coincident events"
            )
        if with_report:
            write_report(output_dir)
    exit_now_if_console()


def _write_timings(path: Path, timings: dict[str, float]) -> None:
    import json

    from ..io.atomic import atomic_file

    with atomic_file(path) as temp:
        temp.write_text(json.dumps(timings, indent=1))


_BATCH_HELP = (
    "Subrun status: ok, skipped (complete earlier output of the same inputs and config), "
    "no_coincidence (a normal outcome, like exit code 3 of run), failed. "
    "Exit codes: 0 no subrun failed; 4 at least one subrun failed (see the summary); "
    "2 usage error or unusable Dask scheduler; 12 invalid config; 13 no LST files; "
    "7/14 invalid MAGIC directory; 15 output cannot be written; 17 OUTPUT_DIR in use by "
    "another batch; 130 interrupted."
)


@app.command(epilog=_BATCH_HELP)
def batch(
    lst_dir: Annotated[
        Path, typer.Option("--lst-dir", "-l", help="Directory of LST-1 subrun files "
                           "(dl1_LST-1*.h5).")
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
                     "instead; needs the 'dask' extra and OUTPUT_DIR shared with the workers."),
    ] = None,
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
    verbose: VerboseOption = False,
    debug: DebugOption = False,
    with_report: ReportOption = False,
) -> None:
    """Coincidence of every LST-1 subrun of a directory with a MAGIC directory, in parallel.

    Reads the MAGIC files once, writes per subrun the outputs of `lmcoinc run`
    (same names and content) to OUTPUT_DIR, the Parquet dataset
    OUTPUT_DIR/parquet/{events,feature,profile}/lst_obs_id=N/lst_subrun=M/
    (read it with lmcoinc.scan) and OUTPUT_DIR/summary.parquet, one row per subrun.
    Subruns with complete outputs are skipped unless --overwrite.
    """
    setup_logging(verbose)
    if not verbose:  # run's per-offset INFO lines would flood a night
        logging.getLogger().setLevel(logging.WARNING)
    from rich.console import Console

    from ..display import BatchProgress, summary_table

    console = Console(stderr=True)
    with errors_as_exit_codes(debug):
        from ..batch import run_batch
        from ..config import load_config

        config = load_config(config_file)
        with BatchProgress(console, enabled=progress) as shown:
            result = run_batch(lst_dir, magic_dir, output_dir, config, jobs=jobs,
                               dask_scheduler=dask_scheduler, overwrite=overwrite,
                               reporter=shown.reporter(), night=night_model)
        summary = result.summary
        Console(width=max(Console().width, 150)).print(summary_table(summary))
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
