"""The time span of a DL1 file from its edge rows, against all its rows."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl

from lmcoinc.io.hdf5 import open_hdf5, read_table
from lmcoinc.io.lst import LST_PARAMETERS_KEY
from lmcoinc.io.magic import MAGIC_PARAMETERS_KEY
from lmcoinc.io.spans import EDGE_ROWS, lst_time_span, magic_time_span
from lmcoinc.io.timestamps import magic_ns

from ..helpers.badinputs import modify_column, truncate


def _column(path, key, columns):
    with open_hdf5(path) as handle:
        return read_table(handle, key, columns=columns)


def test_lst_span_is_that_of_its_rows(night):
    for path in night.lst_files:
        seconds = _column(path, LST_PARAMETERS_KEY, ["dragon_time"])["dragon_time"]
        lo, hi = lst_time_span(path, "dragon_time")
        # time increases with the rows: the edge rows hold the extremes (to the µs estimate)
        assert abs(lo - seconds.min() * 1e9) <= 1000 and abs(hi - seconds.max() * 1e9) <= 1000


def test_magic_span_is_that_of_its_rows(night):
    for path in night.magic_files:
        rows = _column(path, MAGIC_PARAMETERS_KEY, ["time_sec", "time_nanosec"])
        t = magic_ns(rows["time_sec"], rows["time_nanosec"])
        assert magic_time_span(path) == (int(t.min()), int(t.max()))


def test_invalid_edge_times_are_skipped_and_none_is_unknown(night, tmp_path):
    path = tmp_path / night.lst_files[0].name
    shutil.copy(night.lst_files[0], path)
    seconds = _column(path, LST_PARAMETERS_KEY, ["dragon_time"])["dragon_time"]

    def zero_edges(values: np.ndarray) -> None:
        values[:3] = 0.0
        values[-2:] = np.nan

    modify_column(path, LST_PARAMETERS_KEY, "dragon_time", zero_edges)
    lo, hi = lst_time_span(path, "dragon_time")
    assert abs(lo - seconds[3] * 1e9) <= 1000 and abs(hi - seconds[-3] * 1e9) <= 1000
    modify_column(path, LST_PARAMETERS_KEY, "dragon_time", lambda v: v.__setitem__(slice(None), 0))
    assert lst_time_span(path, "dragon_time") is None
    assert lst_time_span(path, "no_such_column") is None
    magic = tmp_path / night.magic_files[0].name
    shutil.copy(night.magic_files[0], magic)
    truncate(magic)
    assert magic_time_span(magic) is None
    assert magic_time_span(path) is None  # an LST file: no MAGIC table


def test_only_the_edge_rows_count(night, tmp_path):
    """Times between the edge rows do not move the span (a file must keep time order)."""
    path = tmp_path / night.magic_files[0].name
    shutil.copy(night.magic_files[0], path)
    before = magic_time_span(path)
    n_rows = pl.DataFrame(_column(path, MAGIC_PARAMETERS_KEY, ["time_sec"])).height
    assert n_rows > 2 * EDGE_ROWS + 1

    def earlier(values: np.ndarray) -> None:
        values[EDGE_ROWS + 1] -= 1000

    modify_column(path, MAGIC_PARAMETERS_KEY, "time_sec", earlier)
    assert magic_time_span(path) == before
