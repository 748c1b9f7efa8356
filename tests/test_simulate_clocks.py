"""The simulated MAGIC clock: offsets of seconds and a drift, read back from the files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from lmcoinc.cli import app
from lmcoinc.config import load_config
from lmcoinc.simulate import SimulationConfig, simulate
from lmcoinc.simulate.truth import found_pairs, recall_purity
from lmcoinc.sources import MagicDirectory
from lmcoinc.subrun import process_subrun

from .simread import MAGIC_KEY, pair_times, read

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
    result = process_subrun(files.lst_file, MagicDirectory(files.magic_dir),
                            tmp_path / "out", load_config(None))
    for found in result.result.telescopes.values():
        assert found.average_offset_ns == pytest.approx(BROKEN_GPS, abs=100)
    score = recall_purity(found_pairs(result.result.events), files.true_pairs).overall
    assert score.recall > 0.99 and score.purity > 0.99


def test_cli_drift_option(tmp_path: Path) -> None:
    args = ["simulate", str(tmp_path), "--duration", "0.3", "--offset-us", "2437000",
            "--drift-us-per-s", "3.5", "--geometric-delay"]  # fmt: skip
    proc = CliRunner().invoke(app, args)
    assert proc.exit_code == 0, proc.output
    assert f"truth: {tmp_path / 'truth'}" in proc.output
    config = json.loads((tmp_path / "truth" / "truth.json").read_text())["config"]
    assert config["true_offset_ns"] == BROKEN_GPS
    assert config["drift_ns_per_s"] == pytest.approx(3500.0)
    assert config["geometric_delay"] is True
