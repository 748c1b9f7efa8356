"""Command-line interface: parses arguments and calls the library."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import EXIT_CODES, LmcoincError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Offline coincidence of LST-1 and MAGIC events from DL1 HDF5 files.",
)

_EXIT_HELP = "Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()) + "."


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
        force=True,
    )


def _fail(err: BaseException) -> typer.Exit:
    if isinstance(err, KeyboardInterrupt):
        print("lmcoinc: interrupted; no output written", file=sys.stderr)
        return typer.Exit(130)
    if isinstance(err, LmcoincError):
        print(f"lmcoinc: error: {err}", file=sys.stderr)
        return typer.Exit(err.exit_code)
    print(f"lmcoinc: internal error: {type(err).__name__}: {err}", file=sys.stderr)
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
    magic-cta-pipe) and the same tables as Parquet beside it.
    """
    _setup_logging(verbose)
    try:
        from .config import load_config
        from .pipeline import run as run_pipeline

        config = load_config(config_file)
        result = run_pipeline(input_file_lst, input_dir_magic, output_dir, config)
    except (LmcoincError, KeyboardInterrupt, Exception) as err:
        if debug:
            raise
        raise _fail(err) from None
    if timings is not None:
        import json

        timings.write_text(json.dumps(result.timings, indent=1))
    for name, found in sorted(result.result.telescopes.items()):
        typer.echo(
            f"tel {name}: average offset {found.average_offset_ns / 1000:.3f} us, "
            f"{len(found.idx_lst)} coincident events"
        )


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
    from .config import load_config
    from .pipeline import run as run_pipeline
    from .simulate import SimulationConfig
    from .simulate import simulate as simulate_files

    true_ns = int(round(offset_us * 1000))
    files = simulate_files(
        work_dir / "input", SimulationConfig(duration_s=duration, true_offset_ns=true_ns)
    )
    try:
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
    for path in result.outputs.values():
        typer.echo(f"wrote {path}")


def main() -> None:  # pragma: no cover - console entry
    app()
