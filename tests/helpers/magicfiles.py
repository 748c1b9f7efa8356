"""MAGIC directories of several subrun files, as found and as damaged for the reader tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import tables

from lmcoinc.config import load_config
from lmcoinc.io.magic import MAGIC_PARAMETERS_KEY
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.utils.timer import StageTimer

from .badinputs import modify_column, remove_node


def magic_table(path: Path) -> np.ndarray:
    """The parameter table of a MAGIC file, as PyTables reads it."""
    with tables.open_file(str(path)) as handle:
        return handle.get_node(MAGIC_PARAMETERS_KEY).read()


def damaged_copy(source: Path, target: Path) -> list[str]:
    """Copy a MAGIC directory of at least two subruns per telescope and damage it as real
    data can be: an event id repeated across two files of M1 and within a file of M2, the
    last M2 file without a parameter table. Returns what was done."""
    shutil.copytree(source, target)
    m1 = sorted(target.glob("dl1_M1.*.h5"))
    m2 = sorted(target.glob("dl1_M2.*.h5"))
    last_m1 = int(magic_table(m1[0])["event_id"][-1])

    def first_is(value):
        def change(ids):
            ids[0] = value
        return change

    def repeat_within(ids):
        ids[5] = ids[6]

    modify_column(m1[1], MAGIC_PARAMETERS_KEY, "event_id", first_is(last_m1))
    modify_column(m2[0], MAGIC_PARAMETERS_KEY, "event_id", repeat_within)
    remove_node(m2[-1], MAGIC_PARAMETERS_KEY)
    return [f"{m1[1].name}: event {last_m1} of {m1[0].name}",
            f"{m2[0].name}: rows 5 and 6 one event", f"{m2[-1].name}: no parameters"]


def directory_events(magic_dir: Path) -> tuple[MagicDirectory, pl.DataFrame, np.ndarray]:
    """All events of a directory as ``lmcoinc run`` prepares them, with their times."""
    source = MagicDirectory(magic_dir, load_config(None).tel_names)
    events = source.events((0, 0), StageTimer())
    return source, events.rows(np.arange(events.height)), events.t_ns


def assert_slices_equal(cache, frame: pl.DataFrame, t_ns: np.ndarray, ranges) -> None:
    """Each time range of a MAGIC source is the rows of ``frame`` whose times lie in it."""
    for lo, hi in ranges:
        expected = frame.filter(pl.Series((t_ns >= lo) & (t_ns <= hi)))
        found = cache.events((lo, hi), StageTimer())
        assert found.rows(np.arange(found.height)).equals(expected), (lo, hi)
        np.testing.assert_array_equal(found.t_ns, t_ns[(t_ns >= lo) & (t_ns <= hi)])
