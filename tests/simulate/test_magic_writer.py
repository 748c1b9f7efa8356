"""The MAGIC DL1 files as magic_calib_to_dl1 writes them: per telescope and MAGIC subrun."""

from __future__ import annotations

import numpy as np
import pytest
import tables

from lmcoinc.simulate import SimulatedFiles, SimulationConfig
from lmcoinc.simulate.clocks import magic_clock_shift_ns, ns
from lmcoinc.simulate.magic import magic_columns
from lmcoinc.simulate.magic_writer import (
    MAGIC_IMAGES_KEY,
    MAGIC_PARAMETERS_KEY,
    magic_subruns,
    write_magic_files,
)

from ..helpers.simread import MAGIC_KEY, SMALL, drawn, magic_rows

#: 0.7 s of MAGIC data (0.1 s either side of the LST subrun) in 0.3 s subruns; a broken GPS
CONFIG = SimulationConfig(duration_s=0.5, magic_start_delay_s=-0.1, magic_extra_s=0.1,
                          magic_subrun_s=0.3, true_offset_ns=2_000_000_000,
                          drift_ns_per_s=5000.0, seed=9)


@pytest.fixture(scope="module")
def made():
    return drawn(CONFIG, magic_columns)


def test_subruns_cut_the_magic_clock(made):
    stream, columns = made
    sub_ns = ns(CONFIG.magic_subrun_s)
    window = stream.magic_hi_ns - stream.magic_lo_ns
    start = stream.magic_lo_ns + magic_clock_shift_ns(CONFIG, stream.t0_ns,
                                                      np.array([stream.magic_lo_ns]))[0]
    for cols in columns.values():
        n_sub, subrun = magic_subruns(cols, stream, CONFIG)
        assert n_sub == int(np.ceil(window / sub_ns)) == 3
        stamp = cols["time_sec"] * 10**9 + cols["time_nanosec"] - stream.t0_ns
        expected = [min(max(int((s - start) // sub_ns), 0), n_sub - 1) for s in stamp]
        np.testing.assert_array_equal(subrun, expected)
        assert np.all(np.diff(subrun) >= 0) and set(subrun.tolist()) == {0, 1, 2}


def test_files_hold_the_columns(made, tmp_path):
    stream, columns = made
    files = write_magic_files(tmp_path, columns, stream, CONFIG, np.random.default_rng(0))
    assert [p.name for p in files] == [f"dl1_M{m}.Run05093711.{k:03}.h5" for m in (1, 2)
                                       for k in (1, 2, 3)]
    assert MAGIC_PARAMETERS_KEY == MAGIC_KEY
    for i, tel_id in enumerate((2, 3)):
        mine = [p for p in files if p.name.startswith(f"dl1_M{i + 1}.")]
        for path in mine:
            with tables.open_file(path) as f:
                table = f.get_node(MAGIC_PARAMETERS_KEY)
                filters = table.filters
                assert MAGIC_IMAGES_KEY not in f  # no images asked for
                assert "/configuration/instrument/subarray/layout" in f
            assert (filters.complib, filters.complevel, filters.fletcher32) == (
                "blosc:zstd", 5, True)  # ctapipe HDF5TableWriter's defaults
        rows = magic_rows(mine, f"M{i + 1}")
        for name, values in columns[tel_id].items():
            np.testing.assert_array_equal(rows[name], values.astype(rows.dtype[name]),
                                          err_msg=name)


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

    m1, m2 = magic_rows(small_run.magic_files, "M1"), magic_rows(small_run.magic_files, "M2")
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
