"""The other commands: simulate, demo, report, offsets, convert, config."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .base import (
    ConfigOption,
    DebugOption,
    LstTimestamp,
    app,
    errors_as_exit_codes,
    write_report,
)
from .logs import logging_options

if TYPE_CHECKING:  # pragma: no cover
    from ..simulate import SimulationConfig

#: Start of the demo's simulated subrun: 2023-12-08 01:46 UTC.
DEMO_START_UNIX_S = 1_702_000_000.0


@app.command()
@logging_options(logging.INFO)
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
    from ..simulate import simulate as simulate_files

    config = _simulation(
        duration_s=duration,
        true_offset_ns=int(round(offset_us * 1000)),
        drift_ns_per_s=drift_us_per_s * 1000,
        geometric_delay=geometric_delay,
        seed=seed,
        magic_start_delay_s=magic_start_delay,
        images=images,
    )
    with errors_as_exit_codes(False):
        files = simulate_files(output_dir, config)
    typer.echo(f"LST file: {files.lst_file}")
    typer.echo(f"MAGIC directory: {files.magic_dir} ({len(files.magic_files)} files)")
    typer.echo(f"true offset: {files.true_offset_ns / 1000:.3f} us")
    typer.echo(f"truth: {files.true_pairs.parent}")


def _simulation(**settings: Any) -> SimulationConfig:
    """The simulation of the options; options it cannot simulate are a usage error."""
    from ..simulate.config import SimulationConfig, validate

    config = SimulationConfig(**settings)
    try:
        validate(config)
    except ValueError as err:
        typer.echo(f"lmcoinc: error: {err}", err=True)
        raise typer.Exit(2) from None
    return config


@app.command()
@logging_options(logging.WARNING)
def demo(
    work_dir: Annotated[Path, typer.Argument(help="Where to simulate and write.")] = Path(
        "demo_output"
    ),
    duration: Annotated[float, typer.Option(help="LST subrun length (s).")] = 10.0,
    offset_us: Annotated[float, typer.Option(help="True MAGIC − LST clock offset (us).")] = -3.2,
) -> None:
    """Simulate a subrun, run the coincidence on it, print found and true offsets."""
    true_ns = int(round(offset_us * 1000))
    # a night of December 2023, whose clock offset in the history is the default -3.2 us
    simulation = _simulation(duration_s=duration, true_offset_ns=true_ns,
                             start_unix_s=DEMO_START_UNIX_S)
    with errors_as_exit_codes(False):
        from ..config import load_config
        from ..io.magic_source import MagicDirectory
        from ..pipeline import process_subrun
        from ..simulate import simulate as simulate_files

        files = simulate_files(work_dir / "input", simulation)
        config = load_config(None)
        report = process_subrun(files.lst_file, MagicDirectory(files.magic_dir, config.tel_names),
                                work_dir / "output", config)
    events = report.result.events.plan
    typer.echo(f"simulated: {files.lst_file.name} + {len(files.magic_files)} MAGIC files")
    for tel_id, found in sorted(report.result.telescopes.items()):
        typer.echo(
            f"tel {tel_id}: found offset {found.average_offset_ns / 1000:+.3f} us "
            f"(true {true_ns / 1000:+.3f} us), {found.n_pairs} coincidences"
        )
    typer.echo(f"stereo events: {events.select('obs_id', 'event_id').n_unique()} "
               f"({events.height} telescope images)")
    from ..simulate.truth import found_pairs, recall_purity

    score = recall_purity(found_pairs(events), files.true_pairs).overall
    typer.echo(f"against the {score.n_true} true pairs: recall {100 * score.recall:.1f} %, "
               f"purity {100 * score.purity:.1f} %")
    hdf5 = report.outputs["hdf5"]
    typer.echo(f"wrote {hdf5} (+ .events/.feature/.profile.parquet)")


@app.command(epilog="Exit codes: 16 the directory holds no readable lmcoinc output; "
             "15 the report cannot be written.")
@logging_options(logging.INFO)
def report(
    output_dir: Annotated[Path, typer.Argument(help="Output directory of lmcoinc run or batch.")],
    debug: DebugOption = False,
) -> None:
    """Plots and one HTML page of an output directory: OUTPUT_DIR/report/index.html.

    Per subrun and MAGIC telescope: the offset profile with the average offset,
    the window and the pre-offset (and the offset model in drift mode). Per
    night: offsets with the known offset history, pairs and coincidence
    fraction, LST-1 and MAGIC rates, purity (1 - expected accidental / pairs)
    and effective time, against time; the subruns that failed, with their
    error. The page embeds its figures; they are also written as PNG files.
    """
    with errors_as_exit_codes(debug):
        write_report(output_dir)


@app.command()
@logging_options(logging.INFO)
def offsets(
    output_dir: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="An output directory of run or batch: show its offsets too."),
    ] = None,
    config_file: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Print the LST-1 → MAGIC clock offset history and the offsets found beside it.

    The history is the packaged table, extended or replaced by the config's
    event_coincidence.offset_history.file. Given OUTPUT_DIR, every subrun and
    MAGIC telescope: the offset found, the clock offset (geometric delay
    removed) and its source, the history's offset for that night and the
    difference ("far": beyond offset_history.tolerance). Exit codes: 12 invalid
    config or history table; 13 OUTPUT_DIR has no readable feature table.
    """
    from .display import print_offsets

    with errors_as_exit_codes(debug):
        from ..config import load_config
        from ..quality.found_offsets import found_offsets

        config = load_config(config_file)
        found = None if output_dir is None else found_offsets(
            output_dir, config.offset_history, config.history_tolerance_ns)
    print_offsets(config, output_dir, found)


@app.command()
@logging_options(logging.INFO)
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
    with errors_as_exit_codes(debug):
        from ..io.convert import convert as convert_file

        result = convert_file(input_file, output_file,
                              timestamp=timestamp.value if timestamp is not None else None)
    typer.echo(f"{result.kind.upper()} file: {result.n_rows} rows, timestamp_ns from "
               f"{result.timestamp_source} -> {result.output}")


@app.command("config")
@logging_options(logging.INFO)
def config_command() -> None:
    """Print the default configuration: commented YAML to start a config file from.

    Every key with its default value: those of magic-cta-pipe's
    lst1_magic_event_coincidence, then lmcoinc's own (clock offsets, drift
    mode). Save it (lmcoinc config > config.yaml), edit it, give it with -c.
    """
    from ..config import commented_config_text

    typer.echo(commented_config_text(), nl=False)
