"""The LST-1 DL1 file as lstchain 0.12 writes it: table, dtypes, units, filters, subarray."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tables

from lmcoinc.simulate import SimulatedFiles, SimulationConfig, simulate
from lmcoinc.simulate.lst import lst_columns
from lmcoinc.simulate.lst_writer import LST_IMAGES_KEY, LST_PARAMETERS_KEY, write_lst_file

from ..helpers.simread import LST_KEY, SMALL, drawn, lst_ns

TINY = SimulationConfig(duration_s=0.05, seed=2)


@pytest.fixture(scope="module")
def columns() -> dict[str, np.ndarray]:
    return drawn(TINY, lst_columns)[1].columns


def test_written_rows_are_the_columns(columns, tmp_path):
    path = tmp_path / "dl1_LST-1.Run03265.0040.h5"
    path.write_text("an earlier file")  # replaced
    write_lst_file(path, columns, with_subarray=True, image_rng=None)
    assert LST_PARAMETERS_KEY == LST_KEY
    with tables.open_file(path) as f:
        table = f.get_node(LST_PARAMETERS_KEY)
        rows = table.read()
        filters = table.filters
        assert str(f.root._v_attrs["LSTCHAIN_VERSION"]) == "0.12.3"
        assert LST_IMAGES_KEY not in f
        assert "/configuration/instrument/subarray/layout" in f
    assert (filters.complib, filters.complevel, filters.shuffle, filters.fletcher32) == (
        "blosc:zstd", 1, True, True)  # lstchain's HDF5_ZSTD_FILTERS
    assert len(rows) == len(columns["event_id"])
    for name, values in columns.items():
        np.testing.assert_array_equal(rows[name], values.astype(rows.dtype[name]), err_msg=name)
    assert (rows["tel_id"] == 1).all()  # the columns not simulated: the template event's


def test_images_written_with_the_rows(columns, tmp_path):
    path = tmp_path / "lst.h5"
    write_lst_file(path, columns, with_subarray=True, image_rng=np.random.default_rng(0))
    with tables.open_file(path) as f:
        images = f.get_node(LST_IMAGES_KEY)
        assert images.filters.complib == "blosc:zstd" and images.filters.fletcher32
        images = images.read()
    assert images["image"].shape == (len(columns["event_id"]), 1855)
    np.testing.assert_array_equal(images["event_id"], columns["event_id"])
    flat = columns["event_type"] == 0  # flat-field events: the whole camera lit
    assert images["image_mask"][flat].all() and images["image"][flat].mean() > 60


def test_no_event_no_table(columns, tmp_path):
    path = tmp_path / "empty.h5"
    write_lst_file(path, {k: v[:0] for k, v in columns.items()}, with_subarray=True,
                   image_rng=None)
    with tables.open_file(path) as f:
        assert LST_PARAMETERS_KEY not in f
        assert "/configuration/instrument/subarray/layout" in f


def test_unknown_column(columns, tmp_path):
    with pytest.raises(KeyError, match="not_a_column"):
        write_lst_file(tmp_path / "x.h5", {**columns, "not_a_column": columns["event_id"]},
                       with_subarray=True, image_rng=None)


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


def test_old_lstchain_file_without_usable_subarray(tmp_path: Path) -> None:
    from ctapipe.instrument import SubarrayDescription

    files = simulate(tmp_path, SimulationConfig(duration_s=0.5, lst_subarray=False))
    with pytest.raises(OSError, match="Unsupported version"):
        SubarrayDescription.from_hdf(files.lst_file)
    optics = pd.read_hdf(files.lst_file, key="configuration/instrument/telescope/optics")
    assert optics["equivalent_focal_length"][0] == pytest.approx(28.0)
    df = pd.read_hdf(files.lst_file, key="dl1/event/telescope/parameters/LST_LSTCam")
    assert len(df) > 2000
