"""Every bad input: a documented exit code, one ``lmcoinc: error:`` line naming the
file or config key, no traceback, and no output file.

The bad inputs are made for real (tests/badinputs.py) from one short simulated
subrun in the real formats; ``lmcoinc run`` runs in subprocesses, all cases
at once, and each test checks one case.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import pytest

from lmcoinc.errors import EXIT_CODES
from lmcoinc.io.lst import prepare_lst

from ..helpers.badinputs import CASES, WARNING_CASES, copy_good, run_cli

_OFFSET_LINE = re.compile(r"tel (\d+): average offset (-?[\d.]+) us, (\d+) coincident events")


def _offsets(stdout: str) -> dict[int, tuple[float, int]]:
    return {int(t): (float(o), int(n)) for t, o, n in _OFFSET_LINE.findall(stdout)}


def _left_in(directory) -> list[str]:
    """Files in an output directory: outputs, temporary files, anything."""
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.rglob("*"))


@pytest.fixture(scope="module")
def results(good, tmp_path_factory):
    """name → (Run, text expected in the message, CompletedProcess) for every case."""
    root = tmp_path_factory.mktemp("cases")
    jobs = {"good": copy_good(good, root / "good")}
    expected = {"good": ""}
    for name, build in {**{k: v[0] for k, v in CASES.items()}, **WARNING_CASES}.items():
        (root / name).mkdir()
        jobs[name], expected[name] = build(good, root / name)
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        procs = dict(zip(jobs, pool.map(run_cli, jobs.values()), strict=True))
    return {name: (jobs[name], expected[name], procs[name]) for name in jobs}


def test_good_input_runs(results):
    run, _, proc = results["good"]
    assert proc.returncode == 0, proc.stderr
    assert sorted(_offsets(proc.stdout)) == [2, 3]
    assert len(_left_in(run.out)) == 4


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, results):
    run, must, proc = results[name]
    code = CASES[name][1]
    assert code in EXIT_CODES
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("lmcoinc: error:")]
    assert len(errors) == 1, proc.stderr
    assert must in errors[0]
    assert proc.stdout == ""
    # no output, no temporary file (the output path may be a file in the output cases)
    assert _left_in(run.out) == []


@pytest.mark.parametrize("name", sorted(WARNING_CASES))
def test_bad_timestamps_dropped_or_kept_with_warning(name, results):
    run, warning, proc = results[name]
    assert proc.returncode == 0, proc.stderr
    assert re.search(warning, proc.stderr), proc.stderr
    assert "lmcoinc: error" not in proc.stderr
    # the offset is not corrupted: that of the good input within 0.1 us
    found, expected = _offsets(proc.stdout), _offsets(results["good"][2].stdout)
    assert found.keys() == expected.keys()
    for tel, (offset, n) in found.items():
        assert abs(offset - expected[tel][0]) <= 0.1
        assert abs(n - expected[tel][1]) <= 5
    assert len(_left_in(run.out)) == 4


def test_output_dir_checked_before_computation(results):
    _, _, proc = results["output_parent_is_file"]
    assert "Input LST DL1 data file" not in proc.stderr  # failed before reading anything


def test_failure_while_writing_keeps_earlier_output(good, tmp_path):
    """The MAGIC subarrays are compared while the output is written: the error then
    must leave an earlier complete output of the subrun as it was, and no temporary file."""
    run = copy_good(good, tmp_path / "good")
    run.out = tmp_path / "out"
    proc = run_cli(run)
    assert proc.returncode == 0, proc.stderr
    before = {p.name: (p.stat().st_ino, p.read_bytes()) for p in run.out.iterdir()}
    assert len(before) == 4
    (tmp_path / "bad").mkdir()
    bad, must = CASES["magic_subarray_differs"][0](good, tmp_path / "bad")
    bad.out = run.out
    proc = run_cli(bad)
    assert proc.returncode == 14 and must in proc.stderr, proc.stderr
    after = {p.name: (p.stat().st_ino, p.read_bytes()) for p in run.out.iterdir()}
    assert after == before


def test_run_help_lists_exit_codes():
    from typer.testing import CliRunner

    from lmcoinc.cli import app

    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    for code, meaning in EXIT_CODES.items():
        assert re.search(rf"^\s*{code}\s+{re.escape(meaning[:30])}", result.output, re.M), code


def test_missing_option_is_usage_error(good, tmp_path):
    from typer.testing import CliRunner

    from lmcoinc.cli import app

    result = CliRunner().invoke(app, ["run", "-m", str(good / "magic")])
    assert result.exit_code == 2


def test_time_diff_skips_invalid_dragon_time():
    """time_diff of the row after an invalid dragon_time spans to the last valid one."""
    n = 6
    raw = pl.DataFrame(
        {
            "obs_id": np.full(n, 1), "event_id": np.arange(n), "tel_id": np.ones(n, int),
            "event_type": np.full(n, 32),
            "intensity": np.ones(n), "time_gradient": np.ones(n), "alt_tel": np.ones(n),
            "az_tel": np.ones(n), "length": np.ones(n), "width": np.ones(n),
            "phi": np.ones(n), "psi": np.ones(n),
            "dragon_time": [1.7e9, 1.7e9 + 1, np.nan, 1.7e9 + 3, 0.0, 1.7e9 + 6],
        }
    )
    out = prepare_lst(raw, 28.0, "dragon_time", "f.h5")
    assert out["event_id_lst"].to_list() == [0, 1, 3, 5]
    assert out["time_diff"].to_list() == [0.0, 1.0, 2.0, 3.0]
    # without the policy (no timestamp column given) all rows stay, as the reference keeps them
    assert prepare_lst(raw, 28.0).height == n


def test_no_shower_event_is_an_error():
    from lmcoinc.errors import InvalidFileError

    raw = pl.DataFrame(
        {
            "obs_id": [1], "event_id": [1], "tel_id": [1], "event_type": [2],
            "intensity": [1.0], "time_gradient": [1.0], "alt_tel": [1.0], "az_tel": [1.0],
            "length": [1.0], "width": [1.0], "phi": [1.0], "psi": [1.0], "dragon_time": [1.7e9],
        }
    )
    with pytest.raises(InvalidFileError, match="f.h5: no shower events"):
        prepare_lst(raw, 28.0, "dragon_time", "f.h5")
