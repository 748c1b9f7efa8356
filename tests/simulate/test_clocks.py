"""The simulated MAGIC clock: offsets of seconds and a drift, read back from the files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lmcoinc.config import load_config
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.simulate import SimulationConfig, simulate
from lmcoinc.simulate.clocks import clock_reference_ns, magic_clock_shift_ns, magic_clocks, ns
from lmcoinc.simulate.config import validate
from lmcoinc.simulate.truth import found_pairs, recall_purity

from ..helpers.simread import MAGIC_KEY, pair_times, read

#: The telescopes of the default config (MAGIC files with others are an error).
TEL_NAMES = load_config(None).tel_names

BROKEN_GPS = 2_437_000_000  # a MAGIC clock 2.437 s ahead


def test_drift_recovered_from_the_files(tmp_path: Path) -> None:
    drift = 5000.0  # ns per s: 5 us/s
    config = SimulationConfig(duration_s=2.0, seed=4, drift_ns_per_s=drift)
    files = simulate(tmp_path, config)
    pairs = pair_times(pl.read_parquet(files.true_pairs), [files.lst_file], files.magic_files)
    t_ref = json.loads(files.truth_file.read_text())["clock_reference_unix_ns"]
    assert t_ref == files.live_time.start_unix_ns - 10**9  # MAGIC data start 1 s earlier
    for tel_id in (2, 3):
        tel = pairs.filter(pl.col("tel_id") == tel_id)
        since_ref_s = (tel["t_lst"].to_numpy() - t_ref) * 1e-9
        diff = (tel["t_magic"] - tel["t_lst"]).to_numpy()
        slope, at_ref = np.polyfit(since_ref_s, diff, 1)
        assert slope == pytest.approx(drift, abs=20)
        assert at_ref == pytest.approx(config.true_offset_ns, abs=20)
        # the truth's clock shift is what the files hold, to the clock grids, the
        # jitter and the float64 LST times (238 ns spacing)
        residual = diff - tel["clock_shift_ns"].to_numpy()
        assert np.abs(np.mean(residual)) < 10 and np.abs(residual).max() < 400


def test_offset_of_seconds_end_to_end(tmp_path: Path) -> None:
    # MAGIC data from 3 s before the 3 s LST subrun: the 2.437 s shifted MAGIC
    # times overlap the LST times with the same showers
    config = SimulationConfig(
        duration_s=3.0, seed=21, true_offset_ns=BROKEN_GPS, magic_start_delay_s=-3.0,
        magic_subrun_s=2.0,
    )  # fmt: skip
    files = simulate(tmp_path / "in", config)
    # MAGIC subruns cut the MAGIC clock time from the MAGIC clock of the data start
    start = files.live_time.start_unix_ns - 3 * 10**9 + BROKEN_GPS
    names = [p.name for p in files.magic_files]
    assert names == [f"dl1_M{t}.Run05093711.{k:03}.h5" for t in (1, 2) for k in (1, 2, 3, 4)]
    for path in files.magic_files:
        k = int(path.name.split(".")[-2]) - 1
        rows = read(path, MAGIC_KEY)
        t = rows["time_sec"] * 10**9 + rows["time_nanosec"]
        lo, hi = start + k * 2 * 10**9, start + (k + 1) * 2 * 10**9
        assert lo - 200 <= t.min() and t.max() < hi + 200, path.name
    result = process_subrun(files.lst_file, MagicDirectory(files.magic_dir, TEL_NAMES),
                             tmp_path / "out", load_config(None))
    for found in result.result.telescopes.values():
        assert found.average_offset_ns == pytest.approx(BROKEN_GPS, abs=100)
    score = recall_purity(found_pairs(result.result.events.plan), files.true_pairs).overall
    assert score.recall > 0.99 and score.purity > 0.99


def test_clock_shift_and_reference() -> None:
    t0 = ns(1_700_000_000.0)
    t = np.array([-10**9, 0, 5 * 10**9], dtype=np.int64)
    plain = SimulationConfig(true_offset_ns=2_437_000_000)
    assert magic_clock_shift_ns(plain, t0, t).tolist() == [2_437_000_000.0] * 3
    drifting = SimulationConfig(true_offset_ns=-3200, drift_ns_per_s=4000.0)
    # t_ref: the start of the MAGIC data, 1 s before the LST subrun
    assert clock_reference_ns(drifting, t0) == t0 - 10**9
    assert magic_clock_shift_ns(drifting, t0, t) == pytest.approx([-3200, 800, 20800])
    fixed = SimulationConfig(drift_ns_per_s=4000.0, clock_reference_unix_s=1_699_999_990.0)
    assert magic_clock_shift_ns(fixed, t0, t)[1] == pytest.approx(-3200 + 40_000)
def test_clock_steps_in_the_files_and_the_truth(tmp_path: Path) -> None:
    start = 1_700_000_000.0
    steps = ((start + 0.6, -150_000.0), (start + 1.3, -20e6))  # two steps within the subrun
    config = SimulationConfig(duration_s=2.0, seed=6, drift_ns_per_s=1000.0, clock_steps=steps)
    files = simulate(tmp_path, config)
    pairs = pair_times(pl.read_parquet(files.true_pairs), [files.lst_file], files.magic_files)
    truth = json.loads(files.truth_file.read_text())
    assert truth["clock_steps"] == [
        {"unix_ns": 1_700_000_000_600_000_000, "size_ns": -150_000.0, "in_subrun": True},
        {"unix_ns": 1_700_000_001_300_000_000, "size_ns": -20e6, "in_subrun": True}]
    t_ref = truth["clock_reference_unix_ns"]
    t = pairs["t_lst"].to_numpy()
    expected = (config.true_offset_ns + 1000.0 * (t - t_ref) * 1e-9
                - 150_000.0 * (t >= 1_700_000_000_600_000_000)
                - 20e6 * (t >= 1_700_000_001_300_000_000))
    # what the files hold is the clock with its steps, to the grids and the jitter; so
    # is the truth's clock shift (a pair at the step may fall on either side by the jitter)
    diff = (pairs["t_magic"] - pairs["t_lst"]).to_numpy()
    assert np.mean(np.abs(diff - expected) < 400) > 0.999
    assert np.abs(diff - pairs["clock_shift_ns"].to_numpy()).max() < 400


def test_time_diff_does_not_step_with_the_clock() -> None:
    """``time_diff`` counts the trigger's time, not the clock's: no jump back at a step."""
    config = SimulationConfig(clock_steps=((1_700_000_000.5, -20e6),))
    t = np.arange(0, 10**9, 3_000_000, dtype=np.int64)  # a trigger every 3 ms for 1 s
    stamps, time_diff = magic_clocks(np.random.default_rng(1), config, 1_700_000_000 * 10**9,
                                     t, None)
    assert np.diff(stamps[0]).min() < -16_000_000  # the clock jumps back 20 ms
    np.testing.assert_allclose(time_diff[:, 1:], 3e-3, atol=3e-7)


def test_clock_steps_are_validated() -> None:
    with pytest.raises(ValueError, match="time order"):
        validate(SimulationConfig(clock_steps=((2.0, 1.0), (1.0, 1.0))))
    with pytest.raises(ValueError, match="finite"):
        validate(SimulationConfig(clock_steps=((1.0, float("nan")),)))
