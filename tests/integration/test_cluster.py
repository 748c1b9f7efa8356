"""lmcoinc batch on a Dask cluster of separate processes, as on a real cluster: a scheduler
and workers started with ``dask scheduler`` / ``dask worker`` from another directory than
the batch's, a batch interrupted, a worker killed, workers that do not share the files."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from lmcoinc.batch.task import KILL_ONCE_ENV
from lmcoinc.batch.workers import KILL_ENV
from lmcoinc.config import default_config_text

from ..helpers.compare import assert_same_outputs, temporaries
from ..helpers.processes import START_TIMEOUT_S, dask_processes, session, wait_for
from .test_batch import NAMES

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

#: Seconds a batch of three short subruns may take on a loaded machine.
BATCH_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers, each a separate process, the workers
    started three directories deep elsewhere (a relative path means something else there);
    and a client of the test to look at the scheduler."""
    work = tmp_path_factory.mktemp("dask")
    worker_cwd = work / "a" / "b" / "c"
    worker_cwd.mkdir(parents=True)
    with dask_processes(work, 2, worker_cwd) as started, distributed.Client(
            started.address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        yield started, client
    assert all(not session(p.pid) for p in started.processes)  # nothing left behind


def _client_dir(night, tmp_path: Path) -> Path:
    """The batch's working directory, with a config file of its own."""
    here = tmp_path / "client"
    here.mkdir()
    (here / "config.yaml").write_text(default_config_text())
    return here


def _batch(night, here: Path, address: str, *extra: str) -> list[str]:
    """lmcoinc batch with relative --lst-dir, --magic-dir, -o and -c (from ``here``)."""
    return [sys.executable, "-m", "lmcoinc", "batch",
            "--lst-dir", os.path.relpath(night.lst_dir, here),
            "--magic-dir", os.path.relpath(night.magic_dir, here),
            "-o", "out", "-c", "config.yaml", "--dask-scheduler", address, "--no-progress",
            *extra]


def _lmcoinc_tasks(client) -> list[str]:
    return [k for k in client.run_on_scheduler(
        lambda dask_scheduler: [str(key) for key in dask_scheduler.tasks])
        if k.startswith("lmcoinc-")]


def test_relative_paths_on_separate_processes(cluster, night, run_outputs, tmp_path):
    """Relative paths given to the batch reach the workers absolute: the outputs are those
    of `lmcoinc run`; the workers' warnings are in the batch's log, naming their subruns."""
    started, client = cluster
    here = _client_dir(night, tmp_path)
    proc = subprocess.run(_batch(night, here, started.address), cwd=here, capture_output=True,
                          text=True, timeout=BATCH_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    assert_same_outputs(here / "out", run_outputs(), NAMES)
    summary = pl.read_parquet(here / "out" / "summary.parquet")
    assert summary["status"].to_list() == ["ok"] * 3
    for row in summary.iter_rows(named=True):  # the night is off the history by ~3 us
        warnings = [w for w in row["warnings"] if "from the history's" in w]
        assert len(warnings) == 2, row["warnings"]  # MAGIC-I and MAGIC-II
        for warning in warnings:
            assert warning.startswith(f"{row['lst_file']}: MAGIC-")
            assert warning in proc.stderr  # told by the batch, not only in the worker's log
    assert not list((here / "out" / ".lmcoinc").glob("worker-check-*"))
    assert _lmcoinc_tasks(client) == []


def test_interrupted_batch_cancels_its_tasks(cluster, night, run_outputs, tmp_path):
    """SIGTERM while the subruns are on the cluster: the scheduler forgets every task of
    the batch; a subrun that a worker was running is written whole or not at all."""
    started, client = cluster
    here = _client_dir(night, tmp_path)
    proc = subprocess.Popen(_batch(night, here, started.address), cwd=here, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: [k for k in _lmcoinc_tasks(client) if "check" not in k] or
                 proc.poll() is not None, timeout=BATCH_TIMEOUT_S, interval=0.02)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=BATCH_TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "lmcoinc: error: interrupted" in stderr
    wait_for(lambda: not _lmcoinc_tasks(client), timeout=60, interval=0.1)
    # a task a worker had begun goes on (a thread cannot be stopped) and ends on its own
    wait_for(lambda: not any(client.run(
        lambda dask_worker: dask_worker.state.executing_count).values()),
        timeout=BATCH_TIMEOUT_S, interval=0.1)
    out = here / "out"
    assert_same_outputs(out, run_outputs(), sorted(p.name for p in out.glob("*.h5")))
    assert temporaries(out) == []


def test_worker_killed_during_a_subrun(cluster, night, run_outputs, tmp_path):
    """The worker running subrun 1 dies (SIGKILL): the subrun is run again on another
    worker and the night is complete and identical; nothing partial is left."""
    started, client = cluster
    here = _client_dir(night, tmp_path)
    marker = tmp_path / "killed-once"
    env = {KILL_ENV: NAMES[1].replace("MAGIC_", ""), KILL_ONCE_ENV: str(marker)}
    client.run(lambda: os.environ.update(env))
    try:
        proc = subprocess.run(_batch(night, here, started.address), cwd=here,
                              capture_output=True, text=True, timeout=BATCH_TIMEOUT_S)
    finally:
        client.run(lambda: [os.environ.pop(key, None) for key in env])
    assert marker.exists()  # a worker did die
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(here / "out" / "summary.parquet")["status"].to_list() == ["ok"] * 3
    assert_same_outputs(here / "out", run_outputs(), NAMES)
    assert temporaries(here / "out") == []
    client.wait_for_workers(2, timeout=START_TIMEOUT_S)  # the nanny restarted it


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="needs unshare --mount (root)")
def test_workers_without_the_shared_directories(night, tmp_path):
    """A worker that does not see the batch's directories (here: a worker whose view of
    the temporary directory is an empty file system): one line, exit code 2, no subrun."""
    hidden = Path(os.path.commonpath([night.lst_dir, tmp_path]))
    elsewhere = Path("/")
    mount = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             f'mount -t tmpfs lmcoinc-test "{hidden}" && exec "$0" "$@"']
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp",
                                  dashboard_address=None, scheduler_port=0) as local, \
            dask_processes(tmp_path / "dask", 1, elsewhere, worker_prefix=mount,
                           address=local.scheduler_address), \
            distributed.Client(local.scheduler_address, timeout="60s") as client:
        client.wait_for_workers(1, timeout=START_TIMEOUT_S)
        here = _client_dir(night, tmp_path)
        proc = subprocess.run(_batch(night, here, local.scheduler_address), cwd=here,
                              capture_output=True, text=True, timeout=BATCH_TIMEOUT_S)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("lmcoinc: error:")]
    assert proc.returncode == 2, proc.stderr
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"lmcoinc: error: {here / 'out'}: not found by the Dask worker "
                                f"on {os.uname().nodename} (pid ")
    assert errors[0].endswith("must be on a file system shared with the Dask workers")
    assert not list((here / "out").glob("*.h5"))
    assert not (here / "out" / "summary.parquet").exists()


