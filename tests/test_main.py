"""The console entry: the batch's fork server started before the application is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmcoinc.__main__ import batch_jobs

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("argv", "jobs"), [
    (["batch", "-l", "L", "-m", "M", "-o", "O", "-j", "2"], 2),
    (["batch", "-j4", "-l", "L"], 4),
    (["batch", "--jobs", "3"], 3),
    (["batch", "--jobs=8", "-q"], 8),
    (["batch", "-l", "L"], 1),
    (["batch", "-j", "2", "--dask-scheduler", "tcp://host:8786"], 1),
    (["batch", "-j", "2", "--cluster=slurm"], 1),
    (["batch", "-j", "2", "--help"], 1),
    (["batch", "-j", "two"], 1),
    (["batch", "-j"], 1),
    (["run", "-j", "2"], 1),
    ([], 1),
])
def test_the_jobs_asked_of_batch(argv, jobs):
    assert batch_jobs(argv) == jobs


_ORDER = """
import atexit
import sys
import lmcoinc.batch.workers as workers
started = []
real = workers.start_fork_server
def start(preload):
    started.append("typer" in sys.modules)
    real(preload)
workers.start_fork_server = start
atexit.register(lambda: print("started with the application imported:", started,
                              file=sys.__stderr__))  # (the console ends with os._exit)
sys.argv = ["lmcoinc", *sys.argv[1:]]
from lmcoinc.__main__ import main
main()
"""


@pytest.mark.parametrize(("jobs", "started"), [("2", "[False, True]"), ("1", "[]")])
def test_batch_starts_its_fork_server_before_the_application(tmp_path, jobs, started):
    """``lmcoinc batch -j 2`` starts the fork server before typer and the commands are
    imported (the CLI's own start, later, finds it running); ``-j 1`` starts none."""
    missing = tmp_path / "missing"
    proc = subprocess.run(
        [sys.executable, "-c", _ORDER, "batch", "-l", str(missing), "-m", str(missing),
         "-o", str(tmp_path / "out"), "-j", jobs],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 13, proc.stderr  # no LST file: the application ran
    assert f"started with the application imported: {started}" in proc.stderr
