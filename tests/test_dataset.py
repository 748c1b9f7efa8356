"""Tests of the hive-partitioned Parquet dataset of lmcoinc batch and lmcoinc.scan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import lmcoinc
from lmcoinc.batch import run_batch
from lmcoinc.io.dataset import normalize, partition_file, scan
from lmcoinc.io.output import DatasetPartition, output_names, write_subrun_files


@pytest.fixture(scope="module")
def batch_out(night, tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    assert run_batch(night.lst_dir, night.magic_dir, out).exit_code == 0
    return out


def test_import_is_lazy():
    code = "import sys, lmcoinc; print('polars' in sys.modules, callable(lmcoinc.scan))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.split() == ["False", "True"]
    assert lmcoinc.scan is scan
    with pytest.raises(AttributeError):
        _ = lmcoinc.no_such_thing


def test_layout(batch_out):
    for table in ("events", "feature", "profile"):
        for subrun in range(3):
            assert partition_file(batch_out, table, 3265, subrun).is_file()
    assert (batch_out / "parquet/events/lst_obs_id=3265/lst_subrun=2/part-0.parquet").is_file()


@pytest.mark.parametrize("table", ["events", "feature", "profile"])
def test_scan_equals_run_outputs(batch_out, run_outputs, table):
    reference = run_outputs()
    lazy = lmcoinc.scan(batch_out, table=table)
    assert isinstance(lazy, pl.LazyFrame)
    frame = lazy.collect()
    assert frame.schema["lst_obs_id"] == pl.Int64 and frame.schema["lst_subrun"] == pl.Int64
    for subrun in range(3):
        part = frame.filter(pl.col("lst_subrun") == subrun).drop("lst_obs_id", "lst_subrun")
        name = f"dl1_MAGIC_LST-1.Run03265.{subrun:04}.{table}.parquet"
        theirs = pl.read_parquet(reference / name)
        assert part.columns == theirs.columns
        # same values; the dataset has the night-wide types (Int64, Float64)
        assert part.equals(theirs.cast({c: part.schema[c] for c in theirs.columns}))
    # plain polars reads the same dataset
    plain = pl.scan_parquet(batch_out / "parquet" / table / "**" / "*.parquet",
                            hive_partitioning=True).collect()
    assert plain.sort("lst_subrun", maintain_order=True).equals(
        frame.sort("lst_subrun", maintain_order=True))


def test_readme_lazy_query(batch_out):
    """The README's query: coincident stereo events per subrun above 100 p.e. in LST-1."""
    per_subrun = (
        lmcoinc.scan(batch_out, "events")
        .filter((pl.col("tel_id") == 1) & (pl.col("intensity") > 100))
        .group_by("lst_obs_id", "lst_subrun")
        .agg(n_events=pl.len(), median_intensity=pl.col("intensity").median())
        .sort("lst_obs_id", "lst_subrun")
        .collect()
    )
    assert per_subrun["lst_subrun"].to_list() == [0, 1, 2]
    eager = lmcoinc.scan(batch_out, "events").collect()
    for row in per_subrun.iter_rows(named=True):
        expected = eager.filter((pl.col("lst_subrun") == row["lst_subrun"])
                                & (pl.col("tel_id") == 1) & (pl.col("intensity") > 100))
        assert row["n_events"] == expected.height > 0


def test_profile_schema_is_night_wide(tmp_path):
    one_tel = pl.DataFrame({"time_offset": [-3.3, -3.2], "n_coincidence_tel13": [1, 5]})
    both = pl.DataFrame({"time_offset": [-3.2], "n_coincidence_tel12": [2],
                         "n_coincidence_tel13": [4]})
    feature = pl.DataFrame({"coincidence_id": [13], "average_offset": [-3.2]})
    events = pl.DataFrame({"obs_id": [1], "intensity": pl.Series([1.5], dtype=pl.Float32)})
    assert normalize("events", events, [2, 3]).schema == {"obs_id": pl.Int64,
                                                           "intensity": pl.Float64}
    for subrun, profile in enumerate((one_tel, both)):
        finals = output_names(Path(f"dl1_LST-1.Run00001.{subrun:04}.h5"), tmp_path / "run")
        write_subrun_files(finals, {"events": events, "feature": feature, "profile": profile},
                           dataset=DatasetPartition(tmp_path, 1, subrun, [2, 3]))
    profile = scan(tmp_path, "profile").sort("lst_subrun", "time_offset").collect()
    assert profile.columns == ["time_offset", "n_coincidence_tel12", "n_coincidence_tel13",
                               "lst_obs_id", "lst_subrun"]
    assert profile["n_coincidence_tel12"].to_list() == [None, None, 2]
    assert profile["n_coincidence_tel13"].to_list() == [1, 5, 4]
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]  # no temporary file left


def test_scan_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown table"):
        scan(tmp_path, "images")
    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        scan(tmp_path, "events")
