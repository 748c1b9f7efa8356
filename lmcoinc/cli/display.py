"""What ``lmcoinc batch`` shows on the terminal: a progress bar and the summary table (rich)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..batch import STATUSES, BatchReporter

if TYPE_CHECKING:  # pragma: no cover
    from ..config import CoincidenceConfig

__all__ = ["BatchProgress", "frame_table", "print_offsets", "print_summary", "summary_table"]


class BatchProgress:
    """A progress bar of the subruns (done/total, elapsed, ETA), as a context manager.

    Parameters
    ----------
    console : rich.console.Console
        Where to show it.
    enabled : bool
        Show the bar.
    announce : bool
        Print the start line (the number of subruns to process).
    """

    def __init__(self, console: Any, enabled: bool = True, announce: bool = True) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console
        self.announce = announce
        self.counts = dict.fromkeys(STATUSES, 0)
        self.bar = Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("elapsed"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            console=console, disable=not enabled, transient=False,
        )
        self.task = None

    def __enter__(self) -> BatchProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def reporter(self) -> BatchReporter:
        """The reporter to give :func:`lmcoinc.batch.run_batch`."""
        return BatchReporter(start=self.start, done=self.done)

    def start(self, total: int, pending: int, n_magic: int) -> None:
        """The tasks are about to run."""
        if self.announce:
            self.console.print(
                f"lmcoinc batch: {total} LST subruns, {pending} to process, "
                f"{total - pending} complete; reading {n_magic} MAGIC files once",
                highlight=False, soft_wrap=True,
            )
        self.task = self.bar.add_task("subruns", total=pending)

    def done(self, row: dict[str, Any]) -> None:
        """A task finished."""
        self.counts[row["status"]] += 1
        text = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        self.bar.update(self.task, advance=1, description=f"subruns ({text})")


def summary_table(summary: pl.DataFrame, title: str | None = None) -> Any:
    """A ``rich`` table of the main columns of the batch summary (for printing).

    It fits 100 columns of a terminal for two MAGIC telescopes: the subrun,
    its status, LST-1 events, per telescope the offset and the pairs, and
    where the offset comes from (errors: :func:`print_summary` lists them below).
    """
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    tel_ids = [int(c.removeprefix("offset_us_tel")) for c in summary.columns
               if c.startswith("offset_us_tel")]
    headers = ["subrun", "status", "LST\nevents"]
    for tel_id in tel_ids:
        headers += [f"tel {tel_id}\noffset (us)", f"tel {tel_id}\npairs"]
    headers.append("offset\nsource")
    for header in headers:
        table.add_column(header, justify="left" if header in ("subrun", "status") else "right",
                         no_wrap=True)
    for row in summary.iter_rows(named=True):
        cells = [_subrun(row), row["status"], _fmt(row["n_lst_events"])]
        for tel_id in tel_ids:
            cells += [_fmt(row[f"offset_us_tel{tel_id}"], ".3f"),
                      _fmt(row[f"n_coincidence_tel{tel_id}"])]
        cells.append(row["offset_source"] or "")
        table.add_row(*cells)
    return table


def print_summary(summary: pl.DataFrame, wide: bool = False) -> None:
    """Print the batch summary on stdout: the main columns and each subrun's error below.

    ``wide``: every column of ``summary.parquet``, as wide as they need (the
    lines are then longer than the terminal: ``less -S`` scrolls them).
    """
    from rich.console import Console

    if wide:
        table = frame_table(summary, no_wrap=True)
        Console(width=Console(width=100_000).measure(table).maximum).print(table)
        return
    table = summary_table(summary)
    console = Console()
    if not console.is_terminal:  # a file or a pipe: the whole table, no column cut short
        # (a table is as wide as its widest row, however wide the console: no measure first)
        console = Console(width=100_000)
    console.print(table)
    for row in summary.filter(pl.col("error").is_not_null()).iter_rows(named=True):
        console.print(f"{_subrun(row)} {row['status']}: {row['error']}", highlight=False,
                      markup=False, soft_wrap=True)


def _fmt(value: Any, spec: str = "") -> str:
    return "" if value is None else format(value, spec)


def _subrun(row: dict[str, Any]) -> str:
    """The subrun as in the file names: 03265.0040."""
    return f"{_fmt(row['obs_id'], '05d')}.{_fmt(row['subrun'], '04d')}"


def frame_table(frame: pl.DataFrame, title: str | None = None, no_wrap: bool = False) -> Any:
    """A ``rich`` table of any table (floats with 3 decimals, nulls empty)."""
    from rich.table import Table

    table = Table(title=title)
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left",
                         overflow="fold", no_wrap=no_wrap)
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)
                        for v in row))
    return table


def print_offsets(config: CoincidenceConfig, output_dir: Path | None,
                  found: pl.DataFrame | None) -> None:
    """What ``lmcoinc offsets`` shows: the history, the offsets found and the night model."""
    from rich.console import Console

    from ..quality.found_offsets import history_frame

    console = Console(width=max(Console().width, 150))
    console.print(frame_table(history_frame(config.offset_history),
                              "clock offset history (MAGIC - LST-1, us; nights by start date)"))
    if found is None or output_dir is None:
        return
    console.print(frame_table(found, f"offsets found in {output_dir}"))
    console.print(f"{found.height} offsets; {found['far'].sum()} clock offsets farther than "
                  f"{config.history_tolerance_ns / 1000:g} us from the history", highlight=False)
    night = Path(output_dir) / "night.parquet"
    if night.is_file():
        console.print(frame_table(pl.read_parquet(night), "night model (batch): levels"))
