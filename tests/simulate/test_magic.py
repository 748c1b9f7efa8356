"""The contents of the MAGIC parameters tables: one row per stereo trigger and telescope."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.simulate import SimulationConfig
from lmcoinc.simulate.magic import MAGIC_FOCAL_LENGTH_M, MAGIC_TELS, magic_columns

from ..helpers.simread import drawn

CONFIG = SimulationConfig(duration_s=1.0, seed=13)


@pytest.fixture(scope="module")
def made():
    return drawn(CONFIG, magic_columns)


def test_rows_of_each_telescope(made):
    stream, tables = made
    assert tuple(tables) == MAGIC_TELS == (2, 3)
    n = stream.magic_shower.size
    for i, tel_id in enumerate(MAGIC_TELS):
        cols = tables[tel_id]
        keep = stream.magic_lost != i + 1  # the images the cleaning lost in this telescope
        assert 0 < (~keep).sum() < 0.1 * n
        np.testing.assert_array_equal(cols["event_id"], np.arange(1, n + 1)[keep])
        np.testing.assert_array_equal(cols["time_sec"] * 10**9 + cols["time_nanosec"],
                                      stream.t0_ns + stream.magic_stamps_ns[i][keep])
        assert ((0 <= cols["time_nanosec"]) & (cols["time_nanosec"] < 10**9)).all()
        np.testing.assert_array_equal(cols["time_diff"], stream.magic_diffs_s[i][keep])
        assert cols["obs_id"].dtype == np.uint64 and (cols["obs_id"] == CONFIG.magic_obs_id).all()
        assert (cols["tel_id"] == tel_id).all() and (cols["tels_with_trigger"] == 12).all()
        assert all(len(v) == keep.sum() for v in cols.values())


def test_images_follow_the_shower(made):
    stream, tables = made
    medians = []
    for i, tel_id in enumerate(MAGIC_TELS):
        cols = tables[tel_id]
        size = stream.shower_log_size[stream.magic_shower[stream.magic_lost != i + 1]]
        assert np.corrcoef(size, np.log10(cols["intensity"]))[0, 1] > 0.9
        medians.append(np.median(cols["intensity"] / 10**size))
        # lengths in m on the camera (magic-cta-pipe's units), widths smaller
        assert 0.01 < np.median(cols["length"]) < 0.2 and (cols["width"] <= cols["length"]).all()
        assert (np.abs(cols["psi"]) <= 90).all()  # deg
    # M2 gains 85 p.e. per unit size, M1 80 (each image with a 0.12 dex spread)
    assert medians[1] / medians[0] == pytest.approx(85 / 80, rel=0.05)
    assert MAGIC_FOCAL_LENGTH_M == pytest.approx(17 * 1.0713)


def test_same_time_in_both_telescopes(made):
    _, tables = made
    m1, m2 = tables[2], tables[3]
    common, i1, i2 = np.intersect1d(m1["event_id"], m2["event_id"], return_indices=True)
    assert common.size > 0.9 * max(len(m1["event_id"]), len(m2["event_id"]))
    np.testing.assert_array_equal(m1["time_sec"][i1], m2["time_sec"][i2])
    np.testing.assert_array_equal(m1["time_nanosec"][i1], m2["time_nanosec"][i2])
