"""Tests of lmcoinc convert: DL1 HDF5 → Parquet with an exact int64 ns timestamp column."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import tables
from typer.testing import CliRunner

from lmcoinc.cli import app
from lmcoinc.errors import InvalidFileError, OutputError
from lmcoinc.io.convert import convert
from lmcoinc.io.provenance import read_provenance
from lmcoinc.io.timestamps import seconds_to_ns_reference

LST_KEY = "/dl1/event/telescope/parameters/LST_LSTCam"
MAGIC_KEY = "/events/parameters"


def _read(path, key) -> np.ndarray:
    with tables.open_file(str(path)) as handle:
        return handle.get_node(key).read()


def test_lst(night, tmp_path):
    source = night.lst_files[0]
    out = tmp_path / "lst.parquet"
    result = convert(source, out)
    assert (result.kind, result.output, result.timestamp_source) == ("lst", out, "dragon_time")
    raw = _read(source, LST_KEY)
    frame = pl.read_parquet(out)
    assert frame.columns == [*raw.dtype.names, "timestamp_ns"]
    assert frame.height == result.n_rows == len(raw)
    assert frame.schema["timestamp_ns"] == pl.Int64
    # exact: Decimal(str(x)) * 10**9 of every dragon_time
    np.testing.assert_array_equal(frame["timestamp_ns"].to_numpy(),
                                  seconds_to_ns_reference(raw["dragon_time"]))
    for name in raw.dtype.names:
        np.testing.assert_array_equal(frame[name].to_numpy(), raw[name])
    doc = read_provenance(out)  # where the file comes from
    assert doc["command"] == "convert" and doc["config"] == "timestamp: dragon_time\n"
    assert [(e["role"], e["name"], e["obs_id"]) for e in doc["inputs"]] == [
        ("lst", source.name, 3265)]


def test_lst_other_timestamp_and_nan(night, tmp_path):
    source = tmp_path / "dl1_LST-1.Run03265.0000.h5"
    source.write_bytes(night.lst_files[0].read_bytes())
    with tables.open_file(str(source), mode="a") as handle:
        table = handle.get_node(LST_KEY)
        tib = table.col("tib_time")
        tib[3] = np.nan
        table.modify_column(colname="tib_time", column=tib)
    result = convert(source, timestamp="tib_time")
    assert result.output == source.with_suffix(".parquet")
    frame = pl.read_parquet(result.output)
    assert frame["timestamp_ns"].null_count() == 1 and frame["timestamp_ns"][3] is None
    good = np.isfinite(tib)
    np.testing.assert_array_equal(frame["timestamp_ns"].to_numpy()[good],
                                  seconds_to_ns_reference(tib[good]))
    with pytest.raises(ValueError, match="expected one of"):
        convert(source, tmp_path / "x.parquet", timestamp="trigger")


def test_magic(night, tmp_path):
    source = night.magic_files[0]
    out = tmp_path / "magic.parquet"
    result = convert(source, out)
    assert result.kind == "magic"
    raw = _read(source, MAGIC_KEY)
    frame = pl.read_parquet(out)
    assert frame.columns == [*raw.dtype.names, "timestamp_ns"]
    expected = [int(s) * 10**9 + int(n) for s, n in zip(raw["time_sec"], raw["time_nanosec"],
                                                          strict=True)]
    assert frame["timestamp_ns"].to_list() == expected
    with pytest.raises(InvalidFileError, match="--timestamp applies to LST-1"):
        convert(source, out, timestamp="dragon_time")


def test_cli_and_errors(night, tmp_path):
    runner = CliRunner()
    out = tmp_path / "m.parquet"
    proc = runner.invoke(app, ["convert", str(night.magic_files[1]), str(out)])
    assert proc.exit_code == 0, proc.output
    assert "MAGIC file" in proc.output and out.is_file()
    # an HDF5 file that is neither LST nor MAGIC DL1
    other = tmp_path / "other.h5"
    with tables.open_file(str(other), mode="w") as handle:
        handle.create_array("/", "x", np.arange(3))
    proc = runner.invoke(app, ["convert", str(other), str(tmp_path / "o.parquet")])
    assert proc.exit_code == 13
    assert "not an LST-1 or MAGIC DL1 file" in proc.output
    text = tmp_path / "text.h5"
    text.write_text("hello")
    proc = runner.invoke(app, ["convert", str(text), str(tmp_path / "o.parquet")])
    assert proc.exit_code == 13 and "not an HDF5 file" in proc.output
    with pytest.raises(OutputError, match="output directory not found"):
        convert(night.magic_files[0], tmp_path / "missing" / "x.parquet")
    assert not list(tmp_path.glob(".*.tmp"))
