"""The night model applied to summary rows: which subruns are redone, and at what offset."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lmcoinc.batch.redo import add_night_columns, night_model, weak_tasks
from lmcoinc.batch.task import SubrunTask
from lmcoinc.config import load_config
from lmcoinc.pairing import command_priors

CONFIG = load_config(None)  # window 300 ns, min_coincidences 10


def _row(clock_us, n=500, status="ok", run=5093711, tried_us=None):
    row = {"status": status, "magic_obs_id": run, "subrun": 0}
    for tel_id in (2, 3):
        row[f"clock_offset_us_tel{tel_id}"] = clock_us
        row[f"n_coincidence_tel{tel_id}"] = None if clock_us is None else n
        row[f"night_offset_us_tel{tel_id}"] = tried_us
    return row


def _tasks(n):
    """The tasks of a batch's first pass (the history fallback on: batch's default)."""
    return [SubrunTask(index=i, lst_file=Path(f"dl1_LST-1.Run03265.{i:04}.h5"), obs_id=3265,
                       subrun=i, output_dir=Path("out"), config=CONFIG, fingerprint="x",
                       priors=command_priors(CONFIG, batch=True))
            for i in range(n)]


def test_weak_subruns_are_redone_at_their_level():
    rows = [
        _row(-3.200), _row(-3.205), _row(-3.195),
        _row(-3.150, n=4),                       # few pairs: weak
        _row(None, status="no_coincidence"),     # nothing: weak
        _row(-4.100, n=15),                      # a wrong peak far from its level: weak
        _row(-3.198), _row(-3.202),
        _row(-3.190, status="failed"),           # failed: retried next time, not redone
    ]
    for i, row in enumerate(rows):
        row["subrun"] = i
    model = night_model(rows, CONFIG)
    assert [(lv.first, lv.last, lv.n_subruns, lv.clock_offset_ns) for lv in model[2]] == [
        (0, 7, 5, -3200.0)]  # the weak ones are not in the level
    redo = weak_tasks(_tasks(len(rows)), rows, model)
    assert [t.index for t in redo] == [3, 4, 5]
    assert all(t.priors.night_offsets_ns == {2: -3200, 3: -3200} for t in redo)
    assert all(t.priors.history_fallback for t in redo)  # the rest of the priors unchanged
    assert all(t.config == CONFIG for t in redo)  # the night is not in the configuration
    # redone at that level already (a resumed batch): not again
    rows[3]["night_offset_us_tel2"] = rows[3]["night_offset_us_tel3"] = -3.2
    assert [t.index for t in weak_tasks(_tasks(len(rows)), rows, model)] == [4, 5]
    add_night_columns(rows, model)
    assert rows[5]["night_offset_us_tel2"] == -3.2
    assert abs(rows[5]["deviation_us_tel2"] + 0.9) < 1e-9
    assert rows[4]["deviation_us_tel3"] is None


def test_a_jump_gives_each_subrun_its_own_level():
    rows = [_row(-3.2), _row(-3.2), _row(None, status="no_coincidence"), _row(118.8),
            _row(118.8), _row(118.8, n=3)]
    model = night_model(rows, CONFIG)
    assert [lv.clock_offset_ns for lv in model[3]] == [-3200.0, 118800.0]
    redo = weak_tasks(_tasks(len(rows)), rows, model)
    assert [(t.index, t.priors.night_offsets_ns[2]) for t in redo] == [(2, -3200),
                                                                         (5, 118800)]


def test_levels_per_magic_run():
    rows = [_row(-3.2, run=1), _row(-3.2, run=1), _row(-1.0, run=2), _row(-1.0, run=2),
            _row(-3.2, n=2, run=2)]  # weak, of run 2: its level is run 2's
    model = night_model(rows, dataclasses.replace(CONFIG))
    redo = weak_tasks(_tasks(len(rows)), rows, model)
    assert [(t.index, t.priors.night_offsets_ns[2]) for t in redo] == [(4, -1000)]
