"""The other commands: config, simulate, demo, offsets, convert (report: integration)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from lmcoinc.cli import app
from lmcoinc.config import load_config
from lmcoinc.config.clock_keys import HISTORY_KEYS
from lmcoinc.config.cluster import CLUSTER_KEYS, ClusterSettings
from lmcoinc.config.parse import COINCIDENCE_KEYS, TOP_KEYS
from lmcoinc.quality.found_offsets import found_offsets

from ..helpers.badinputs import lst_file

BROKEN_GPS = 2_437_000_000  # a MAGIC clock 2.437 s ahead


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


def test_simulate_prints_its_files(tmp_path):
    proc = CliRunner().invoke(app, ["simulate", str(tmp_path), "--duration", "0.3", "--seed", "3",
                                    "--images"])
    assert proc.exit_code == 0, proc.output
    magic = sorted((tmp_path / "magic").glob("dl1_M*.h5"))
    assert proc.stdout.splitlines() == [
        f"LST file: {tmp_path / 'dl1_LST-1.Run03265.0040.h5'}",
        f"MAGIC directory: {tmp_path / 'magic'} ({len(magic)} files)",
        "true offset: -3.200 us",
        f"truth: {tmp_path / 'truth'}",
    ]
    truth = json.loads((tmp_path / "truth" / "truth.json").read_text())["config"]
    assert truth["seed"] == 3 and truth["images"] is True and truth["duration_s"] == 0.3
    bad = CliRunner().invoke(app, ["simulate", str(tmp_path), "--duration", "0"])
    assert bad.exit_code == 2  # a usage error, not a bug
    assert bad.stderr == "lmcoinc: error: duration_s must be positive\n"


def test_demo(tmp_path):
    proc = CliRunner().invoke(app, ["demo", str(tmp_path), "--duration", "0.5",
                                    "--offset-us", "-6.5"])
    assert proc.exit_code == 0, proc.output
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("simulated: dl1_LST-1.Run03265.0040.h5 + ")
    for tel_id, line in zip((2, 3), lines[1:3], strict=True):
        found = re.fullmatch(rf"tel {tel_id}: found offset ([-+.\d]+) us \(true -6\.500 us\), "
                             r"(\d+) coincidences", line)
        assert found and float(found[1]) == pytest.approx(-6.5, abs=0.05) and int(found[2]) > 10
    score = re.search(r"recall ([\d.]+) %, purity ([\d.]+) %", proc.stdout)
    assert float(score[1]) > 95 and float(score[2]) > 95
    hdf5 = tmp_path / "output" / "dl1_MAGIC_LST-1.Run03265.0040.h5"
    assert lines[-1] == f"wrote {hdf5} (+ .events/.feature/.profile.parquet)" and hdf5.is_file()


def test_offsets(run_outputs, tmp_path):
    plain = CliRunner().invoke(app, ["offsets"])
    assert plain.exit_code == 0 and "clock offset history" in plain.stdout
    assert "offsets found" not in plain.stdout
    out = run_outputs()
    proc = CliRunner().invoke(app, ["offsets", str(out)])
    assert proc.exit_code == 0, proc.output
    config = load_config(None)
    found = found_offsets(out, config.offset_history, config.history_tolerance_ns)
    assert f"{found.height} offsets; {found['far'].sum()} clock offsets farther" in proc.stdout
    assert found.height == 6  # three subruns, two telescopes
    empty = CliRunner().invoke(app, ["offsets", str(tmp_path)])
    assert empty.exit_code == 13
    assert empty.stderr == (f"lmcoinc: error: {tmp_path}: no feature tables (*.feature.parquet, "
                            "or parquet/feature/): not an output directory of lmcoinc run or "
                            "batch\n")


def test_convert(good, tmp_path):
    source = tmp_path / "lst.h5"
    source.write_bytes(lst_file(good).read_bytes())
    proc = CliRunner().invoke(app, ["convert", str(source), "--timestamp", "ucts_time"])
    assert proc.exit_code == 0, proc.output
    frame = pl.read_parquet(tmp_path / "lst.parquet")  # beside the input by default
    assert proc.stdout.splitlines() == [
        f"LST file: {frame.height} rows, timestamp_ns from ucts_time -> {tmp_path / 'lst.parquet'}"]
    assert frame["timestamp_ns"].dtype == pl.Int64
    usage = CliRunner().invoke(app, ["convert", str(source), "--timestamp", "trigger"])
    assert usage.exit_code == 2  # not one of the LST-1 timestamp columns


def test_config_prints_the_default_configuration(tmp_path: Path) -> None:
    """Loaded, the printed file gives the default settings; it names every key, commented."""
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0
    path = tmp_path / "config.yaml"
    path.write_text(result.stdout)
    assert load_config(path) == load_config(None)
    lines = result.stdout.splitlines()
    for key in (*TOP_KEYS, *COINCIDENCE_KEYS, *HISTORY_KEYS, *CLUSTER_KEYS):
        # the optional cluster section is shown commented out
        assert any(line.strip().lstrip("# ").startswith(f"{key}:") for line in lines), key
    assert sum(line.lstrip().startswith("#") for line in lines) >= len(COINCIDENCE_KEYS)


def test_config_cluster_section_uncommented_is_the_default_cluster(tmp_path: Path) -> None:
    """The commented cluster section shows every key with its default value."""
    text = CliRunner().invoke(app, ["config"]).stdout
    head, _, section = text.partition("# cluster:")
    uncommented = "\n".join(line.removeprefix("# ") for line in section.splitlines())
    path = tmp_path / "config.yaml"
    path.write_text(head + "cluster:" + uncommented + "\n")
    assert load_config(path).cluster == ClusterSettings()
