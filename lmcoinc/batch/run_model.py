"""The run's drifting clock offset in a batch, for subruns too sparse for a search of their own.

In drift mode every subrun first finds its own model. Then the models of the
subruns with pairs (their ``offset_model`` tables: the model at each time
slice with pairs) are fitted together per MAGIC telescope
(:func:`lmcoinc.offset_model.fit_offset_model`: one quadratic spline over the
run, knots at most a minute apart), and each subrun of this batch in which a
telescope found no offset of its own runs once more, following that run
model (``CoincidenceConfig.drift_priors``). Subruns with enough pairs keep
their own model: it follows the clock there at least as closely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from ..io.output import output_names
from ..offset_model import OffsetModel, fit_offset_model
from .summary import magic_tel_ids
from .task import SubrunTask

__all__ = ["rerun_with_run_model", "rescue_tasks", "run_models"]

Row = dict[str, Any]


def run_models(tasks: list[SubrunTask], rows: dict[int, Row]) -> dict[int, OffsetModel]:
    """Per MAGIC tel_id, the model fitted to the slices with pairs of all complete subruns."""
    frames = []
    for task in tasks:
        row = rows.get(task.index)
        path = output_names(task.lst_file, task.output_dir, ["offset_model"])["offset_model"]
        if row is not None and row["status"] in ("ok", "skipped") and path.exists():
            frames.append(pl.read_parquet(path).filter(pl.col("n_pairs") > 0))
    if not frames:
        return {}
    slices = pl.concat(frames)
    models = {}
    for (tel_id,), part in slices.group_by("tel_id"):
        t_ns = np.rint(part["time"].to_numpy() * 1e9).astype(np.int64)
        models[int(tel_id)] = fit_offset_model(t_ns, part["offset_us"].to_numpy() * 1000.0)
    return models


def rescue_tasks(
    pending: list[SubrunTask], rows: dict[int, Row], models: dict[int, OffsetModel]
) -> list[SubrunTask]:
    """The subruns of this batch to run again: those in which a telescope with a run model
    found no coincidence, each with the run models of those telescopes as priors."""
    again = []
    for task in pending:
        row = rows.get(task.index)
        if row is None or row["status"] not in ("ok", "no_coincidence"):
            continue
        missing = {tel_id: models[tel_id] for tel_id in magic_tel_ids(task.config)
                   if tel_id in models and row.get(f"n_coincidence_tel{tel_id}") is None}
        if missing:
            again.append(replace(task, config=replace(task.config, drift_priors=missing)))
    return again


def rerun_with_run_model(
    tasks: list[SubrunTask],
    pending: list[SubrunTask],
    rows: dict[int, Row],
    execute: Callable[[list[SubrunTask], Callable[[Row], None]], None],
) -> int:
    """Run the subruns of :func:`rescue_tasks` again with ``execute``; their new rows
    replace the first ones in ``rows`` (seconds: both passes). Returns how many ran."""
    again = rescue_tasks(pending, rows, run_models(tasks, rows))
    index = {task.lst_file.name: task.index for task in again}

    def done(row: Row) -> None:
        first = rows[index[row["lst_file"]]]
        row["seconds"] = (row["seconds"] or 0.0) + (first["seconds"] or 0.0)
        rows[index[row["lst_file"]]] = row

    if again:
        execute(again, done)
    return len(again)
