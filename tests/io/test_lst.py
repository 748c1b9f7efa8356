"""io/lst: the reference's cuts and arrangement of LST-1 events (magic-cta-pipe's loader
restated with pandas, on a real-format file with damaged rows) and the timestamp policy."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pandas as pd
import polars as pl
import pytest

from lmcoinc.errors import InvalidFileError
from lmcoinc.io.hdf5 import open_hdf5, read_table, to_polars
from lmcoinc.io.lst import (
    LST_INDEX,
    LST_PARAMETERS_KEY,
    OPTICS_KEY,
    arrange_lst,
    invalid_timestamps,
    prepare_lst,
    shower_mask,
    timestamp_policy,
    unique_events,
    warn_backwards,
)

from ..helpers.badinputs import lst_file, modify_column

RENAME = {"obs_id": "obs_id_lst", "event_id": "event_id_lst", "delta_t": "time_diff",
          "alt_tel": "pointing_alt", "az_tel": "pointing_az",
          "leakage_pixels_width_1": "pixels_width_1", "leakage_pixels_width_2": "pixels_width_2",
          "leakage_intensity_width_1": "intensity_width_1",
          "leakage_intensity_width_2": "intensity_width_2", "time_gradient": "slope"}


def reference_lst(path) -> pd.DataFrame:
    """magic-cta-pipe 0.6.2's load_lst_dl1_data_file, its pandas steps."""
    event_data = pd.read_hdf(path, key="dl1/event/telescope/parameters/LST_LSTCam")
    time = np.array(event_data["dragon_time"])
    event_data["delta_t"] = np.insert(np.diff(time), 0, 0)
    event_data.query("event_type == 32", inplace=True)
    event_data.dropna(subset=["intensity", "time_gradient", "alt_tel", "az_tel"], inplace=True)
    event_data.drop_duplicates(subset=["obs_id", "event_id"], keep=False, inplace=True)
    event_data.rename(columns=RENAME, inplace=True)
    event_data.set_index(["obs_id_lst", "event_id_lst", "tel_id"], inplace=True)
    event_data.sort_index(inplace=True)
    optics = pd.read_hdf(path, key="configuration/instrument/telescope/optics")
    focal_length = optics["equivalent_focal_length"][0]
    event_data["length"] = focal_length * np.tan(np.deg2rad(event_data["length"]))
    event_data["width"] = focal_length * np.tan(np.deg2rad(event_data["width"]))
    event_data["phi"] = np.rad2deg(event_data["phi"])
    event_data["psi"] = np.rad2deg(event_data["psi"])
    return event_data.reset_index()


def _raw(path) -> tuple[pl.DataFrame, float]:
    with open_hdf5(path) as handle:
        raw = to_polars(read_table(handle, LST_PARAMETERS_KEY))
        focal = float(read_table(handle, OPTICS_KEY)["equivalent_focal_length"][0])
    return raw, focal


@pytest.fixture(scope="module")
def damaged(good, tmp_path_factory):
    """The good LST-1 file with NaN parameters and repeated event ids in some shower rows."""
    path = tmp_path_factory.mktemp("lst") / lst_file(good).name
    shutil.copy(lst_file(good), path)
    with open_hdf5(path) as handle:
        shower = np.flatnonzero(read_table(handle, LST_PARAMETERS_KEY,
                                           columns=["event_type"])["event_type"] == 32)

    def nan_at(rows):
        def change(values):
            values[rows] = np.nan
        return change

    modify_column(path, LST_PARAMETERS_KEY, "intensity", nan_at(shower[[3, 40]]))
    modify_column(path, LST_PARAMETERS_KEY, "time_gradient", nan_at(shower[[7]]))
    modify_column(path, LST_PARAMETERS_KEY, "az_tel", nan_at(shower[[100]]))

    def repeat(ids):
        ids[shower[[200, 300]]] = ids[shower[[201, 10]]]

    modify_column(path, LST_PARAMETERS_KEY, "event_id", repeat)
    return path


@pytest.mark.parametrize("which", ["good", "damaged"])
def test_prepare_lst_as_the_reference(good, damaged, which):
    path = lst_file(good) if which == "good" else damaged
    raw, focal = _raw(path)
    want = reference_lst(path)
    for timestamp_column in (None, "dragon_time"):
        got = prepare_lst(raw, focal, timestamp_column, path).to_pandas()
        assert list(got.columns) == list(want.columns)
        assert len(got) == len(want) < raw.filter(pl.col("event_type") == 32).height
        for column in want.columns:
            np.testing.assert_array_equal(got[column].to_numpy(), want[column].to_numpy(),
                                          err_msg=column)
    assert list(want.columns[:3]) == list(LST_INDEX)


def _frame(dragon_time, event_type=None, **columns) -> pl.DataFrame:
    n = len(dragon_time)
    base = {"obs_id": np.full(n, 1), "event_id": np.arange(n), "tel_id": np.ones(n, int),
            "event_type": event_type if event_type is not None else np.full(n, 32),
            "intensity": np.ones(n), "time_gradient": np.ones(n), "alt_tel": np.ones(n),
            "az_tel": np.ones(n), "length": np.ones(n), "width": np.ones(n),
            "phi": np.ones(n), "psi": np.ones(n), "dragon_time": dragon_time}
    return pl.DataFrame({**base, **columns})


