"""lmcoinc run and lmcoinc batch as commands: what they print and write, their exit codes."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from lmcoinc.batch.workers import WorkerPool
from lmcoinc.cli import app
from lmcoinc.cli.coincidence import _early_workers, _unless_dask

from ..helpers.badinputs import lst_file


def test_run_prints_the_offset_of_each_telescope(good, tmp_path):
    timings = tmp_path / "timings.json"
    out = tmp_path / "out"
    proc = CliRunner().invoke(app, ["run", "-l", str(lst_file(good)), "-m", str(good / "magic"),
                                    "-o", str(out), "--timings", str(timings)])
    assert proc.exit_code == 0, proc.output
    feature = pl.read_parquet(out / "dl1_MAGIC_LST-1.Run03265.0040.feature.parquet")
    expected = [f"tel {row['coincidence_id'] - 10}: average offset "
                f"{row['average_offset']:.3f} us, {row['n_coincidence']} coincident events"
                for row in feature.sort("coincidence_id").iter_rows(named=True)]
    assert [line for line in proc.stdout.splitlines() if line.startswith("tel ")] == expected
    assert len(expected) == 2
    stages = json.loads(timings.read_text())
    assert stages and all(isinstance(s, float) and s >= 0 for s in stages.values())
    assert not (out / "report").exists()


def test_run_error_is_one_line(good, tmp_path):
    proc = CliRunner().invoke(app, ["run", "-l", str(tmp_path / "missing.h5"),
                                    "-m", str(good / "magic"), "-o", str(tmp_path / "out")])
    assert proc.exit_code == 13
    assert proc.stderr.splitlines()[-1] == (
        f"lmcoinc: error: {tmp_path / 'missing.h5'}: file not found")
    assert proc.stderr.count("lmcoinc: error:") == 1 and "Traceback" not in proc.stderr
    assert not list((tmp_path / "out").glob("*"))  # no output


def test_batch_prints_the_summary(good, tmp_path):
    out = tmp_path / "out"
    argv = ["batch", "-l", str(good / "lst"), "-m", str(good / "magic"), "-o", str(out),
            "--no-progress"]
    proc = CliRunner().invoke(app, argv)
    assert proc.exit_code == 0, proc.output
    summary = pl.read_parquet(out / "summary.parquet")
    row = summary.row(0, named=True)
    table_row = next(line for line in proc.stdout.splitlines() if "3265" in line)
    assert f"{row['offset_us_tel2']:.3f}" in table_row and "ok" in table_row
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("1 subruns: 1 ok; night model: 0 redone; ")
    assert last.endswith(f" s; summary: {out / 'summary.parquet'}")
    assert "lmcoinc batch: 1 LST subruns, 1 to process, 0 complete" in proc.stderr
    again = CliRunner().invoke(app, argv)  # resumed
    assert again.exit_code == 0 and again.stdout.splitlines()[-1].startswith(
        "1 subruns: 1 skipped;")
    assert CliRunner().invoke(app, [*argv, "--jobs", "0"]).exit_code == 2  # a usage error


def test_batch_workers_start_early_unless_one_job_or_dask():
    """``batch -j N`` starts its workers before its imports, except with one job or Dask; the
    config's Dask cluster stops them."""
    for args in [(1, None, None), (2, "tcp://host:8786", None), (2, None, "slurm")]:
        with _early_workers(*args) as workers:
            assert workers is None
    with _early_workers(2, None, None) as workers:
        assert isinstance(workers, WorkerPool)
        assert _fork_servers()  # importing the batch's modules while the CLI goes on
        assert _unless_dask(workers, None) is workers
        assert _unless_dask(workers, object()) is None
        assert multiprocessing.active_children() == []


def _fork_servers() -> list[int]:
    """The child processes of this one that are ``multiprocessing``'s fork server."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"multiprocessing.forkserver" in command:
            found.append(int(stat.parent.name))
    return found
