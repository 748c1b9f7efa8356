"""What ``lmcoinc batch`` shows on the terminal: a progress bar and the summary table (rich)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .batch import STATUSES, BatchReporter

if TYPE_CHECKING:  # pragma: no cover
    from .config import CoincidenceConfig

__all__ = ["BatchProgress", "frame_table", "print_offsets", "summary_table"]


class BatchProgress:
    """A progress bar of the subruns (done/total, elapsed, ETA), as a context manager.

    Parameters
    ----------
    console : rich.console.Console
        Where to show it.
    enabled : bool
        Show the bar (the start line is printed in any case).
    """

    def __init__(self, console: Any, enabled: bool = True) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console
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
        self.console.print(
            f"lmcoinc batch: {total} LST subruns, {pending} to process, {total - pending} "
            f"complete; reading {n_magic} MAGIC files once", highlight=False,
        )
        self.task = self.bar.add_task("subruns", total=pending)

    def done(self, row: dict[str, Any]) -> None:
        """A task finished."""
        self.counts[row["status"]] += 1
        text = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        self.bar.update(self.task, advance=1, description=f"subruns ({text})")


def summary_table(summary: pl.DataFrame, title: str | None = None) -> Any:
    """A ``rich`` table of the batch summary (for printing)."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    tel_ids = [int(c.removeprefix("offset_us_tel")) for c in summary.columns
               if c.startswith("offset_us_tel")]
    headers = ["obs_id", "subrun", "status", "LST events"]
    for tel_id in tel_ids:
        headers += [f"offset tel{tel_id} (us)", f"clock tel{tel_id} (us)", f"coinc. tel{tel_id}",
                    f"fraction tel{tel_id}"]
    headers += ["offset source", "s", "error"]
    for header in headers:
        table.add_column(header, justify="left" if header in ("status", "error") else "right",
                         overflow="fold")

    def fmt(value: Any, spec: str = "") -> str:
        return "" if value is None else format(value, spec)

    for row in summary.iter_rows(named=True):
        cells = [fmt(row["obs_id"]), fmt(row["subrun"]), row["status"], fmt(row["n_lst_events"])]
        for tel_id in tel_ids:
            cells += [fmt(row[f"offset_us_tel{tel_id}"], ".3f"),
                      fmt(row[f"clock_offset_us_tel{tel_id}"], ".3f"),
                      fmt(row[f"n_coincidence_tel{tel_id}"]),
                      fmt(row[f"fraction_tel{tel_id}"], ".3f")]
        cells += [row["offset_source"] or "", fmt(row["seconds"], ".2f"), row["error"] or ""]
        table.add_row(*cells)
    return table


def frame_table(frame: pl.DataFrame, title: str | None = None) -> Any:
    """A ``rich`` table of any table (floats with 3 decimals, nulls empty)."""
    from rich.table import Table

    table = Table(title=title)
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left",
                         overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)
                        for v in row))
    return table


def print_offsets(config: CoincidenceConfig, output_dir: Path | None,
                  found: pl.DataFrame | None) -> None:
    """What ``lmcoinc offsets`` shows: the history, the offsets found and the night model."""
    from rich.console import Console

    from .found_offsets import history_frame

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