def test_cluster_started_by_the_batch(night, run_outputs, tmp_path, monkeypatch, caplog):
    """A cluster section starts the workers (here local processes, the code path of SLURM's
    jobs) and scales them to the subruns; the outputs are those of `lmcoinc run`."""
    from typer.testing import CliRunner

    from lmcoinc.cli import app

    here = _client_dir(night, tmp_path)
    with open(here / "config.yaml", "a") as config:
        config.write("cluster:\n    type: local\n    max_workers: 2\n    memory: 2GB\n")
    monkeypatch.chdir(here)
    caplog.set_level(logging.WARNING, logger="lmcoinc")  # whatever an earlier test set
    proc = CliRunner().invoke(app, ["batch", "-l", os.path.relpath(night.lst_dir),
                                    "-m", os.path.relpath(night.magic_dir), "-o", "out",
                                    "-c", "config.yaml", "--no-progress"])
    assert proc.exit_code == 0, proc.output
    assert_same_outputs(here / "out", run_outputs(), NAMES)
    assert f"{NAMES[2].replace('MAGIC_', '')}: MAGIC-II: clock offset" in proc.output


def test_night_model_passes_on_the_cluster(cluster, pointing_night, tmp_path):
    """The weak subrun redone with the night's offset on the workers: the night is that of
    the batch run here (every pass's tasks are new tasks to the scheduler)."""
    from lmcoinc.batch import run_batch

    started, _ = cluster
    here = run_batch(pointing_night.lst_dir, pointing_night.magic_dir, tmp_path / "here")
    there = run_batch(pointing_night.lst_dir, pointing_night.magic_dir, tmp_path / "there",
                      dask_scheduler=started.address)
    assert there.redone == here.redone >= 1
    names = sorted(p.name for p in (tmp_path / "here").glob("*.h5"))
    assert sorted(p.name for p in (tmp_path / "there").glob("*.h5")) == names
    assert_same_outputs(tmp_path / "there", tmp_path / "here", names)
    timings = ["seconds", "max_rss_mb"]
    assert there.summary.drop(timings).equals(here.summary.drop(timings))
    assert there.night.equals(here.night)