def test_invalid_timestamps_dropped_with_a_warning(caplog):
    t = [1.7e9, np.nan, 1.7e9 + 2, np.inf, -1.0, 0.0, 1.7e9 + 6]
    with caplog.at_level(logging.WARNING, logger="lmcoinc.io.lst"):
        out = prepare_lst(_frame(t), 28.0, "dragon_time", "f.h5")
    assert out["event_id_lst"].to_list() == [0, 2, 6]
    assert out["time_diff"].to_list() == [0.0, 2.0, 4.0]  # from the previous valid one
    assert [r.getMessage() for r in caplog.records] == [
        "f.h5: 4 of 7 shower events have an invalid dragon_time (NaN, infinite, zero or "
        "negative); dropped"]


def test_time_diff_before_the_cuts_and_after_a_first_invalid_time():
    t = [np.nan, 1.7e9 + 1, 1.7e9 + 3, 1.7e9 + 3.5]
    out = prepare_lst(_frame(t, event_type=np.array([32, 32, 2, 32])), 28.0, "dragon_time")
    assert out["event_id_lst"].to_list() == [1, 3]
    assert out["time_diff"].to_list() == [0.0, 0.5]  # from the interleaved event before it


@pytest.mark.parametrize(("frame", "problem"), [
    (_frame([np.nan, 0.0, -5.0]),
     "all 3 shower events have an invalid dragon_time (NaN, infinite, zero or negative)"),
    (_frame([1.7e9, 1.7e9 + 1], event_type=np.array([2, 4])),
     "no shower events (event_type 32) with valid parameters"),
    (_frame([1.7e9, 1.7e9 + 1], intensity=[np.nan, np.nan]),
     "no shower events (event_type 32) with valid parameters"),
])
def test_no_valid_event_is_an_error(frame, problem):
    with pytest.raises(InvalidFileError) as err:
        prepare_lst(frame, 28.0, "dragon_time", "f.h5")
    assert str(err.value) == f"f.h5: {problem}"
    # without the policy the reference's rows are kept as they are
    assert prepare_lst(frame, 28.0).height == frame.filter(shower_mask(frame)).height


def test_policy_of_another_timestamp_column(caplog):
    frame = _frame([1.7e9, 1.7e9 + 1, 1.7e9 + 2], tib_time=[1.7e9, 0.0, 1.7e9 + 2])
    with caplog.at_level(logging.WARNING, logger="lmcoinc.io.lst"):
        out = prepare_lst(frame, 28.0, "tib_time", "f.h5")
    assert out["event_id_lst"].to_list() == [0, 2] and "tib_time" in out.columns
    assert "1 of 3 shower events have an invalid tib_time" in caplog.text
    assert prepare_lst(frame, 28.0, "dragon_time").height == 3


def test_backward_times_are_kept_with_a_warning(caplog):
    t = [1.7e9 + 1, 1.7e9, 1.7e9 + 2, 1.7e9 + 1.5, 1.7e9 + 3]
    with caplog.at_level(logging.WARNING, logger="lmcoinc.io.lst"):
        out = prepare_lst(_frame(t), 28.0, "dragon_time", "f.h5")
    assert out.height == 5
    assert [r.getMessage() for r in caplog.records] == [
        "f.h5: dragon_time goes backwards at 2 events (in event-id order); events kept (the "
        "pairing sorts by time)"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmcoinc.io.lst"):
        warn_backwards(np.array([1, 2, 2, 3]), "dragon_time", "f.h5")  # ties do not count
    assert caplog.records == []


def test_timestamp_policy_counts():
    timestamp_policy(10, 0, "dragon_time", "f.h5")
    with pytest.raises(InvalidFileError, match="^f.h5: all 10 shower events"):
        timestamp_policy(10, 10, "dragon_time", "f.h5")
    with pytest.raises(InvalidFileError, match="^f.h5: no shower events"):
        timestamp_policy(0, 0, "dragon_time", "f.h5")


def test_invalid_timestamps_of_each_type():
    floats = pl.Series("t", [1.0, 0.0, -1.0, np.nan, np.inf, -np.inf, None])
    ints = pl.Series("t", [1, 0, -1, None], dtype=pl.Int64)
    for series, want in [(floats, [False, True, True, True, True, True, True]),
                         (ints, [False, True, True, True])]:
        got = series.to_frame().select(invalid_timestamps(pl.col("t"), series.dtype))
        assert got.to_series().to_list() == want


def test_cuts_of_one_row():
    frame = pl.DataFrame({
        "event_type": [32, 32, 32, 32, 32, 2], "intensity": [1.0, np.nan, 1.0, 1.0, 1.0, 1.0],
        "time_gradient": [1.0, 1.0, None, 1.0, 1.0, 1.0], "alt_tel": [1.0] * 6,
        "az_tel": pl.Series([1, 1, 1, None, 1, 1], dtype=pl.Int32),
    })
    assert frame.select(shower_mask(frame)).to_series().to_list() == [
        True, False, False, False, True, False]
    ids = pl.DataFrame({"obs_id": [1, 1, 1, 2, 2], "event_id": [5, 6, 5, 5, 7]})
    assert unique_events(ids).rows() == [(1, 6), (2, 5), (2, 7)]


def test_arrange_lst_units_and_order():
    frame = pl.DataFrame({"length": [0.5], "obs_id": [3], "phi": [np.pi], "event_id": [9],
                          "width": [0.1], "tel_id": [1], "psi": [-np.pi / 2],
                          "time_gradient": [2.0], "ucts_time": [1.7e9]})
    out = arrange_lst(frame, 28.0, "ucts_time")
    assert out.columns == ["obs_id_lst", "event_id_lst", "tel_id", "length", "phi", "width",
                           "psi", "slope", "timestamp"]
    assert out.row(0) == (3, 9, 1, 28.0 * np.tan(np.deg2rad(0.5)), 180.0,
                          28.0 * np.tan(np.deg2rad(0.1)), -90.0, 2.0, 1.7e9)
