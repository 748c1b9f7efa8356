"""offset_model: drift end to end on simulated broken-GPS files: run, batch, warnings, errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from lmcoinc.batch import run_batch
from lmcoinc.config import load_config
from lmcoinc.simulate.truth import found_pairs, recall_purity

from ..helpers.badinputs import CASES, run_cli
from ..helpers.compare import differences, subrun_table

WARNING = ("offset profile of {} has no peak: the clocks may drift (broken GPS?); "
           "try offset_model: drift")


def lmcoinc_run(lst_file: Path, magic_dir: Path, out: Path, config: Path | None):
    """``python -m lmcoinc run`` in a subprocess."""
    argv = ["run", "-l", str(lst_file), "-m", str(magic_dir), "-o", str(out)]
    argv += ["-c", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "lmcoinc", *argv], capture_output=True,
                          text=True, timeout=300, check=False)


def output(out: Path, lst_file: Path, table: str) -> Path:
    stem = lst_file.name.replace("LST", "MAGIC_LST")[:-3]
    return out / (f"{stem}.h5" if table == "hdf5" else f"{stem}.{table}.parquet")


def table_of(out: Path, lst_file: Path, table: str) -> pl.DataFrame:
    """A subrun's Parquet table in a run output (beside its HDF5 file) or a batch output
    (its dataset partition)."""
    return subrun_table(output(out, lst_file, "hdf5"), table)


@pytest.fixture(scope="module")
def drift_runs(drifting_night, drift_config, tmp_path_factory):
    """``lmcoinc run`` in drift mode on each subrun: (output directory, processes)."""
    out = tmp_path_factory.mktemp("drift-run")
    config = drift_config()
    procs = [lmcoinc_run(f, drifting_night.magic_dir, out, config)
             for f in drifting_night.lst_files]
    return out, procs


def test_run_finds_the_true_pairs_of_every_subrun(drifting_night, drift_runs):
    out, procs = drift_runs
    for lst_file, true, proc in zip(drifting_night.lst_files, drifting_night.true_pairs, procs,
                                    strict=True):
        assert proc.returncode == 0, proc.stderr
        drifts = [float(x) for x in re.findall(r"mean drift ([-\d.]+) us/s", proc.stderr)]
        assert drifts == pytest.approx([6.0, 6.0], abs=0.05)
        assert "WARNING" not in proc.stderr.upper()
        events = table_of(out, lst_file, "events")
        score = recall_purity(found_pairs(events), true).overall
        assert score.recall >= 0.98 and score.purity >= 0.99, (lst_file.name, score)


def test_run_writes_the_model(drifting_night, drift_runs):
    out, _ = drift_runs
    lst_file = drifting_night.lst_files[1]
    hdf5 = pd.read_hdf(output(out, lst_file, "hdf5"), "/coincidence/offset_model")
    model = table_of(out, lst_file, "offset_model")
    assert model.columns == list(hdf5.columns) == ["tel_id", "time", "offset_us",
                                                   "drift_us_per_s", "n_pairs", "residual_ns",
                                                   "segment"]
    assert model.equals(pl.from_pandas(hdf5))
    assert model["segment"].to_list() == [0] * model.height  # no clock step
    segments = table_of(out, lst_file, "offset_segments")
    hdf5 = pd.read_hdf(output(out, lst_file, "hdf5"), "/coincidence/offset_segments")
    assert segments.equals(pl.from_pandas(hdf5, nan_to_null=False))
    assert segments["tel_id"].to_list() == [2, 3] and segments["segment"].to_list() == [0, 0]
    assert segments["n_pairs"].to_list() == [
        model.filter(pl.col("tel_id") == t)["n_pairs"].sum() for t in (2, 3)]
    assert segments["step_us"].is_nan().all()
    assert sorted(model["tel_id"].unique()) == [2, 3]
    assert model.height == 2 * 2  # 1 s slices of a 2 s subrun, per telescope
    np.testing.assert_allclose(model["drift_us_per_s"], 6.0, atol=0.1)
    # The true clock: +1.5 s and 6 µs/s since the MAGIC data start, 1 s before the night.
    t0 = 1_700_000_000.0 - 1.0
    np.testing.assert_allclose(model["offset_us"], 1.5e6 + 6.0 * (model["time"] - t0), atol=0.05)
    feature = table_of(out, lst_file, "feature")
    hdf5_feature = pd.read_hdf(output(out, lst_file, "hdf5"), "/coincidence/feature")
    assert "drift_us_per_s" not in hdf5_feature.columns  # the HDF5 table stays the reference's
    np.testing.assert_allclose(feature["drift_us_per_s"], 6.0, atol=0.1)
    assert (feature["residual_rms_ns"] < 150).all()
    # average_offset is the model's mean over the subrun.
    mean = model.group_by("tel_id").agg(pl.col("offset_us").mean()).sort("tel_id")
    np.testing.assert_allclose(feature["average_offset"], mean["offset_us"], atol=0.01)


def test_batch_writes_what_run_writes(drifting_night, drift_runs, drift_config, tmp_path):
    out, _ = drift_runs
    result = run_batch(drifting_night.lst_dir, drifting_night.magic_dir, tmp_path,
                       load_config(drift_config()), jobs=2)
    assert result.exit_code == 0
    for lst_file in drifting_night.lst_files:
        assert differences(output(tmp_path, lst_file, "hdf5"), output(out, lst_file, "hdf5")) == []
        for table in ("events", "feature", "profile", "offset_model", "offset_segments"):
            ours = table_of(tmp_path, lst_file, table)
            assert ours.equals(table_of(out, lst_file, table)), table
    summary = result.summary
    np.testing.assert_allclose(summary["drift_us_per_s_tel2"], 6.0, atol=0.1)
    np.testing.assert_allclose(summary["drift_us_per_s_tel3"], 6.0, atol=0.1)
    assert summary["n_offset_steps_tel2"].to_list() == [0] * summary.height


def test_constant_mode_warns_on_drifting_data(drifting_night, tmp_path):
    proc = lmcoinc_run(drifting_night.lst_files[0], drifting_night.magic_dir, tmp_path, None)
    for name in ("MAGIC-I", "MAGIC-II"):
        assert WARNING.format(name) in proc.stderr


def test_constant_mode_is_quiet_on_good_data(run_outputs, night, tmp_path):
    proc = lmcoinc_run(night.lst_files[0], night.magic_dir, tmp_path, None)
    assert proc.returncode == 0 and "no peak" not in proc.stderr


def test_fit_beyond_the_largest_drift_is_warned_and_kept(drifting_night, drift_config, tmp_path):
    lst_file = drifting_night.lst_files[0]
    proc = lmcoinc_run(lst_file, drifting_night.magic_dir, tmp_path,
                       drift_config(max_drift_us_per_s=4))
    assert proc.returncode == 0
    found = re.search(r"MAGIC-I: the fitted drift reaches ([\d.]+) us/s, beyond "
                      r"max_drift_us_per_s = 4; check the pairs", proc.stderr)
    assert float(found.group(1)) == pytest.approx(6.0, abs=0.05)
    events = table_of(tmp_path, lst_file, "events")
    assert recall_purity(found_pairs(events), drifting_night.true_pairs[0]).overall.recall > 0.98


def test_too_few_bright_events_is_no_coincidence(drifting_night, drift_config, tmp_path):
    """A clock offset beyond max_clock_offset: no peak of bright pairs, exit code 3."""
    proc = lmcoinc_run(drifting_night.lst_files[0], drifting_night.magic_dir, tmp_path,
                       drift_config(max_clock_offset='"0.5 s"'))
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[-1] == (
        "lmcoinc: error: no coincident events found for any MAGIC telescope")
    assert "too few bright events for the clock offset search" in proc.stderr
    assert not list(tmp_path.iterdir())


def test_no_time_overlap_in_drift_mode(good, drift_config, tmp_path):
    build, code = CASES["no_time_overlap"]
    run, _ = build(good, tmp_path)
    run.config = drift_config()
    proc = run_cli(run)
    assert proc.returncode == code == 3
    (line,) = proc.stderr.splitlines()[-1:]
    assert line.startswith("lmcoinc: error: no time overlap")
    assert "widened by max_clock_offset = 10 s" in line
    assert not run.out.exists() or not list(run.out.iterdir())


@pytest.fixture(scope="module")
def sparse_night(tmp_path_factory):
    """The broken-GPS night of drifting_night with MAGIC at 6 Hz in its middle subrun."""
    from lmcoinc.simulate import simulate_night

    return simulate_night(tmp_path_factory.mktemp("sparse"), n_subruns=3, subrun_s=2.0, seed=9,
                          true_offset_ns=1_500_000_000, drift_ns_per_s=6000.0,
                          subrun_settings={1: {"magic_stereo_rate_hz": 6.0}})


def test_batch_pairs_a_sparse_subrun_with_the_runs_model(sparse_night, drift_config, tmp_path):
    config = drift_config()
    sparse = sparse_night.lst_files[1]
    alone = lmcoinc_run(sparse, sparse_night.magic_dir, tmp_path / "run", config)
    assert alone.returncode == 3  # too few bright events for a search of its own
    result = run_batch(sparse_night.lst_dir, sparse_night.magic_dir, tmp_path / "batch",
                       load_config(config), jobs=1)
    assert result.summary["status"].to_list() == ["ok"] * 3
    feature = table_of(tmp_path / "batch", sparse, "feature")
    assert feature["from_run_model"].to_list() == [True, True]
    events = table_of(tmp_path / "batch", sparse, "events")
    score = recall_purity(found_pairs(events), sparse_night.true_pairs[1]).overall
    assert score.n_true >= 5 and score.recall >= 0.9 and score.purity >= 0.99, score
    for lst_file in sparse_night.lst_files[::2]:  # enough pairs of their own: as run
        proc = lmcoinc_run(lst_file, sparse_night.magic_dir, tmp_path / "run", config)
        assert proc.returncode == 0
        assert differences(output(tmp_path / "batch", lst_file, "hdf5"),
                           output(tmp_path / "run", lst_file, "hdf5")) == []
        feature = table_of(tmp_path / "batch", lst_file, "feature")
        assert feature["from_run_model"].to_list() == [False, False]
