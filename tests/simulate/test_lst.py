"""The contents of the LST-1 parameters table: event types, ids, failed rows, usable rows."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from lmcoinc.simulate import SimulatedFiles, SimulationConfig
from lmcoinc.simulate.events import (
    KIND_COMMON,
    KIND_FLATFIELD,
    KIND_PEDESTAL,
)
from lmcoinc.simulate.lst import (
    EVENT_TYPE_FLATFIELD,
    EVENT_TYPE_PEDESTAL,
    EVENT_TYPE_SHOWER,
    lst_columns,
    lst_unix_times,
)

from ..helpers.simread import drawn

CONFIG = SimulationConfig(duration_s=0.5, seed=11)


@pytest.fixture(scope="module")
def table():
    return drawn(CONFIG, lst_columns)


def test_one_row_per_trigger(table):
    stream, lst = table
    cols, kind = lst.columns, stream.lst_kind
    assert all(len(v) == len(kind) for v in cols.values())
    expected = np.where(kind == KIND_PEDESTAL, EVENT_TYPE_PEDESTAL,
                        np.where(kind == KIND_FLATFIELD, EVENT_TYPE_FLATFIELD, EVENT_TYPE_SHOWER))
    np.testing.assert_array_equal(cols["event_type"], expected)
    np.testing.assert_array_equal(cols["trigger_type"],
                                  np.select([kind == KIND_PEDESTAL, kind == KIND_FLATFIELD],
                                            [32, 4], 1))
    assert (cols["obs_id"] == CONFIG.lst_obs_id).all()
    np.testing.assert_array_equal(cols["dragon_time"],
                                  lst_unix_times(stream.t0_ns + stream.lst_stamp_ns))
    assert np.array_equal(cols["ucts_time"], cols["dragon_time"])
    np.testing.assert_allclose(cols["log_intensity"], np.log10(cols["intensity"]))
    np.testing.assert_allclose(cols["wl"], cols["width"] / cols["length"])
    assert cols["leakage_intensity_width_1"].dtype == np.float32
    np.testing.assert_allclose(cols["sin_az_tel"], np.sin(cols["az_tel"]))
    # flat-field events light the whole camera
    assert (cols["intensity"][kind == KIND_FLATFIELD] > 1e5).all()


def test_event_ids_and_usable_rows(table):
    stream, lst = table
    cols, kind = lst.columns, stream.lst_kind
    ids = cols["event_id"]
    step = np.diff(ids)
    assert set(step.tolist()) == {0, 1}  # consecutive, one id given twice
    (second,) = np.flatnonzero(step == 0) + 1
    assert kind[second] != KIND_PEDESTAL and kind[second - 1] != KIND_FLATFIELD
    # usable: a shower MAGIC also saw, parametrised, pointing known, its id not repeated
    finite = np.isfinite(cols["intensity"]) & np.isfinite(cols["time_gradient"])
    usable = (kind == KIND_COMMON) & finite & np.isfinite(cols["alt_tel"])
    usable[[second - 1, second]] = False
    np.testing.assert_array_equal(lst.usable_rows, np.flatnonzero(usable))
    np.testing.assert_array_equal(lst.usable_showers, stream.lst_shower[lst.usable_rows])
    # some showers failed their parametrisation, faint ones only
    failed = (kind <= 1) & ~finite
    assert failed.sum() > 0
    shower_intensity = cols["intensity"][(kind <= 1) & np.isfinite(cols["intensity"])]
    assert np.nanmax(cols["intensity"][failed]) <= np.median(shower_intensity) or np.isnan(
        cols["intensity"][failed]).all()


def test_unix_times_nearest_to_the_exact_ns():
    rng = np.random.default_rng(0)
    utc_ns = 1_700_000_000 * 10**9 + np.sort(rng.integers(0, 10**10, 2000)) // 100 * 100 + 37
    found = lst_unix_times(utc_ns)
    nearest = np.array([float(Fraction(int(t), 10**9)) for t in utc_ns])
    assert (found == nearest).mean() > 0.99  # almost always the nearest float64
    error_ns = [abs(Decimal(float(x)) * 10**9 - int(t)) for x, t in zip(found, utc_ns, strict=True)]
    spacing_ns = np.spacing(found[0]) * 1e9  # 238 ns at 1.7e9 s
    assert max(error_ns) < 1.5 * spacing_ns  # else the next float64
    assert lst_unix_times(np.array([], dtype=np.int64)).shape == (0,)


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
