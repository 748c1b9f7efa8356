"""The night model applied to a batch: levels from the summary rows, weak subruns redone.

After every subrun has run, :func:`night_model` finds the levels of the clock
offset of each MAGIC telescope (:mod:`.night`) from the sound subruns;
:func:`weak_tasks` gives the subruns to run again with the level's offset to
fall back on (their priors' ``night_offsets_ns``): those with a weak telescope
(:func:`lmcoinc.pairing.anchored.weakness`: fewer than ``min_coincidences``
pairs, none, or a clock offset more than a window half width from its
level) that were not already run with those offsets. A subrun redone keeps
its own result where it is sound (:mod:`lmcoinc.pairing.anchored`);
:func:`add_night_columns` puts each subrun's level and deviation from it in
its summary row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..config import CoincidenceConfig
from ..pairing.anchored import weakness
from .night import NightLevel, clock_levels, level_at
from .task import SubrunTask

__all__ = ["add_night_columns", "night_model", "night_pass", "weak_tasks"]

_DONE = ("ok", "no_coincidence", "skipped")


def _clock_ns(row: dict[str, Any], tel_id: int) -> float | None:
    value = row.get(f"clock_offset_us_tel{tel_id}")
    return None if value is None else value * 1000


def night_model(rows: list[dict[str, Any]], config: CoincidenceConfig
                ) -> dict[int, list[NightLevel]]:
    """MAGIC tel_id → the levels of its clock offset; ``rows`` in subrun order."""
    model = {}
    for tel_id in config.magic_tel_ids:
        sound = [(i, _clock_ns(row, tel_id), row.get("magic_obs_id")) for i, row in enumerate(rows)
                 if row.get("status") in _DONE and not _weak(row, tel_id, None, config)]
        model[tel_id] = clock_levels(
            tel_id, np.array([s[0] for s in sound], dtype=np.int64),
            np.array([s[1] for s in sound], dtype=np.float64), [s[2] for s in sound],
            config.window_half_width_ns,
        ) if sound else []
    return model


def _anchors(model: dict[int, list[NightLevel]], row: dict[str, Any], position: int
             ) -> dict[int, int]:
    """MAGIC tel_id → the rounded clock offset of the level of a subrun."""
    anchors = {}
    for tel_id, levels in model.items():
        level = level_at(levels, position, row.get("magic_obs_id"))
        if level is not None:
            anchors[tel_id] = int(round(level.clock_offset_ns))
    return anchors


def _weak(row: dict[str, Any], tel_id: int, anchor_ns: int | None, config: CoincidenceConfig
          ) -> bool:
    """Whether a telescope's result in a summary row is weak (against the night's offset
    ``anchor_ns``, when given)."""
    n_pairs = row.get(f"n_coincidence_tel{tel_id}")
    return weakness(n_pairs, _clock_ns(row, tel_id), anchor_ns, config) is not None


def weak_tasks(tasks: list[SubrunTask], rows: list[dict[str, Any]],
               model: dict[int, list[NightLevel]]) -> list[SubrunTask]:
    """The tasks to run again with the night's offsets (in their priors); ``rows`` in
    the order of ``tasks``."""
    redo = []
    for position, (task, row) in enumerate(zip(tasks, rows, strict=True)):
        anchors = _anchors(model, row, position)
        tried = {t: row.get(f"night_offset_us_tel{t}") for t in anchors}
        if row.get("status") not in _DONE or all(
                tried[t] is not None and round(tried[t] * 1000) == a for t, a in anchors.items()):
            continue
        if any(_weak(row, t, a, task.config) for t, a in anchors.items()):
            redo.append(replace(task, priors=replace(task.priors, night_offsets_ns=anchors)))
    return redo


def add_night_columns(rows: list[dict[str, Any]], model: dict[int, list[NightLevel]]) -> None:
    """Put each subrun's level (``night_offset_us_tel{N}``) and its clock offset's
    deviation from it (``deviation_us_tel{N}``) in its row; ``rows`` in subrun order."""
    for position, row in enumerate(rows):
        for tel_id, levels in model.items():
            level = level_at(levels, position, row.get("magic_obs_id"))
            night = None if level is None else level.clock_offset_ns
            clock = _clock_ns(row, tel_id)
            row[f"night_offset_us_tel{tel_id}"] = None if night is None else night / 1000
            row[f"deviation_us_tel{tel_id}"] = (
                None if night is None or clock is None else (clock - night) / 1000)


def night_pass(tasks: list[SubrunTask], rows: dict[int, dict[str, Any]],
               config: CoincidenceConfig, run: Callable[[list[SubrunTask]], None]
               ) -> tuple[dict[int, list[NightLevel]], list[SubrunTask]]:
    """The night model of the rows (task index → row) and the weak tasks, run with ``run``
    (which puts their new rows in ``rows``)."""
    ordered = [rows[t.index] for t in tasks]
    model = night_model(ordered, config)
    redo = weak_tasks(tasks, ordered, model)
    if redo:
        run(redo)
    return model, redo
