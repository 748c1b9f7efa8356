"""The Python API end to end: coincide() equals what run writes, provenance and column
metadata in every output, other readers of the batch dataset, outputs of other versions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

import lmcoinc
from lmcoinc.batch import run_batch
from lmcoinc.batch.records import fingerprint
from lmcoinc.cli import app
from lmcoinc.clock.scan import magic_time_range
from lmcoinc.config import config_yaml, load_config, parse_config
from lmcoinc.errors import (
    ConfigError,
    LstInputError,
    MagicInputError,
    NoMagicEventsError,
    exit_code,
)
from lmcoinc.io.columns import is_described
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.io.provenance import FORMAT_VERSION, lmcoinc_version, read_provenance, run_ids
from lmcoinc.pipeline import process_subrun

from ..helpers.compare import assert_same_outputs, hdf5_contents, subrun_table
from ..helpers.simread import LST_KEY, MAGIC_KEY, lst_ns, read

TABLES = ("events", "feature", "profile")


def _name(lst_file: Path) -> str:
    return lst_file.name.replace("LST", "MAGIC_LST")


def test_coincide_equals_the_files_run_writes(night, run_outputs):
    reference = run_outputs()
    magic_files = sorted(night.magic_dir.glob("dl1_*.h5"), reverse=True)  # any order
    for lst_file in night.lst_files:
        for magic in (night.magic_dir, magic_files):
            found = lmcoinc.coincide(lst_file, magic)
            for table in TABLES:
                written = pl.read_parquet(reference / f"{_name(lst_file)[:-3]}.{table}.parquet")
                assert getattr(found, table).equals(written), (lst_file.name, table)
                assert getattr(found, table).schema == written.schema
            assert found.offset_model is None and found.offset_segments is None
            assert sorted(found.telescopes) == [2, 3]
            offsets = found.offsets
            assert offsets["tel_id"].to_list() == [2, 3]
            assert offsets["offset_us"].to_list() == found.feature["average_offset"].to_list()


def test_coincide_then_write_writes_what_run_writes(night, run_outputs, tmp_path):
    lst_file = night.lst_files[1]
    found = lmcoinc.coincide(lst_file, night.magic_dir, load_config())
    written = found.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written.values())
    name = _name(lst_file)
    assert_same_outputs(tmp_path, run_outputs(), [name])
    assert hdf5_contents(tmp_path / name) == hdf5_contents(run_outputs() / name)
    assert read_provenance(tmp_path / name)["command"] == "coincide"


DRIFT_TABLES = ("offset_model", "offset_segments")


@pytest.fixture(scope="module")
def drift_batch(drifting_night, drift_config, tmp_path_factory) -> Path:
    """A batch in drift mode of the broken-GPS night."""
    out = tmp_path_factory.mktemp("drift-batch")
    assert run_batch(drifting_night.lst_dir, drifting_night.magic_dir, out,
                     load_config(drift_config())).exit_code == 0
    return out


def test_coincide_in_drift_mode_has_the_model_tables(drifting_night, drift_config, tmp_path):
    config = load_config(drift_config())
    lst_file = drifting_night.lst_files[0]
    found = lmcoinc.coincide(lst_file, drifting_night.magic_dir, config)
    process_subrun(lst_file, MagicDirectory(drifting_night.magic_dir, config.tel_names),
                   tmp_path, config)
    for table in DRIFT_TABLES:
        written = pl.read_parquet(tmp_path / f"{_name(lst_file)[:-3]}.{table}.parquet")
        mine = getattr(found, table)
        assert mine is not None and mine.equals(written), table
        assert mine.schema == written.schema, table
        assert sorted(mine["tel_id"].unique()) == [2, 3]
    assert found.offset_segments["segment"].to_list() == [0, 0]  # no clock step
    assert found.feature["drift_us_per_s"].to_list() == pytest.approx([6.0, 6.0], abs=0.05)
    assert found.tables.keys() == {"events", "feature", "profile", *DRIFT_TABLES}


def test_scan_reads_the_drift_tables_of_run_and_batch(drifting_night, drift_config, drift_batch,
                                                      tmp_path):
    config = load_config(drift_config())
    found = {}
    for lst_file in drifting_night.lst_files:
        found[lst_file] = lmcoinc.coincide(lst_file, drifting_night.magic_dir, config)
        found[lst_file].write(tmp_path)
    keys = ["lst_obs_id", "lst_subrun"]
    for table in DRIFT_TABLES:
        of_run = lmcoinc.scan(tmp_path, table).collect()
        of_batch = lmcoinc.scan(drift_batch, table).collect()
        assert of_run.schema == of_batch.schema
        assert of_run.sort(keys, maintain_order=True).equals(
            of_batch.sort(keys, maintain_order=True)), table
        for lst_file, coincidence in found.items():
            subrun = run_ids(lst_file)[1]
            part = of_batch.filter(pl.col("lst_subrun") == subrun).drop(keys)
            assert part.height > 0 and part.equals(getattr(coincidence, table)), (table, subrun)
            for one in (tmp_path / _name(lst_file), drift_batch / _name(lst_file)):
                assert lmcoinc.scan(one, table).collect().drop(keys).equals(part), one


def test_errors_are_those_of_the_command_line(night, tmp_path):
    with pytest.raises(LstInputError) as lst:
        lmcoinc.coincide(tmp_path / "missing.h5", night.magic_dir)
    assert exit_code(lst.value) == 13
    with pytest.raises(MagicInputError) as magic:
        lmcoinc.coincide(night.lst_files[0], tmp_path / "nothing")
    assert exit_code(magic.value) == 14
    (tmp_path / "dl1_M1.Run05093711.001.h5").write_bytes(b"not hdf5")
    with pytest.raises(MagicInputError, match="dl1_M1.Run05093711.001.h5"):
        lmcoinc.coincide(night.lst_files[0], [tmp_path / "dl1_M1.Run05093711.001.h5"])
    with pytest.raises(ConfigError) as config:
        lmcoinc.load_config(tmp_path / "missing.yaml")
    assert exit_code(config.value) == 12
    assert issubclass(NoMagicEventsError, lmcoinc.errors.LmcoincError)


def _parquet_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.parquet"))


def test_every_output_names_the_version_the_config_and_the_inputs(night, run_outputs,
                                                                 batch_output):
    config = load_config()
    outputs = {"run": run_outputs(), "batch": batch_output}
    fewer = set()  # whether a batch subrun names fewer MAGIC files than the directory's
    for command, directory in outputs.items():
        files = sorted(directory.glob("*.h5")) + _parquet_files(directory)
        assert len(files) >= (12 if command == "run" else 14)
        for path in files:
            doc = read_provenance(path)
            assert doc["lmcoinc_version"] == lmcoinc_version(), path
            assert doc["format_version"] == FORMAT_VERSION
            assert doc["command"] == command
            assert doc["config"] == config_yaml(config)
            assert parse_config(yaml.safe_load(doc["config"])) == config
            assert doc["started"] <= doc["finished"]
            roles = [entry["role"] for entry in doc["inputs"]]
            lst = [e for e in doc["inputs"] if e["role"] == "lst"]
            magic = sorted(p.name for p in night.magic_dir.glob("dl1_*.h5"))
            if command == "batch" and len(lst) == 1:  # a subrun: the files of its time range
                magic = _overlapping(night.magic_dir, Path(lst[0]["path"]))
                fewer.add(len(magic) < len(list(night.magic_dir.glob("dl1_*.h5"))))
            assert sorted(e["name"] for e in doc["inputs"] if e["role"] == "magic") == magic
            assert len(lst) == (3 if path.name in ("summary.parquet", "night.parquet") else 1)
            assert all(e["size"] == Path(e["path"]).stat().st_size for e in lst)
            if len(lst) == 1:
                assert roles[0] == "lst" and (lst[0]["obs_id"], lst[0]["subrun"]) == (
                    doc["output"]["obs_id"], doc["output"]["subrun"])
                assert (lst[0]["obs_id"], lst[0]["subrun"]) == (3265, int(lst[0]["name"][-7:-3]))
    assert fewer == {False, True}  # the night's first and last subruns take part of the files


def _overlapping(magic_dir: Path, lst_file: Path) -> list[str]:
    """The MAGIC files with an event in the times that the coincidence of the LST-1 file can
    use (the default configuration: the pre-offset search, a 300 ns window)."""
    lst = lst_ns(read(lst_file, LST_KEY)["dragon_time"])
    lo, hi = magic_time_range(int(lst.min()), int(lst.max()), 300)
    found = []
    for path in sorted(magic_dir.glob("dl1_*.h5")):
        rows = read(path, MAGIC_KEY)
        t = rows["time_sec"].astype(np.int64) * 10**9 + rows["time_nanosec"].astype(np.int64)
        if np.any((t >= lo) & (t <= hi)):
            found.append(path.name)
    return found


def test_every_parquet_column_has_a_unit_and_a_description(run_outputs, batch_output,
                                                           drift_batch):
    out = drift_batch
    for table in DRIFT_TABLES:
        assert len(list((out / "parquet" / table).rglob("*.parquet"))) == 3
    files = _parquet_files(run_outputs()) + _parquet_files(batch_output) + _parquet_files(out)
    tables = set()
    for path in files:
        table = "summary" if path.name == "summary.parquet" else "night" if (
            path.name == "night.parquet") else path.parent.parent.parent.name if (
            path.name == "part-0.parquet") else path.name.split(".")[-2]
        tables.add(table)
        for field in pq.read_schema(path):
            metadata = field.metadata or {}
            assert {b"unit", b"description"} <= set(metadata), (path, field.name)
            assert is_described(table, field.name), (table, field.name)
        assert b"lmcoinc" in pq.read_schema(path).metadata
    assert tables == {"events", "feature", "profile", "offset_model", "offset_segments", "summary",
                      "night"}


def test_other_readers_count_each_event_of_the_batch_dataset_once(batch_output):
    import duckdb

    per_subrun = [pd.read_hdf(path, "/events/parameters")
                  for path in sorted(batch_output.glob("*.h5"))]
    n_rows = sum(len(frame) for frame in per_subrun)
    n_events = sum(len(frame[["obs_id", "event_id"]].drop_duplicates()) for frame in per_subrun)
    events = batch_output / "parquet" / "events"
    dataset = ds.dataset(events, format="parquet", partitioning="hive")
    assert dataset.count_rows() == n_rows
    assert dataset.to_table(columns=["lst_subrun"]).column("lst_subrun").unique().to_pylist() \
        == [0, 1, 2]
    glob = f"{events}/**/*.parquet"
    found = duckdb.sql(f"SELECT count(*), count(DISTINCT (lst_subrun, obs_id, event_id)), "
                       f"count(obs_id_lst), count(*) - count(obs_id_lst) "
                       f"FROM read_parquet('{glob}', hive_partitioning = true)").fetchall()[0]
    lst_rows = sum(int(frame["obs_id_lst"].notna().sum()) for frame in per_subrun)
    assert found == (n_rows, n_events, lst_rows, n_rows - lst_rows)
    frame = pd.read_parquet(events, dtype_backend="numpy_nullable")
    assert len(frame) == n_rows
    assert str(frame["obs_id_lst"].dtype) == "Int64"  # nullable, not float NaN
    assert frame["obs_id_lst"].isna().sum() == n_rows - lst_rows
    # no other Parquet file of the output holds events
    others = [p for p in batch_output.rglob("*.parquet") if events not in p.parents
              and "event_id" in pq.read_schema(p).names]
    assert others == []


def _fake_other_version(out: Path, software: str | None) -> None:
    """Make the records of a batch look made by another lmcoinc (None: a version from
    before the records named the software)."""
    for path in (out / ".lmcoinc" / "records").glob("*.json"):
        record = json.loads(path.read_text())
        if software is None:
            record = {"fingerprint": record["inputs"], "row": record["row"]}
        else:
            record.update(software=software, fingerprint=fingerprint(record["inputs"], software))
        path.write_text(json.dumps(record))


def test_a_batch_of_another_version_is_done_again(night, tmp_path, caplog):
    out = tmp_path / "out"
    first = run_batch(night.lst_dir, night.magic_dir, out)
    assert first.summary["status"].to_list() == ["ok"] * 3
    _fake_other_version(out, "0.0.1 (format 1)")
    with caplog.at_level(logging.WARNING, logger="lmcoinc"):
        redone = run_batch(night.lst_dir, night.magic_dir, out)
    assert redone.summary["status"].to_list() == ["ok"] * 3
    assert "3 complete subruns were made by another version of lmcoinc" in caplog.text
    assert "0.0.1 (format 1)" in caplog.text and night.lst_files[0].name in caplog.text
    assert "done again (--keep-other-versions keeps them)" in caplog.text
    _fake_other_version(out, None)
    again = run_batch(night.lst_dir, night.magic_dir, out)
    assert again.summary["status"].to_list() == ["ok"] * 3
    # this version's records: skipped, nothing said
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmcoinc"):
        same = run_batch(night.lst_dir, night.magic_dir, out)
    assert same.summary["status"].to_list() == ["skipped"] * 3
    assert "another version" not in caplog.text
    for lst_file in night.lst_files:  # the outputs are this version's
        assert read_provenance(out / _name(lst_file))["lmcoinc_version"] == lmcoinc_version()
        assert subrun_table(out / _name(lst_file), "events") is not None
    # the command's option keeps them, saying so
    _fake_other_version(out, "0.0.1 (format 1)")
    kept = CliRunner().invoke(app, ["batch", "-l", str(night.lst_dir), "-m",
                                    str(night.magic_dir), "-o", str(out), "--no-progress",
                                    "--keep-other-versions"])
    assert kept.exit_code == 0, kept.output
    assert pl.read_parquet(out / "summary.parquet")["status"].to_list() == ["skipped"] * 3
    assert "3 complete subruns were made by another version of lmcoinc" in kept.output
    assert "0.0.1 (format 1)" in kept.output and "kept as they are" in kept.output
