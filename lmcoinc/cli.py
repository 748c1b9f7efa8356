"""Command-line interface: parses arguments, calls the library, shows the results."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .errors import EXIT_CODES, LmcoincError, exit_code, one_line
from .signals import interrupt_signals, interrupted

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Offline coincidence of LST-1 and MAGIC events from DL1 HDF5 files.",
)

_EXIT_HELP = "Exit codes:\n" + "\n".join(
    f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items()
)
_CONFIG_HELP = "YAML config (default: the built-in one)."


class LstTimestamp(str, Enum):
    """The LST-1 timestamp columns."""

    dragon_time = "dragon_time"
    tib_time = "tib_time"
    ucts_time = "ucts_time"


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
        force=True,
    )
    # PyTables' numexpr announces its thread count at INFO level: not lmcoinc's news
    logging.getLogger("numexpr").setLevel(logging.WARNING)


def _fail(err: BaseException) -> typer.Exit:
    """Print the one-line ``lmcoinc: error: ...`` message of an error; its exit code.

    After SIGINT or SIGTERM any error is taken for the interrupt (an extension
    module may have turned the KeyboardInterrupt into another exception).
    """
    if isinstance(err, KeyboardInterrupt) or interrupted():
        if _CONSOLE:  # cleaned up, ending: a second signal must not change the exit code
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
        print("lmcoinc: error: interrupted; no partial output left", file=sys.stderr)
        return typer.Exit(exit_code(KeyboardInterrupt()))
    if isinstance(err, LmcoincError):
        print(f"lmcoinc: error: {one_line(err, limit=10_000)}", file=sys.stderr)
        return typer.Exit(exit_code(err))
    print(
        f"lmcoinc: error: internal error {type(err).__name__}: {one_line(err)} "
        "(a bug: please report it; --debug shows the traceback)",
        file=sys.stderr,
    )
    return typer.Exit(1)


@contextmanager
def _errors_as_exit_codes(debug: bool) -> Iterator[None]:
    """Within a command: SIGINT/SIGTERM interrupt it, errors end it with one line and a code."""
    try:
        with interrupt_signals():
            yield
    except typer.Exit:
        raise
    except (Exception, KeyboardInterrupt) as err:
        if debug:
            raise
        raise _fail(err) from None


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


ConfigOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option("--config-file", "-c", help=_CONFIG_HELP),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")]


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
    config_file: ConfigOption = None,
    verbose: VerboseOption = False,
    debug: DebugOption = False,
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
    with _errors_as_exit_codes(debug):
        from .config import load_config
        from .sources import MagicDirectory
        from .subrun import process_subrun

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
    _exit_now_if_console()


def _write_timings(path: Path, timings: dict[str, float]) -> None:
    import json

    from .io.atomic import atomic_file

    with atomic_file(path) as temp:
        temp.write_text(json.dumps(timings, indent=1))


@app.command()
def simulate(
    output_dir: Annotated[Path, typer.Argument(help="Directory for the simulated files.")],
    duration: Annotated[float, typer.Option(help="LST subrun length (s).")] = 10.0,
    offset_us: Annotated[float, typer.Option(help="True MAGIC − LST clock offset (us).")] = -3.2,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    magic_start_delay: Annotated[
        float, typer.Option(help="MAGIC data start relative to the LST subrun start (s).")
    ] = -1.0,
    images: Annotated[bool, typer.Option(help="Also write DL1 images.")] = False,
) -> None:
    """Write a simulated LST-1 subrun and MAGIC M1/M2 subrun files in the real formats."""
    from .simulate import SimulationConfig
    from .simulate import simulate as simulate_files

    files = simulate_files(
        output_dir,
        SimulationConfig(
            duration_s=duration,
            true_offset_ns=int(round(offset_us * 1000)),
            seed=seed,
            magic_start_delay_s=magic_start_delay,
            images=images,
        ),
    )
    typer.echo(f"LST file: {files.lst_file}")
    typer.echo(f"MAGIC directory: {files.magic_dir} ({len(files.magic_files)} files)")
    typer.echo(f"true offset: {files.true_offset_ns / 1000:.3f} us")


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
    with _errors_as_exit_codes(False):
        from .config import load_config
        from .simulate import SimulationConfig
        from .simulate import simulate as simulate_files
        from .sources import MagicDirectory
        from .subrun import process_subrun

        true_ns = int(round(offset_us * 1000))
        files = simulate_files(
            work_dir / "input", SimulationConfig(duration_s=duration, true_offset_ns=true_ns)
        )
        report = process_subrun(files.lst_file, MagicDirectory(files.magic_dir),
                                work_dir / "output", load_config(None))
    events = report.result.events
    typer.echo(f"simulated: {files.lst_file.name} + {len(files.magic_files)} MAGIC files")
    for tel_id, found in sorted(report.result.telescopes.items()):
        typer.echo(
            f"tel {tel_id}: found offset {found.average_offset_ns / 1000:+.3f} us "
            f"(true {true_ns / 1000:+.3f} us), {len(found.idx_lst)} coincidences"
        )
    typer.echo(f"stereo events: {events.select('obs_id', 'event_id').n_unique()} "
               f"({events.height} telescope images)")
    hdf5 = report.outputs["hdf5"]
    typer.echo(f"wrote {hdf5} (+ .events/.feature/.profile.parquet)")


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
    "7/14 invalid MAGIC directory; 15 output cannot be written; 16 OUTPUT_DIR in use by "
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
    verbose: VerboseOption = False,
    debug: DebugOption = False,
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

    from .display import BatchProgress, summary_table

    console = Console(stderr=True)
    with _errors_as_exit_codes(debug):
        from .batch import run_batch
        from .config import load_config

        config = load_config(config_file)
        with BatchProgress(console, enabled=progress) as shown:
            result = run_batch(lst_dir, magic_dir, output_dir, config, jobs=jobs,
                               dask_scheduler=dask_scheduler, overwrite=overwrite,
                               reporter=shown.reporter())
    summary = result.summary
    Console(width=max(Console().width, 150)).print(summary_table(summary))
    typer.echo(f"{summary.height} subruns: {_status_counts(summary)}; {result.seconds:.1f} s; "
               f"summary: {result.summary_path}")
    raise typer.Exit(result.exit_code)


def _status_counts(summary: pl.DataFrame) -> str:
    counts: dict[Any, int] = dict(summary.group_by("status").len().iter_rows())
    return ", ".join(f"{counts[s]} {s}" for s in ("ok", "skipped", "no_coincidence", "failed")
                     if counts.get(s))


@app.command()
def convert(
    input_file: Annotated[Path, typer.Argument(help="LST-1 or MAGIC DL1 HDF5 file.")],
    output_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="Parquet file (default: INPUT_FILE with suffix .parquet)."),
    ] = None,
    timestamp: Annotated[
        Optional[LstTimestamp],  # noqa: UP045
        typer.Option("--timestamp", help="LST-1 timestamp column (default dragon_time)."),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Convert a DL1 parameter table to Parquet with an exact int64 ns `timestamp_ns` column.

    The kind (LST-1 or MAGIC) is detected from the file's tables; all columns
    are kept. LST-1: timestamp_ns from dragon_time (or --timestamp) via the
    shortest round-trip decimal, as the coincidence computes it; MAGIC:
    time_sec * 10**9 + time_nanosec.
    """
    with _errors_as_exit_codes(debug):
        from .convert import convert as convert_file

        result = convert_file(input_file, output_file,
                              timestamp=timestamp.value if timestamp is not None else None)
    typer.echo(f"{result.kind.upper()} file: {result.n_rows} rows, timestamp_ns from "
               f"{result.timestamp_source} -> {result.output}")
