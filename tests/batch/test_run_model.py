"""What the subruns of a run teach the sparse ones: the run's curves and the subruns redone."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lmcoinc.batch.run_model import rerun_with_run_model, rescue_tasks, run_curves
from lmcoinc.batch.task import SubrunTask, empty_row
from lmcoinc.clock.curve import OffsetCurve, fit_offset_curve
from lmcoinc.config import load_config
from lmcoinc.io.dataset import partition_file
from lmcoinc.pairing import command_priors

CONSTANT = load_config(None)
DRIFT = dataclasses.replace(CONSTANT, offset_model="drift")
T0 = 1_700_000_000.0


def _clock_ns(t):
    """The run's clock (MAGIC - LST-1, ns) at UNIX times ``t``: -3.2 us at T0, +5 ns/s."""
    return -3200.0 + 5.0 * (np.asarray(t) - T0)


def _tasks(out: Path, config, n: int) -> list[SubrunTask]:
    return [SubrunTask(index=i, lst_file=Path(f"dl1_LST-1.Run03265.{i:04}.h5"), obs_id=3265,
                       subrun=i, output_dir=out, config=config, fingerprint="x",
                       priors=command_priors(config, batch=True))
            for i in range(n)]


def _model_table(task: SubrunTask, start: float, wild: bool = False,
                 obs_id: int | None = None) -> pl.DataFrame:
    """A subrun's offset_model table, in its partition of the batch's dataset (run
    ``obs_id``, default the task's): 4 slices per telescope (one without pairs)."""
    time = start + np.arange(4) * 0.5
    frames = []
    for tel_id in (2, 3):
        offset_us = _clock_ns(time) / 1000 + (0.01 if tel_id == 3 else 0.0)
        n_pairs = np.array([10, 12, 0, 9])
        offset_us[2] = 99.0  # the slice without pairs: not learnt from
        if wild:
            offset_us[:] = 1e6
        frames.append(pl.DataFrame({
            "tel_id": np.full(4, tel_id), "time": time, "offset_us": offset_us,
            "drift_us_per_s": np.full(4, 0.005), "n_pairs": n_pairs,
            "residual_ns": np.zeros(4)}))
    table = pl.concat(frames)
    row = empty_row(task)
    path = partition_file(task.output_dir, "offset_model", obs_id or row["obs_id"], row["subrun"])
    path.parent.mkdir(parents=True)
    table.write_parquet(path)
    return table


def _row(task, status, n2=100, n3=100):
    """The task's summary row (its identity as the batch gives it) with a status."""
    row = empty_row(task)
    row.update(status=status, n_coincidence_tel2=n2, n_coincidence_tel3=n3, seconds=1.0)
    return row


def _rows(tasks, statuses: dict) -> dict:
    return {i: _row(tasks[i], status) for i, status in statuses.items()}


def test_run_curves_from_the_complete_subruns(tmp_path):
    tasks = _tasks(tmp_path, DRIFT, 5)
    tables = [_model_table(tasks[0], T0), _model_table(tasks[1], T0 + 2),
              _model_table(tasks[2], T0 + 4, wild=True), _model_table(tasks[3], T0 + 6)]
    rows = _rows(tasks, {0: "ok", 1: "skipped", 2: "failed", 4: "ok"})
    # subrun 2 failed, subrun 3 has no row (not run), subrun 4 no table: none of them teach
    curves = run_curves(tasks, rows)
    assert set(curves) == {2, 3}
    slices = pl.concat(tables[:2]).filter(pl.col("n_pairs") > 0)
    for tel_id, curve in curves.items():
        mine = slices.filter(pl.col("tel_id") == tel_id)
        expected = fit_offset_curve(np.rint(mine["time"].to_numpy() * 1e9).astype(np.int64),
                                    mine["offset_us"].to_numpy() * 1000)
        assert curve.pieces == (expected,) and curve.breaks_ns == ()  # no step: one piece
        t = np.array([T0, T0 + 1.25, T0 + 3.5])
        shift = 10.0 if tel_id == 3 else 0.0
        np.testing.assert_allclose(curve((t * 1e9).astype(np.int64)), _clock_ns(t) + shift,
                                   atol=1e-3)


