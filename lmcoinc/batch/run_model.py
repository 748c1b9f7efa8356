"""What the subruns of a run teach the others, for subruns too sparse for a search of their own.

In drift mode every subrun first finds its own drifting offset. Then the
offset model's class learns the run's offset per MAGIC telescope from the
``offset_model`` tables of the complete subruns
(:meth:`lmcoinc.pairing.models.OffsetModel.run_curves`: in drift mode one
curve over the run; nothing for the constant model, whose teacher is the
night model of :mod:`.redo`), and each subrun of this batch in which a
telescope found no offset of its own runs once more, following it (its
priors' ``run_curves``). Subruns with enough pairs keep their own result:
it follows the clock there at least as closely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import polars as pl

from ..clock.piecewise import SteppedCurve
from ..io.dataset import partition_file
from ..pairing import model_class
from .task import SubrunTask

__all__ = ["rerun_with_run_model", "rescue_tasks", "run_curves"]

Row = dict[str, Any]


def run_curves(tasks: list[SubrunTask], rows: dict[int, Row]) -> dict[int, SteppedCurve]:
    """Per MAGIC tel_id, the run's offset learnt from the ``offset_model`` tables of all
    complete subruns (none written: nothing learnt)."""
    tables = []
    for task in tasks:
        row = rows.get(task.index)
        if row is None or row["status"] not in ("ok", "skipped"):
            continue
        path = partition_file(task.output_dir, "offset_model", row["obs_id"], row["subrun"])
        if path.exists():
            tables.append(pl.read_parquet(path))
    if not tables:
        return {}
    return model_class(tasks[0].config.offset_model).run_curves(tables)


def rescue_tasks(
    pending: list[SubrunTask], rows: dict[int, Row], curves: dict[int, SteppedCurve]
) -> list[SubrunTask]:
    """The subruns of this batch to run again: those in which a telescope with a run curve
    found no coincidence, each with the run curves of those telescopes as priors."""
    again = []
    for task in pending:
        row = rows.get(task.index)
        if row is None or row["status"] not in ("ok", "no_coincidence"):
            continue
        missing = {tel_id: curves[tel_id] for tel_id in task.config.magic_tel_ids
                   if tel_id in curves and row.get(f"n_coincidence_tel{tel_id}") is None}
        if missing:
            again.append(replace(task, priors=replace(task.priors, run_curves=missing)))
    return again


def rerun_with_run_model(
    tasks: list[SubrunTask],
    pending: list[SubrunTask],
    rows: dict[int, Row],
    execute: Callable[[list[SubrunTask], Callable[[Row], None]], None],
) -> int:
    """Run the subruns of :func:`rescue_tasks` again with ``execute``; their new rows
    replace the first ones in ``rows`` (seconds: both passes). Returns how many ran."""
    again = rescue_tasks(pending, rows, run_curves(tasks, rows))
    index = {task.lst_file.name: task.index for task in again}

    def done(row: Row) -> None:
        first = rows[index[row["lst_file"]]]
        row["seconds"] = (row["seconds"] or 0.0) + (first["seconds"] or 0.0)
        rows[index[row["lst_file"]]] = row

    if again:
        execute(again, done)
    return len(again)
