"""Command-line interface: parses arguments and calls the library."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import EXIT_CODES, LmcoincError
from .signals import interrupt_signals, interrupted

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Offline coincidence of LST-1 and MAGIC events from DL1 HDF5 files.",
)

_EXIT_HELP = "Exit codes:\n" + "\n".join(
    f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items()
)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
        force=True,
    )


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _fail(err: BaseException) -> typer.Exit:
    """Print the one-line ``lmcoinc: error: ...`` message of an error; its exit code.

    After SIGINT or SIGTERM any error is taken for the interrupt (an extension
    module may have turned the KeyboardInterrupt into another exception).
    """
    if isinstance(err, KeyboardInterrupt) or interrupted():
        print("lmcoinc: error: interrupted; no partial output left", file=sys.stderr)
        return typer.Exit(130)
    if isinstance(err, LmcoincError):
        print(f"lmcoinc: error: {_one_line(str(err))}", file=sys.stderr)
        return typer.Exit(err.exit_code)
    print(
        f"lmcoinc: error: internal error {type(err).__name__}: {_one_line(str(err))[:300]} "
        "(a bug: please report it; --debug shows the traceback)",
        file=sys.stderr,
    )
    return typer.Exit(1)


@app.command(epilog=_EXIT_HELP)
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
    config_file: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option("--config-file", "-c", help="YAML config (default: the built-in one)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    timings: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--timings", help="Write the time of each stage (s) to this JSON file."),
    ] = None,
) -> None:
    """Find the LST-1/MAGIC coincident events of one LST-1 subrun.

    Writes OUTPUT_DIR/<LST file name with LST → MAGIC_LST> (HDF5, read by
    magic-cta-pipe) and the same tables as Parquet beside it, atomically:
    after an error, Ctrl-C or SIGTERM no output of the subrun is left and an
    earlier complete one is kept. Every error is one line on stderr,
    "lmcoinc: error: <file or config key>: <problem>", with the exit code below.
    """
    _setup_logging(verbose)
    try:
        with interrupt_signals():
            from .config import load_config
            from .errors import OutputError
            from .pipeline import run as run_pipeline

            config = load_config(config_file)
            result = run_pipeline(input_file_lst, input_dir_magic, output_dir, config)
            if timings is not None:
                import json

                try:
                    timings.write_text(json.dumps(result.timings, indent=1))
                except OSError as err:
                    raise OutputError(f"{timings}: cannot write ({err.strerror})") from None
    except (LmcoincError, KeyboardInterrupt, Exception) as err:
        if debug:
            raise
        raise _fail(err) from None
    for name, found in sorted(result.result.telescopes.items()):
        typer.echo(
            f"tel {name}: average offset {found.average_offset_ns / 1000:.3f} us, "
            f"{len(found.idx_lst)} coincident events"
        )
    _exit_now_if_console()


def _exit_now_if_console() -> None:
    """End a successful console run without the interpreter's teardown.

    Every file is closed and renamed by now; tearing down polars, numpy and
    PyTables and freeing the tables costs ~0.15 s, a sixth of a 10 s
    subrun's run. Only from the console entry points (``main``), never when
    the app is called in-process (tests, other programs).
    """
    if _CONSOLE:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@app.command()
def simulate(
    output_dir: Annotated[Path, typer.Argument(help="Directory for the simulated files.")],
    duration: Annotated[float, typer.Option(help="LST subrun length (s).")] = 10.0,
    offset_us: Annotated[float, typer.Option(help="True MAGIC − LST clock offset (us).")] = -3.2,
    drift_us_per_s: Annotated[
        float, typer.Option(help="MAGIC clock rate error (us per s, from the MAGIC data start).")
    ] = 0.0,
    geometric_delay: Annotated[
        bool, typer.Option(help="Add the light-travel delay between LST-1 and each MAGIC.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    magic_start_delay: Annotated[
        float, typer.Option(help="MAGIC data start relative to the LST subrun start (s).")
    ] = -1.0,
    images: Annotated[bool, typer.Option(help="Also write DL1 images.")] = False,
) -> None:
    """Write a simulated LST-1 subrun and MAGIC M1/M2 subrun files in the real formats.

    The truth (true pairs, clock, delays, live time) goes to OUTPUT_DIR/truth.
    """
    from .simulate import SimulationConfig
    from .simulate import simulate as simulate_files

    try:
        files = simulate_files(
            output_dir,
            SimulationConfig(
                duration_s=duration,
                true_offset_ns=int(round(offset_us * 1000)),
                drift_ns_per_s=drift_us_per_s * 1000,
                geometric_delay=geometric_delay,
                seed=seed,
                magic_start_delay_s=magic_start_delay,
                images=images,
            ),
        )
    except LmcoincError as err:
        raise _fail(err) from None
    typer.echo(f"LST file: {files.lst_file}")
    typer.echo(f"MAGIC directory: {files.magic_dir} ({len(files.magic_files)} files)")
    typer.echo(f"true offset: {files.true_offset_ns / 1000:.3f} us")
    typer.echo(f"truth: {files.true_pairs.parent}")


@app.command()
def demo(
    work_dir: Annotated[Path, typer.Argument(help="Where to simulate and write.")] = Path(
        "demo_output"
    ),
    duration: Annotated[float, typer.Option(help="LST subrun length (s).")] = 10.0,
    offset_us: Annotated[float, typer.Option(help="True MAGIC − LST clock offset (us).")] = -3.2,
) -> None:
    """Simulate a subrun, run the coincidence on it, print found and true offsets."""
    _setup_logging(False)
    logging.getLogger("lmcoinc").setLevel(logging.WARNING)
    from .simulate import SimulationConfig
    from .simulate import simulate as simulate_files

    true_ns = int(round(offset_us * 1000))
    try:
        files = simulate_files(
            work_dir / "input", SimulationConfig(duration_s=duration, true_offset_ns=true_ns)
        )
        from .config import load_config
        from .pipeline import run as run_pipeline

        result = run_pipeline(files.lst_file, files.magic_dir, work_dir / "output",
                              load_config(None))
    except LmcoincError as err:
        raise _fail(err) from None
    events = result.result.events
    typer.echo(f"simulated: {files.lst_file.name} + {len(files.magic_files)} MAGIC files")
    for tel_id, found in sorted(result.result.telescopes.items()):
        typer.echo(
            f"tel {tel_id}: found offset {found.average_offset_ns / 1000:+.3f} us "
            f"(true {true_ns / 1000:+.3f} us), {len(found.idx_lst)} coincidences"
        )
    typer.echo(f"stereo events: {events.select('obs_id', 'event_id').n_unique()} "
               f"({events.height} telescope images)")
    from .simulate.truth import found_pairs, recall_purity

    score = recall_purity(found_pairs(events), files.true_pairs).overall
    typer.echo(f"against the {score.n_true} true pairs: recall {100 * score.recall:.1f} %, "
               f"purity {100 * score.purity:.1f} %")
    for path in result.outputs.values():
        typer.echo(f"wrote {path}")


_CONSOLE = False


def main() -> None:  # pragma: no cover - console entry
    """Console entry point (``lmcoinc``, ``python -m lmcoinc``)."""
    global _CONSOLE
    _CONSOLE = True
    app(prog_name="lmcoinc")


_BATCH_HELP = (
    "Subrun status: ok, skipped (complete earlier output of the same inputs and config), "
    "no_coincidence (a normal outcome, like exit code 3 of run), failed. "
    "Exit codes: 0 no subrun failed; 4 at least one subrun failed (see the summary); "
    "2 usage error or unusable Dask scheduler; 12 invalid config; 13 no LST files; "
    "7/14 invalid MAGIC directory; 15 output cannot be written; 130 interrupted."
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
    config_file: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option("--config-file", "-c", help="YAML config (default: the built-in one)."),
    ] = None,
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
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """Coincidence of every LST-1 subrun of a directory with a MAGIC directory, in parallel.

    Reads the MAGIC files once, writes per subrun the outputs of `lmcoinc run`
    (same names and content) to OUTPUT_DIR, the Parquet dataset
    OUTPUT_DIR/parquet/{events,feature,profile}/lst_obs_id=N/lst_subrun=M/
    (read it with lmcoinc.scan) and OUTPUT_DIR/summary.parquet, one row per subrun.
    Subruns with complete outputs are skipped unless --overwrite.
    """
    _setup_logging(verbose)
    if not verbose:  # run's per-offset INFO lines would flood a night
        logging.getLogger().setLevel(logging.WARNING)
    from rich.console import Console

    try:
        from .batch import run_batch, summary_table
        from .config import load_config

        config = load_config(config_file)
        result = run_batch(
            lst_dir, magic_dir, output_dir, config, jobs=jobs, dask_scheduler=dask_scheduler,
            overwrite=overwrite, progress=progress, console=Console(stderr=True),
        )
    except (LmcoincError, KeyboardInterrupt, Exception) as err:
        if debug:
            raise
        raise _fail(err) from None
    summary = result.summary
    Console(width=max(Console().width, 150)).print(summary_table(summary))
    counts = dict(summary.group_by("status").len().iter_rows())
    text = ", ".join(f"{counts[s]} {s}" for s in ("ok", "skipped", "no_coincidence", "failed")
                     if counts.get(s))
    typer.echo(f"{summary.height} subruns: {text}; {result.seconds:.1f} s; "
               f"summary: {result.summary_path}")
    raise typer.Exit(result.exit_code)


@app.command()
def convert(
    input_file: Annotated[Path, typer.Argument(help="LST-1 or MAGIC DL1 HDF5 file.")],
    output_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="Parquet file (default: INPUT_FILE with suffix .parquet)."),
    ] = None,
    timestamp: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--timestamp", help="LST-1 timestamp column: dragon_time (default), "
                     "tib_time or ucts_time."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """Convert a DL1 parameter table to Parquet with an exact int64 ns `timestamp_ns` column.

    The kind (LST-1 or MAGIC) is detected from the file's tables; all columns
    are kept. LST-1: timestamp_ns from dragon_time (or --timestamp) via the
    shortest round-trip decimal, as the coincidence computes it; MAGIC:
    time_sec * 10**9 + time_nanosec.
    """
    try:
        from .convert import convert as convert_file

        result = convert_file(input_file, output_file, timestamp=timestamp)
    except (LmcoincError, KeyboardInterrupt, Exception) as err:
        if debug:
            raise
        raise _fail(err) from None
    typer.echo(f"{result.kind.upper()} file: {result.n_rows} rows, timestamp_ns from "
               f"{result.timestamp_source} -> {result.output}")
