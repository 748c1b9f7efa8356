"""End-to-end runs of `lmcoinc run` on simulated files in the real formats."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest
import tables

from lmcoinc.io.timestamps import ns_to_seconds, seconds_to_ns_reference
from lmcoinc.quality.diagnostics import FEATURE_COLUMNS
from lmcoinc.simulate import SimulationConfig, simulate

from ..helpers.compare import KEYS


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    files = simulate(tmp / "input", SimulationConfig(duration_s=3.0, seed=7))
    proc = subprocess.run(
        [sys.executable, "-m", "lmcoinc", "run", "-l", str(files.lst_file),
         "-m", str(files.magic_dir), "-o", str(tmp / "out")],
        capture_output=True, text=True,
    )
    return files, proc, tmp / "out"


def test_run_finds_the_true_offset(run_output):
    files, proc, out = run_output
    assert proc.returncode == 0, proc.stderr
    feature = pd.read_hdf(out / files.lst_file.name.replace("LST", "MAGIC_LST"), KEYS["feature"])
    assert list(feature["coincidence_id"]) == [12, 13]
    # the simulated jitter is tens of ns: the average lands within 100 ns
    np.testing.assert_allclose(feature["average_offset"], files.true_offset_ns / 1000, atol=0.1)
    assert (feature["n_coincidence"] > 0.3 * feature["n_events_magic"]).all()


def test_log_lines(run_output):
    """The reference's log lines, with their level; results on stdout; the scan at DEBUG."""
    files, proc, _ = run_output
    for text in ("pre offset search finds", "average offset", "coincident events of",
                 "stereo events are found", "LST-1_MAGIC-I_MAGIC-II"):
        assert re.search(rf"^INFO: .*{text}", proc.stderr, re.M), text
    assert all(line.split(":")[0] in ("INFO", "WARNING") for line in proc.stderr.splitlines())
    assert "time offset -3.2 us -->" not in proc.stderr
    assert re.fullmatch(r"(tel \d: average offset -?[\d.]+ us, \d+ coincident events\n)+",
                        proc.stdout)
    verbose = subprocess.run(
        [sys.executable, "-m", "lmcoinc", "run", "-v", "-l", str(files.lst_file),
         "-m", str(files.magic_dir), "-o", str(files.lst_file.parent / "verbose")],
        capture_output=True, text=True,
    )
    assert re.search(r"^DEBUG:   time offset -3.2 us --> \d+ events$", verbose.stderr, re.M)
    assert verbose.stdout == proc.stdout


def test_output_files_and_layout(run_output):
    files, _, out = run_output
    name = files.lst_file.name.replace("LST", "MAGIC_LST")
    stem = name.removesuffix(".h5")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [name, f"{stem}.events.parquet", f"{stem}.feature.parquet", f"{stem}.profile.parquet"]
    )
    with tables.open_file(out / name) as handle:
        for key in KEYS.values():
            assert isinstance(handle.get_node(key), tables.Table)
        assert "/configuration/instrument/subarray/layout" in handle


def test_parquet_equals_hdf5(run_output):
    files, _, out = run_output
    name = files.lst_file.name.replace("LST", "MAGIC_LST")
    for table, key in KEYS.items():
        from_hdf = pd.read_hdf(out / name, key)
        from_parquet = pl.read_parquet(out / f"{name.removesuffix('.h5')}.{table}.parquet")
        # the feature Parquet adds its Parquet-only columns after the reference's, the
        # events the exact timestamp_ns after the float timestamp
        extra = (["clock_offset", "geometric_delay", "offset_source", "n_offset_steps",
                  *FEATURE_COLUMNS]
                 if table == "feature" else [])
        assert [c for c in from_parquet.columns if c != "timestamp_ns"] == list(
            from_hdf.columns) + extra
        for col in from_hdf.columns:
            np.testing.assert_array_equal(
                from_parquet[col].cast(pl.Float64).fill_null(np.nan).to_numpy()
                if from_parquet[col].null_count() else from_parquet[col].to_numpy(),
                from_hdf[col].to_numpy(),
            )
            # integers stay integers: ids missing in MAGIC-only rows are null, not NaN
            assert from_parquet[col].dtype.is_integer() == (
                from_hdf[col].dtype.kind in "iu" or col in ("obs_id_lst", "event_id_lst"))


def test_exact_timestamps_beside_the_seconds(run_output):
    files, _, out = run_output
    stem = files.lst_file.name.replace("LST", "MAGIC_LST").removesuffix(".h5")
    events = pl.read_parquet(out / f"{stem}.events.parquet")
    columns = events.columns
    assert columns[columns.index("timestamp") + 1] == "timestamp_ns"
    assert events["timestamp_ns"].dtype == pl.Int64 and events["timestamp_ns"].null_count() == 0
    lst = events.filter(pl.col("tel_id") == 1)
    magic = events.filter(pl.col("tel_id") != 1)
    # LST-1: the shortest round-trip decimal of dragon_time; MAGIC: time_sec, time_nanosec,
    # whose float seconds are what the reference writes
    np.testing.assert_array_equal(lst["timestamp_ns"].to_numpy(),
                                  seconds_to_ns_reference(lst["timestamp"].to_numpy()))
    np.testing.assert_array_equal(ns_to_seconds(magic["timestamp_ns"].to_numpy()),
                                  magic["timestamp"].to_numpy())
    assert lst.height and magic.height


def test_stereo_events_are_consistent(run_output):
    files, _, out = run_output
    events = pd.read_hdf(out / files.lst_file.name.replace("LST", "MAGIC_LST"), KEYS["events"])
    per_event = events.groupby(["obs_id", "event_id"])
    # every event has several telescopes, each at most once, and one combo type
    assert (per_event.size() > 1).all()
    assert not events.duplicated(["obs_id", "event_id", "tel_id"]).any()
    assert (per_event["combo_type"].nunique() == 1).all()
    assert (events["multiplicity"] == per_event["tel_id"].transform("size")).all()
    combos = {0: {1, 2}, 1: {1, 2, 3}, 2: {1, 3}, 3: {2, 3}}
    for (_, group) in per_event:
        assert set(group["tel_id"]) == combos[group["combo_type"].iloc[0]]
