"""stereo/tables: the feature row and profile of each telescope, as the reference computes them
with pandas, and the output tables of a hand-made subrun (known stereo events, profiles
merged across telescopes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from lmcoinc.config import load_config
from lmcoinc.io.hdf5 import to_polars
from lmcoinc.io.lst import arrange_lst
from lmcoinc.io.lst_events import LstEvents
from lmcoinc.io.magic_events import MagicEvents
from lmcoinc.io.timestamps import magic_ns, seconds_to_ns
from lmcoinc.results import TelescopeCoincidence
from lmcoinc.stereo.tables import build_tables, feature_row, profile_frame
from lmcoinc.utils.timer import StageTimer

CONFIG = load_config(None)
FOCAL_M = 28.0
LST_DTYPE = [("obs_id", "<i8"), ("event_id", "<i8"), ("tel_id", "<i2"), ("event_type", "<i8"),
             ("intensity", "<f8"), ("time_gradient", "<f8"), ("alt_tel", "<f8"),
             ("az_tel", "<f8"), ("length", "<f8"), ("width", "<f8"), ("phi", "<f8"),
             ("psi", "<f8"), ("dragon_time", "<f8")]
MAGIC_OBS = 5093711


def _lst() -> LstEvents:
    """Six LST-1 events of run 7 (ids 10..15), 10 ms apart, kept as the first pass keeps them."""
    n = 6
    raw = np.zeros(n, LST_DTYPE)
    raw["obs_id"], raw["event_id"], raw["tel_id"], raw["event_type"] = 7, 10 + np.arange(n), 1, 32
    raw["intensity"] = 100.0 + np.arange(n)
    raw["time_gradient"] = np.arange(n) * 0.5
    raw["alt_tel"], raw["az_tel"] = 1.2 + np.arange(n) * 1e-3, 3.0 + np.arange(n) * 2e-3
    raw["length"], raw["width"] = 0.3 + np.arange(n) * 0.01, 0.1 + np.arange(n) * 0.01
    raw["phi"], raw["psi"] = np.arange(n) * 0.1, np.arange(n) * -0.1
    raw["dragon_time"] = 1_700_000_000.0 + np.arange(n) * 0.01 + 0.0001234
    time_diff = np.diff(raw["dragon_time"], prepend=raw["dragon_time"][0])
    empty = to_polars(raw[:0]).with_columns(delta_t=pl.Series([], dtype=pl.Float64))
    return LstEvents(
        path=Path("hand-made.h5"),
        keys=pl.DataFrame({"obs_id_lst": raw["obs_id"], "event_id_lst": raw["event_id"],
                           "tel_id": raw["tel_id"]}),
        t_ns=seconds_to_ns(raw["dragon_time"]), intensity=raw["intensity"],
        columns=arrange_lst(empty, FOCAL_M, "dragon_time").columns, focal_length_m=FOCAL_M,
        timestamp_column="dragon_time", file_rows=np.arange(n), time_diff=time_diff, raw=[raw])


#: MAGIC stereo events 100..103, M1 (tel 2) and M2 (tel 3) each, in prepared order:
#: 100 is LST event 11 seen by both, 101 is LST event 13 seen by M1 only; 102, 103 are MAGIC's.
MAGIC_EVENTS = [100, 100, 101, 101, 102, 102, 103, 103]
MAGIC_TELS = [2, 3, 2, 3, 2, 3, 2, 3]


def _magic(lst: LstEvents) -> MagicEvents:
    t = np.array([lst.t_ns[1], lst.t_ns[1], lst.t_ns[3], lst.t_ns[3] + 20_000,
                  lst.t_ns[4] + 50_000, lst.t_ns[4] + 50_000, lst.t_ns[5] + 90_000,
                  lst.t_ns[5] + 90_000]) - 3200 + np.array([0, 40, -40, 0, 0, 0, 0, 0])
    n = len(t)
    frame = pl.DataFrame({
        "obs_id_magic": np.full(n, MAGIC_OBS), "event_id_magic": MAGIC_EVENTS,
        "tel_id": MAGIC_TELS, "pointing_alt": 1.19 + np.arange(n) * 1e-4,
        "pointing_az": 3.01 + np.arange(n) * 3e-4, "time_sec": t // 10**9,
        "time_nanosec": t % 10**9, "time_diff": np.full(n, 0.004), "intensity": 50.0 + np.arange(n),
        "x": np.arange(n) * 0.1, "length": np.full(n, 0.2), "width": np.full(n, 0.05),
        "phi": np.full(n, 10.0), "psi": np.full(n, 20.0), "slope": np.full(n, 1.5),
    })
    return MagicEvents.from_frame(frame, files=[])


def _coincidence(offsets, counts, average, candidates, idx_lst, idx_magic):
    def ints(values):
        return np.asarray(values, dtype=np.int64)

    return TelescopeCoincidence(None, ints(offsets), ints(counts), average, ints(candidates),
                                ints(idx_lst), ints(idx_magic))


#: M1 pairs LST events 1 and 3 with its events 100 and 101; M2 pairs LST 1 with its 100.
FOUND = {
    2: _coincidence([-3300, -3200, -3100], [0, 2, 1], -3200, [0, 2, 4, 6], [1, 3], [0, 1]),
    3: _coincidence([-3200, -3100, -3000, -2900], [1, 0, 0, 0], -3160, [1, 3, 5, 7], [1], [0]),
}


def reference_profile(found: dict[int, TelescopeCoincidence]) -> pd.DataFrame:
    """The reference's profile: an outer merge of each telescope's column, sorted."""
    profiles = pd.DataFrame(data={"time_offset": []})
    for tel_id, tel in found.items():
        df_profile = pd.DataFrame(data={
            "time_offset": np.round(tel.offsets_ns * 1e-3, 1),
            f"n_coincidence_tel1{tel_id}": tel.counts,
        })
        profiles = profiles.merge(df_profile, on="time_offset", how="outer")
        profiles = profiles.sort_values("time_offset")
    return profiles.reset_index(drop=True)


# --- one telescope ---------------------------------------------------------------------------


def test_feature_row_means_as_pandas():
    """Means of float64 columns bit for bit as pandas' Series.mean gives them."""
    rng = np.random.default_rng(5)
    n_lst, n_magic = 4001, 997
    lst_rows = pl.DataFrame({"timestamp": 1.7e9 + rng.random(n_lst) * 10,
                             "pointing_alt": rng.random(n_lst), "pointing_az": rng.random(n_lst)})
    magic = _magic(_lst())
    magic.pointing_alt, magic.pointing_az = rng.random(n_magic), rng.random(n_magic) * 6
    candidates = np.sort(rng.choice(n_magic, 300, replace=False))
    found = _coincidence([0], [n_lst], -3210, candidates, np.arange(n_lst), np.arange(n_lst))
    row = feature_row(3, found, lst_rows, magic, 300)
    assert row == {
        "coincidence_id": 13, "window_half_width": 300,
        "unix_time": pd.Series(lst_rows["timestamp"].to_numpy()).mean(),
        "pointing_alt_lst": pd.Series(lst_rows["pointing_alt"].to_numpy()).mean(),
        "pointing_az_lst": pd.Series(lst_rows["pointing_az"].to_numpy()).mean(),
        "pointing_alt_magic": pd.Series(magic.pointing_alt[candidates]).mean(),
        "pointing_az_magic": pd.Series(magic.pointing_az[candidates]).mean(),
        "average_offset": -3.21, "n_coincidence": n_lst, "n_events_magic": 300,
    }