def test_nothing_learnt(tmp_path):
    tasks = _tasks(tmp_path, CONSTANT, 2)
    _model_table(tasks[0], T0)
    rows = _rows(tasks, {0: "ok", 1: "ok"})
    assert run_curves(tasks, rows) == {}  # the constant model learns nothing from them
    assert run_curves(_tasks(tmp_path / "none", DRIFT, 2), rows) == {}  # no table written


def test_the_partition_of_the_row(tmp_path):
    """A file without run and subrun in its name: the partition of its row's run (that of
    its events) and subrun (its position), as the batch wrote it."""
    merged = dataclasses.replace(_tasks(tmp_path, DRIFT, 1)[0], index=3, obs_id=None,
                                 subrun=None, lst_file=Path("dl1_LST-1.merged.h5"))
    table = _model_table(merged, T0, obs_id=3265)
    row = {**_row(merged, "ok"), "obs_id": 3265}
    assert (row["subrun"], partition_file(tmp_path, "offset_model", 3265, 3).is_file()) == (3, True)
    curves = run_curves([merged], {3: row})
    slices = table.filter((pl.col("n_pairs") > 0) & (pl.col("tel_id") == 2))
    assert curves[2].pieces == (fit_offset_curve(
        np.rint(slices["time"].to_numpy() * 1e9).astype(np.int64),
        slices["offset_us"].to_numpy() * 1000),)
    assert run_curves([merged], {3: {**row, "obs_id": 3266}}) == {}  # another run's partition


def test_rescue_tasks(tmp_path):
    tasks = _tasks(tmp_path, DRIFT, 6)
    curve = OffsetCurve(int(T0 * 1e9), (-3200.0, 5.0))
    rows = {
        0: _row(tasks[0], "ok", n2=None),  # tel 2 found nothing: redone following the run
        1: _row(tasks[1], "no_coincidence", None, None),
        2: _row(tasks[2], "failed", None, None),  # failed: retried by the next batch, not here
        3: _row(tasks[3], "ok"),  # both found their own
        4: _row(tasks[4], "skipped", None, None),  # of an earlier batch: not redone
    }  # 5: no row
    again = rescue_tasks(tasks, rows, {2: curve})
    assert [t.index for t in again] == [0, 1]
    assert all(t.priors.run_curves == {2: curve} for t in again)
    assert all(t.priors.history_fallback and t.config == DRIFT for t in again)
    both = rescue_tasks(tasks, rows, {2: curve, 3: curve})
    assert [(t.index, sorted(t.priors.run_curves)) for t in both] == [(0, [2]), (1, [2, 3])]
    assert rescue_tasks(tasks, rows, {}) == []


def test_rerun_replaces_the_rows(tmp_path):
    tasks = _tasks(tmp_path, DRIFT, 3)
    for task in tasks:
        _model_table(task, T0 + 2 * task.index)
    rows = _rows(tasks, {0: "ok", 2: "ok"})
    rows[1] = _row(tasks[1], "no_coincidence", None, None)
    ran = []

    def execute(again, done):
        ran.extend(again)
        for task in again:
            done({**empty_row(task), "status": "ok", "seconds": 2.5,
                  "n_coincidence_tel2": 7, "n_coincidence_tel3": 8})

    assert rerun_with_run_model(tasks, tasks, rows, execute) == 1
    assert [t.index for t in ran] == [1] and set(ran[0].priors.run_curves) == {2, 3}
    assert rows[1]["status"] == "ok" and rows[1]["seconds"] == pytest.approx(3.5)  # both passes
    assert rerun_with_run_model(tasks, tasks, rows, execute) == 0  # nothing left to rescue
    assert len(ran) == 1
