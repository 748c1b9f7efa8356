"""The two-pass LST-1 reader against the in-memory definition (prepare_lst on the whole table)."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest

from lmcoinc.io import lst_events
from lmcoinc.io.hdf5 import open_hdf5, read_table, to_polars
from lmcoinc.io.lst import LST_PARAMETERS_KEY, OPTICS_KEY, prepare_lst
from lmcoinc.io.lst_events import load_lst
from lmcoinc.io.timestamps import seconds_to_ns

from ..helpers.badinputs import lst_file, modify_column


def _in_memory(path, timestamp_column="dragon_time") -> pl.DataFrame:
    """The definition: the whole table read at once and prepared."""
    with open_hdf5(path) as handle:
        raw = to_polars(read_table(handle, LST_PARAMETERS_KEY))
        focal = float(read_table(handle, OPTICS_KEY)["equivalent_focal_length"][0])
    prepared = prepare_lst(raw, focal, timestamp_column, path)
    return prepared.rename({timestamp_column: "timestamp"})


def _assert_same(path, timestamp_column="dragon_time") -> None:
    want = _in_memory(path, timestamp_column)
    got = load_lst(path, timestamp_column)
    assert got.columns == want.columns
    assert got.keys.equals(want.select("obs_id_lst", "event_id_lst", "tel_id"))
    np.testing.assert_array_equal(got.t_ns, seconds_to_ns(want["timestamp"].to_numpy()))
    np.testing.assert_array_equal(got.intensity, want["intensity"].to_numpy())
    assert got.rows(np.arange(got.height)).equals(want)
    # any subset, in any order, with repeats, and a choice of columns
    rng = np.random.default_rng(1)
    positions = rng.integers(0, got.height, 500)
    columns = ["timestamp", "obs_id_lst", "intensity", "time_diff", "length"]
    assert got.rows(positions, columns).equals(want[positions].select(columns))


@pytest.fixture(params=["in memory", "in memory, blocks", "two passes"])
def passes(request, monkeypatch):
    """Keep the table from the first pass (read at once, or in blocks of ~900 rows), or read
    it again in such blocks."""
    if request.param != "in memory":
        monkeypatch.setattr(lst_events, "BLOCK_BYTES", 300_000)
    if request.param == "two passes":
        monkeypatch.setattr(lst_events, "IN_MEMORY_BYTES", 0)
    return request.param


def test_good_file(good, passes):
    _assert_same(lst_file(good))


def test_invalid_times_and_duplicates_at_block_edges(good, tmp_path, passes):
    path = tmp_path / lst_file(good).name
    shutil.copy(lst_file(good), path)
    with open_hdf5(path) as handle:
        rows = handle[LST_PARAMETERS_KEY].dtype.itemsize
    step = 300_000 // rows  # rows per block of the two-pass read

    def damage(values):
        values[[0, step - 1, step, 2 * step + 1]] = np.nan  # time_diff carried over blocks
        values[[step + 5, step + 6]] = 0.0

    modify_column(path, LST_PARAMETERS_KEY, "dragon_time", damage)

    def repeat(ids):
        ids[step + 1] = ids[step - 2]  # the same event id in two blocks: both dropped

    modify_column(path, LST_PARAMETERS_KEY, "event_id", repeat)
    _assert_same(path)
    _assert_same(path, "tib_time")


def test_each_file_has_its_subarray_also_when_reused(good, tmp_path):
    from lmcoinc.io.subarray import lst_subarray

    paths = [tmp_path / f"lst{i}.h5" for i in range(2)]
    for path in paths:
        shutil.copy(lst_file(good), path)
    for path in paths:
        found, decoded = load_lst(path, "dragon_time").subarray, lst_subarray(path)
        assert found.path == path == decoded.path
        assert found.tables.keys() == decoded.tables.keys()
        for key, table in decoded.tables.items():
            assert found.tables[key].tobytes() == table.tobytes()
