"""Tests of the Parquet layouts (run's files, batch's hive dataset) and lmcoinc.scan."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import lmcoinc
from lmcoinc.io.dataset import partition_file, scan
from lmcoinc.io.output import SubrunWriter, output_names

TABLES = ("events", "feature", "profile")


@pytest.fixture
def batch_out(batch_output):
    return batch_output


def test_import_is_lazy():
    code = ("import sys, lmcoinc; print('polars' in sys.modules, 'tables' in sys.modules, "
            "callable(lmcoinc.scan))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.split() == ["False", "False", "True"]
    assert lmcoinc.scan is scan
    with pytest.raises(AttributeError):
        _ = lmcoinc.no_such_thing


def test_batch_writes_each_table_once_to_the_dataset(batch_out):
    for table in TABLES:
        for subrun in range(3):
            assert partition_file(batch_out, table, 3265, subrun).is_file()
    assert (batch_out / "parquet/events/lst_obs_id=3265/lst_subrun=2/part-0.parquet").is_file()
    # no per-subrun Parquet file beside the HDF5 files: a glob counts every event once
    assert sorted(p.name for p in batch_out.glob("*.parquet")) == ["night.parquet",
                                                                    "summary.parquet"]
    assert len(list(batch_out.glob("*.h5"))) == 3
    assert not list(batch_out.rglob("*offset_model*"))  # constant mode: no model table


@pytest.mark.parametrize("table", TABLES)
def test_scan_of_batch_equals_run_outputs(batch_out, run_outputs, table):
    reference = run_outputs()
    lazy = lmcoinc.scan(batch_out, table=table)
    assert isinstance(lazy, pl.LazyFrame)
    frame = lazy.collect()
    assert frame.schema["lst_obs_id"] == pl.Int64 and frame.schema["lst_subrun"] == pl.Int64
    for subrun in range(3):
        part = frame.filter(pl.col("lst_subrun") == subrun).drop("lst_obs_id", "lst_subrun")
        name = f"dl1_MAGIC_LST-1.Run03265.{subrun:04}.{table}.parquet"
        theirs = pl.read_parquet(reference / name)
        assert part.equals(theirs)  # one schema: the same columns, types and values
        assert part.schema == theirs.schema
    # plain polars reads the same dataset
    plain = pl.scan_parquet(batch_out / "parquet" / table / "**" / "*.parquet",
                            hive_partitioning=True).collect()
    assert plain.sort("lst_subrun", maintain_order=True).equals(
        frame.sort("lst_subrun", maintain_order=True))


@pytest.mark.parametrize("table", TABLES)
def test_scan_of_run_output_has_the_batch_columns(batch_out, run_outputs, table):
    """The same columns either way, with the subrun keys; a run output directory, one of
    its files, or a batch subrun's HDF5 file."""
    of_run = lmcoinc.scan(run_outputs(), table).collect()
    of_batch = lmcoinc.scan(batch_out, table).collect()
    assert of_run.schema == of_batch.schema
    keys = ["lst_obs_id", "lst_subrun"]
    assert of_run.sort(keys, maintain_order=True).equals(of_batch.sort(keys, maintain_order=True))
    name = "dl1_MAGIC_LST-1.Run03265.0001"
    for path in (run_outputs() / f"{name}.h5", run_outputs() / f"{name}.{TABLES[0]}.parquet",
                 batch_out / f"{name}.h5"):
        one = lmcoinc.scan(path, table).collect()
        assert one.equals(of_batch.filter(pl.col("lst_subrun") == 1)), path


def test_scan_of_nested_run_outputs(run_outputs, tmp_path):
    """A directory of run outputs is searched recursively."""
    for subrun in range(2):
        stem = f"dl1_MAGIC_LST-1.Run03265.{subrun:04}"
        (tmp_path / f"night{subrun}").mkdir()
        for suffix in (".h5", ".feature.parquet"):
            (tmp_path / f"night{subrun}" / f"{stem}{suffix}").write_bytes(
                (run_outputs() / f"{stem}{suffix}").read_bytes())
    found = lmcoinc.scan(tmp_path, "feature").collect()
    assert found["lst_subrun"].unique().sort().to_list() == [0, 1]


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
    for subrun, profile in enumerate((one_tel, both)):
        finals = output_names(Path(f"dl1_LST-1.Run00001.{subrun:04}.h5"), tmp_path)
        with SubrunWriter(finals, magic_tel_ids=[2, 3]) as out:
            for name, frame in (("events", events), ("feature", feature), ("profile", profile)):
                out.write_table(name, frame)
            out.commit()
    profile = scan(tmp_path, "profile").sort("lst_subrun", "time_offset").collect()
    assert profile.columns == ["time_offset", "n_coincidence_tel12", "n_coincidence_tel13",
                               "lst_obs_id", "lst_subrun"]
    assert profile["n_coincidence_tel12"].to_list() == [None, None, 2]
    assert profile["n_coincidence_tel13"].to_list() == [1, 5, 4]
    assert scan(tmp_path, "events").collect_schema()["intensity"] == pl.Float64
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]  # no temporary file left


def test_scan_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown table"):
        scan(tmp_path, "images")
    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        scan(tmp_path, "events")
    with pytest.raises(FileNotFoundError, match="no Parquet files"):
        scan(tmp_path / "missing.h5", "events")
