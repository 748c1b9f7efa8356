"""Tests of lmcoinc.simulate: realistic LST-1 / MAGIC DL1 files from one shower stream."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tables

from lmcoinc.simulate import SimulatedFiles, SimulationConfig, simulate

from .simread import LST_IMAGE_KEY, LST_KEY, MAGIC_IMAGE_KEY, MAGIC_KEY, lst_ns, magic_rows, read

SMALL = SimulationConfig(duration_s=2.0, magic_subrun_s=1.5, seed=7)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedFiles:
    return simulate(tmp_path_factory.mktemp("small"), SMALL)


def _magic(files: SimulatedFiles, tel: str) -> np.ndarray:
    return magic_rows(files.magic_files, tel)


def test_file_naming(small_run: SimulatedFiles) -> None:
    assert small_run.lst_file.name == "dl1_LST-1.Run03265.0040.h5"
    assert small_run.magic_dir == small_run.lst_file.parent / "magic"
    # MAGIC window: 1 s before to 1 s after the 2 s LST subrun = 4 s -> 3 subruns of 1.5 s
    names = [p.name for p in small_run.magic_files]
    expected = [f"dl1_M{t}.Run05093711.{k:03}.h5" for t in (1, 2) for k in (1, 2, 3)]
    assert names == expected
    assert all(p.parent == small_run.magic_dir and p.exists() for p in small_run.magic_files)
    assert small_run.true_offset_ns == -3200


def test_deterministic(tmp_path: Path, small_run: SimulatedFiles) -> None:
    again = simulate(tmp_path / "again", SMALL)
    assert again.n_common == small_run.n_common
    pairs = [(small_run.lst_file, again.lst_file, LST_KEY)]
    pairs += [
        (a, b, MAGIC_KEY) for a, b in zip(small_run.magic_files, again.magic_files, strict=True)
    ]
    for a, b, key in pairs:
        ta, tb = read(a, key), read(b, key)
        assert ta.dtype == tb.dtype
        assert ta.tobytes() == tb.tobytes(), (a.name, key)
    other = simulate(tmp_path / "other", SimulationConfig(duration_s=2.0, seed=8))
    assert read(other.lst_file, LST_KEY).tobytes() != read(small_run.lst_file, LST_KEY).tobytes()


def test_real_compression_filters(small_run: SimulatedFiles) -> None:
    with tables.open_file(small_run.lst_file) as f:
        filters = f.get_node(LST_KEY).filters
        assert filters.complib == "blosc:zstd"
        assert filters.fletcher32
        assert filters.complevel == 1  # lstchain.io.io.HDF5_ZSTD_FILTERS
    for path in small_run.magic_files:
        with tables.open_file(path) as f:
            filters = f.get_node(MAGIC_KEY).filters
            assert filters.complib == "blosc:zstd"
            assert filters.fletcher32
            assert filters.complevel == 5  # ctapipe HDF5TableWriter default


def test_lst_table_columns_units_and_subarray(small_run: SimulatedFiles) -> None:
    df = pd.read_hdf(small_run.lst_file, key="dl1/event/telescope/parameters/LST_LSTCam")
    required = {
        "obs_id", "event_id", "tel_id", "event_type", "intensity", "log_intensity", "x", "y",
        "r", "phi", "length", "width", "psi", "skewness", "kurtosis", "time_gradient",
        "intercept", "leakage_intensity_width_1", "leakage_intensity_width_2",
        "leakage_pixels_width_1", "leakage_pixels_width_2", "n_pixels", "n_islands",
        "concentration_cog", "concentration_core", "concentration_pixel", "alt_tel", "az_tel",
        "dragon_time", "ucts_time", "tib_time", "wl",
    }  # fmt: skip
    assert required <= set(df.columns)
    assert df["dragon_time"].dtype == np.float64
    assert df["event_type"].dtype == np.int64
    assert df["leakage_intensity_width_1"].dtype == np.float32
    assert (df["obs_id"] == 3265).all() and (df["tel_id"] == 1).all()
    with tables.open_file(small_run.lst_file) as f:
        attrs = f.get_node(LST_KEY).attrs
        names = f.get_node(LST_KEY).colnames
        units = {
            str(attrs[f"CTAFIELD_{i}_NAME"]): str(attrs[f"CTAFIELD_{i}_UNIT"])
            for i in range(len(names))
            if f"CTAFIELD_{i}_UNIT" in attrs._v_attrnames
        }
        assert str(attrs["LSTCHAIN_VERSION"]) == "0.12.3"
    assert units["length"] == units["width"] == "deg"
    assert units["phi"] == units["psi"] == units["alt_tel"] == "rad"
    assert units["x"] == units["y"] == "m"
    showers = df[df["event_type"] == 32].dropna(subset=["intensity"])
    assert 0.01 < showers["length"].median() < 0.5  # deg
    assert showers["width"].le(showers["length"]).all()
    assert np.abs(showers["psi"]).max() <= math.pi / 2
    assert 20 < showers["intensity"].median() < 200
    assert showers["intensity"].max() > 1e3
    assert np.allclose(df["alt_tel"], 1.2, atol=0.01)
    # file rows in event-id and time order, the LST dead time is honoured
    assert df["event_id"].is_monotonic_increasing
    t = lst_ns(df["dragon_time"].to_numpy())
    assert np.all(np.diff(t) >= SMALL.lst_dead_time_ns - 300)
    assert np.array_equal(df["ucts_time"], df["dragon_time"])
    rate = len(df) / SMALL.duration_s
    assert 0.93 * SMALL.lst_rate_hz < rate < 1.07 * SMALL.lst_rate_hz

    from ctapipe.instrument import SubarrayDescription

    subarray = SubarrayDescription.from_hdf(small_run.lst_file)
    assert subarray.tel[1].camera.name == "LSTCam"
    optics = pd.read_hdf(small_run.lst_file, key="configuration/instrument/telescope/optics")
    assert optics["equivalent_focal_length"][0] == pytest.approx(28.0)


def test_interleaved_nan_and_duplicate_rows(small_run: SimulatedFiles) -> None:
    df = pd.read_hdf(small_run.lst_file, key="dl1/event/telescope/parameters/LST_LSTCam")
    counts = df["event_type"].value_counts()
    for event_type in (0, 2):  # flat-field and pedestal, ~100 Hz each
        assert 180 <= counts[event_type] <= 202
    showers = df[df["event_type"] == 32]
    nan_frac = showers[["intensity", "time_gradient"]].isna().any(axis=1).mean()
    assert 0.003 < nan_frac < 0.03
    dup = df[df.duplicated(subset=["obs_id", "event_id"], keep=False)]
    assert len(dup) == 2 and dup["event_id"].nunique() == 1
    assert dup.index[1] == dup.index[0] + 1  # adjacent rows, different triggers
    assert dup["dragon_time"].iloc[1] > dup["dragon_time"].iloc[0]


def test_magic_stereo_structure(small_run: SimulatedFiles) -> None:
    from ctapipe.instrument import SubarrayDescription

    subarrays = [SubarrayDescription.from_hdf(p) for p in small_run.magic_files]
    assert all(s == subarrays[0] for s in subarrays)
    subarray = subarrays[0]
    assert subarray.name == "MAGIC-LST-Array"
    assert sorted(subarray.tel_ids) == [1, 2, 3]
    assert subarray.tel[2].camera.geometry.n_pixels == 1039
    assert subarray.tel[2].optics.equivalent_focal_length.to_value("m") == pytest.approx(16.97)
    assert subarray.tel[1].camera.geometry.n_pixels == 1855

    m1, m2 = _magic(small_run, "M1"), _magic(small_run, "M2")
    assert (m1["tel_id"] == 2).all() and (m2["tel_id"] == 3).all()
    assert m1.dtype["obs_id"] == np.uint64 and (m1["obs_id"] == 5093711).all()
    for m in (m1, m2):
        assert np.all(np.diff(m["event_id"]) > 0)
        t = m["time_sec"] * 10**9 + m["time_nanosec"]
        assert np.all(np.diff(t) > SMALL.magic_dead_time_ns)
        assert ((m["time_nanosec"] >= 0) & (m["time_nanosec"] < 10**9)).all()
        assert (m["time_nanosec"] % 100 == 0).all()  # MTime.fNanoSec rounded to 1e-7 s
        assert (m["tels_with_trigger"] == 12).all()
    ids1, ids2 = set(m1["event_id"]), set(m2["event_id"])
    both = ids1 & ids2
    stereo = ids1 | ids2
    assert 0.02 < 1 - len(both) / len(stereo) < 0.09  # ~5 % lose one image
    rate = len(stereo) / 4.0  # the MAGIC window is 4 s long
    assert 200 < rate < 300
    # the same stereo event has the same time in both files
    common = np.intersect1d(m1["event_id"], m2["event_id"])
    i1 = np.searchsorted(m1["event_id"], common)
    i2 = np.searchsorted(m2["event_id"], common)
    assert np.array_equal(m1["time_nanosec"][i1], m2["time_nanosec"][i2])
    with tables.open_file(small_run.magic_files[0]) as f:
        attrs = f.get_node(MAGIC_KEY).attrs
        units = {
            str(attrs[f"CTAFIELD_{i}_NAME"]): str(attrs[f"CTAFIELD_{i}_UNIT"])
            for i in range(len(f.get_node(MAGIC_KEY).colnames))
            if f"CTAFIELD_{i}_UNIT" in attrs._v_attrnames
        }
    assert units["phi"] == units["psi"] == "deg"
    assert units["length"] == units["width"] == units["x"] == "m"
    assert units["pointing_alt"] == "rad"
    assert {"slope", "intercept", "deviation", "concentration_cog", "intensity_width_1"} <= set(
        m1.dtype.names
    )


def test_true_offset_visible(small_run: SimulatedFiles) -> None:
    df = pd.read_hdf(small_run.lst_file, key="dl1/event/telescope/parameters/LST_LSTCam")
    df = df[df["event_type"] == 32]
    t_lst = np.sort(lst_ns(df["dragon_time"].to_numpy()))
    offset = small_run.true_offset_ns
    matched_ids = set()
    for tel in ("M1", "M2"):
        m = _magic(small_run, tel)
        t_m = m["time_sec"] * 10**9 + m["time_nanosec"]
        inside = (t_m - offset >= t_lst[0] - 300) & (t_m - offset <= t_lst[-1] + 300)
        t_m, ids = t_m[inside], m["event_id"][inside]

        def residual(off: int, t_m: np.ndarray = t_m) -> np.ndarray:
            j = np.clip(np.searchsorted(t_lst, t_m - off), 1, t_lst.size - 1)
            before, after = t_m - off - t_lst[j - 1], t_m - off - t_lst[j]
            return np.where(np.abs(before) < np.abs(after), before, after)

        res = residual(offset)
        good = np.abs(res) <= 300
        assert 0.45 < good.mean() < 0.75  # common showers
        assert abs(np.median(res[good])) < 40
        assert np.std(res[good]) < 130  # clock grids, jitter and float64 LST times
        assert (np.abs(residual(offset + 5000)) <= 300).mean() < 0.03  # accidentals only
        matched_ids |= set(ids[good])
    # every common shower is found (plus a few accidental pairs)
    assert small_run.n_common <= len(matched_ids) <= 1.05 * small_run.n_common + 5


def test_images(tmp_path: Path) -> None:
    config = SimulationConfig(duration_s=0.3, magic_start_delay_s=-0.1, magic_extra_s=0.1,
                              images=True)  # fmt: skip
    files = simulate(tmp_path, config)
    with tables.open_file(files.lst_file) as f:
        params = f.get_node(LST_KEY).read()
        images = f.get_node(LST_IMAGE_KEY).read()
        assert f.get_node(LST_IMAGE_KEY).filters.complib == "blosc:zstd"
    assert images.shape == params.shape
    assert images["image"].shape[1] == 1855 and images["image"].dtype == np.float32
    assert images["peak_time"].dtype == np.float32
    assert images["image_mask"].dtype == np.bool_
    assert np.array_equal(images["event_id"], params["event_id"])
    assert (images["tel_id"] == 1).all()
    bright = params["intensity"] > 500
    assert images["image_mask"][bright].sum(axis=1).min() > 0
    for path in files.magic_files:
        with tables.open_file(path) as f:
            p = f.get_node(MAGIC_KEY).read()
            im = f.get_node(MAGIC_IMAGE_KEY).read()
        assert im["image"].shape == (len(p), 1039)
        assert im["image_mask"].dtype == np.bool_ and im["is_valid"].all()
        assert np.array_equal(im["event_id"], p["event_id"])


def test_old_lstchain_file_without_usable_subarray(tmp_path: Path) -> None:
    from ctapipe.instrument import SubarrayDescription

    files = simulate(tmp_path, SimulationConfig(duration_s=0.5, lst_subarray=False))
    with pytest.raises(OSError, match="Unsupported version"):
        SubarrayDescription.from_hdf(files.lst_file)
    optics = pd.read_hdf(files.lst_file, key="configuration/instrument/telescope/optics")
    assert optics["equivalent_focal_length"][0] == pytest.approx(28.0)
    df = pd.read_hdf(files.lst_file, key="dl1/event/telescope/parameters/LST_LSTCam")
    assert len(df) > 2000


def test_magic_starting_after_lst(tmp_path: Path) -> None:
    config = SimulationConfig(duration_s=1.0, magic_start_delay_s=0.4, magic_extra_s=0.5)
    files = simulate(tmp_path, config)
    assert [p.name for p in files.magic_files] == [
        "dl1_M1.Run05093711.001.h5",
        "dl1_M2.Run05093711.001.h5",
    ]
    m1 = _magic(files, "M1")
    t_m = m1["time_sec"] * 10**9 + m1["time_nanosec"] - config.true_offset_ns
    start = 1_700_000_000 * 10**9
    assert t_m.min() >= start + 400_000_000 - 1000
    assert 0 < files.n_common < len(m1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_s": 0.0},
        {"magic_subrun_s": 0.0},
        {"lst_rate_hz": 200_000.0},
        {"magic_start_delay_s": 20.0},
    ],
)
def test_invalid_config(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        simulate(tmp_path, SimulationConfig(**kwargs))