def test_profile_frame_in_tenths_of_us():
    found = _coincidence([-3249, -3150, -50, 0, 49, 150], [1, 2, 3, 4, 5, 6], 0, [], [], [])
    frame = profile_frame(2, found)
    assert frame.columns == ["time_offset", "n_coincidence_tel12"]
    assert frame["time_offset"].to_list() == np.round(found.offsets_ns * 1e-3, 1).tolist()
    assert frame["time_offset"].to_list() == [-3.2, -3.2, -0.0, 0.0, 0.0, 0.2]  # half to even
    assert frame["n_coincidence_tel12"].to_list() == [1, 2, 3, 4, 5, 6]


# --- a hand-made subrun ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tables():
    lst = _lst()
    return lst, _magic(lst), build_tables(lst, _magic(lst), FOUND, CONFIG, StageTimer())


def test_feature_table(tables):
    lst, magic, result = tables
    feature = result.feature
    assert feature["coincidence_id"].to_list() == [12, 13]
    raw = lst.raw[0]
    for row, (tel_id, tel) in zip(feature.iter_rows(named=True), FOUND.items(), strict=True):
        assert row == {
            "coincidence_id": int(f"1{tel_id}"), "window_half_width": 300,
            "unix_time": pd.Series(raw["dragon_time"][tel.idx_lst]).mean(),
            "pointing_alt_lst": pd.Series(raw["alt_tel"][tel.idx_lst]).mean(),
            "pointing_az_lst": pd.Series(raw["az_tel"][tel.idx_lst]).mean(),
            "pointing_alt_magic": pd.Series(magic.pointing_alt[tel.candidates]).mean(),
            "pointing_az_magic": pd.Series(magic.pointing_az[tel.candidates]).mean(),
            "average_offset": tel.average_offset_ns / 1000, "n_coincidence": len(tel.idx_lst),
            "n_events_magic": 4,
        }
    assert result.telescopes is FOUND


def test_profiles_merged_across_telescopes(tables):
    profile = tables[2].profile
    assert profile.columns == ["time_offset", "n_coincidence_tel12", "n_coincidence_tel13"]
    assert profile["time_offset"].to_list() == [-3.3, -3.2, -3.1, -3.0, -2.9]
    assert profile["n_coincidence_tel12"].to_list() == [0, 2, 1, None, None]
    assert profile["n_coincidence_tel13"].to_list() == [None, 1, 0, 0, 0]
    reference = reference_profile(FOUND)
    pd.testing.assert_frame_equal(profile.to_pandas().astype(float), reference.astype(float))


def test_stereo_events(tables):
    lst, magic, result = tables
    events = result.events.collect()
    assert events.height == result.events.height == 10
    ids = events.select("obs_id", "event_id", "tel_id", "multiplicity", "combo_type").rows()
    assert ids == [
        (7.0, 11.0, 1, 3, 1), (7.0, 11.0, 2, 3, 1), (7.0, 11.0, 3, 3, 1),  # LST-1, M1, M2
        (7.0, 13.0, 1, 3, 1), (7.0, 13.0, 2, 3, 1), (7.0, 13.0, 3, 3, 1),  # M2 by its event
        (MAGIC_OBS, 102.0, 2, 2, 3), (MAGIC_OBS, 102.0, 3, 2, 3),  # MAGIC's own: M1 + M2
        (MAGIC_OBS, 103.0, 2, 2, 3), (MAGIC_OBS, 103.0, 3, 2, 3),
    ]
    parameters = ["intensity", "slope", "pointing_alt", "pointing_az", "length", "width", "phi",
                  "psi", "time_diff", "timestamp"]
    assert sorted(events.columns) == sorted([
        "obs_id", "event_id", "tel_id", "obs_id_magic", "event_id_magic", "obs_id_lst",
        "event_id_lst", *parameters, "timestamp_ns", "multiplicity", "combo_type"])
    # the exact time (Parquet only) right after the float seconds
    assert events.columns.index("timestamp_ns") == events.columns.index("timestamp") + 1
    assert events.schema["timestamp_ns"] == pl.Int64
    raw = lst.raw[0]
    first = events.row(0, named=True)  # LST event 11 (row 1): its parameters, converted
    assert (first["obs_id_magic"], first["event_id_magic"]) == (MAGIC_OBS, 100)
    assert first["timestamp"] == raw["dragon_time"][1] and first["intensity"] == 101.0
    assert first["timestamp_ns"] == lst.t_ns[1] == seconds_to_ns(raw["dragon_time"][1:2])[0]
    assert first["length"] == FOCAL_M * np.tan(np.deg2rad(raw["length"][1]))
    assert first["psi"] == np.rad2deg(raw["psi"][1]) and first["slope"] == 0.5
    m2 = events.row(5, named=True)  # M2's event 101: no pair of its own
    assert (m2["obs_id_lst"], m2["event_id_lst"]) == (None, None)
    t = magic_ns(magic.frame["time_sec"][3], magic.frame["time_nanosec"][3])
    assert m2["timestamp"] == t * 1e-9 and m2["intensity"] == 53.0
    assert m2["timestamp_ns"] == t
