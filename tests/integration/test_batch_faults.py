"""lmcoinc batch under hostile conditions, with real processes: a second batch on the
same output directory, a stale lock, a worker killed with SIGKILL, Ctrl-C and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from lmcoinc.batch.lock import LOCK_NAME
from lmcoinc.batch.records import STATE_DIR
from lmcoinc.batch.workers import KILL_ENV

from ..helpers.compare import assert_same_outputs, temporaries
from ..helpers.processes import session, wait_for
from .test_batch import NAMES

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _batch_argv(night, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lmcoinc", "batch", "-l", str(night.lst_dir),
            "-m", str(night.magic_dir), "-o", str(out), "--no-progress", *extra]


def _as_in_a_terminal() -> None:
    """SIGINT at its default, whatever the test runner inherited (a shell starts background
    jobs with SIGINT ignored, and lmcoinc keeps an ignored SIGINT ignored, as under nohup)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(argv: list[str], **env: str) -> subprocess.Popen:
    """A process in its own session (so that all its descendants can be found)."""
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, **env},
                            preexec_fn=_as_in_a_terminal)


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("lmcoinc: error:")]


def _lock(out: Path) -> Path:
    return out / STATE_DIR / LOCK_NAME


def _holder(out: Path) -> dict:
    try:
        return json.loads(_lock(out).read_text() or "{}")
    except (OSError, ValueError):
        return {}


# --- the lock of the output directory -------------------------------------------------


def test_second_batch_on_the_same_directory_exits_at_once(night, tmp_path):
    first = _start(_batch_argv(night, tmp_path))
    try:
        wait_for(lambda: _holder(tmp_path).get("pid") == first.pid or first.poll() is not None)
        os.kill(first.pid, signal.SIGSTOP)  # holds the lock as long as needed
        started = time.monotonic()
        second = subprocess.run(_batch_argv(night, tmp_path), capture_output=True, text=True,
                                timeout=120)
        seconds = time.monotonic() - started
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert second.returncode == 17, second.stderr
    assert _errors(second.stderr) == [
        f"lmcoinc: error: {tmp_path}: in use by another lmcoinc batch (pid {first.pid} on host "
        f"{os.uname().nodename}, started {_holder(tmp_path)['started']}); wait for it to end "
        "or use another output directory"
    ]
    assert seconds < 10  # at once: no MAGIC file read
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert pl.read_parquet(tmp_path / "summary.parquet")["status"].to_list() == ["ok"] * 3
    assert _lock(tmp_path).read_text() == ""  # released in order


def test_stale_lock_of_a_dead_batch_is_taken_over(night, tmp_path):
    holder = _start([sys.executable, "-c",
                     "import sys, time; from pathlib import Path; from lmcoinc.batch.lock import "
                     "output_lock\nwith output_lock(Path(sys.argv[1])):\n print(flush=True)\n "
                     "time.sleep(600)", str(tmp_path)])
    assert holder.stdout.readline() == "\n", holder.stderr.read()  # it holds the lock
    holder.kill()
    holder.wait()
    assert _holder(tmp_path)["pid"] == holder.pid
    proc = subprocess.run(_batch_argv(night, tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (f"taking over the lock of a batch that has ended without releasing it "
            f"(pid {holder.pid} on host {os.uname().nodename}") in proc.stderr
    proc = subprocess.run(_batch_argv(night, tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "taking over" not in proc.stderr, proc.stderr


# --- a worker killed ------------------------------------------------------------------
def test_worker_killed_while_caching_magic_is_replaced(night, run_outputs, tmp_path):
    """A worker killed while it prepares a MAGIC file for the cache: the file is prepared
    again by the parent, the batch goes on and its outputs are those of run."""
    victim = sorted(night.magic_dir.glob("dl1_M2.*.h5"))[0].name
    proc = _start(_batch_argv(night, tmp_path, "-j", "2"), **{KILL_ENV: victim})
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert (f"{victim}: worker process died: killed by signal 9 (SIGKILL; out of memory?) "
            "while preparing it for the MAGIC cache; prepared again in the main process") in stderr
    assert pl.read_parquet(tmp_path / "summary.parquet")["status"].to_list() == ["ok"] * 3
    assert_same_outputs(tmp_path, run_outputs(), NAMES)
    wait_for(lambda: session(proc.pid) == [], timeout=5)




def test_killed_worker_fails_its_subrun_only(night, run_outputs, tmp_path):
    victim = night.lst_files[1].name
    proc = _start(_batch_argv(night, tmp_path, "-j", "2"), **{KILL_ENV: victim})
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 4, stderr
    summary = pl.read_parquet(tmp_path / "summary.parquet")
    assert summary["status"].to_list() == ["ok", "failed", "ok"]
    failed = summary.row(1, named=True)
    assert failed["lst_file"] == victim
    assert failed["error"] == ("worker process died: killed by signal 9 (SIGKILL; "
                               "out of memory?)")
    assert failed["exit_code"] == 128 + 9
    assert not (tmp_path / NAMES[1]).exists()
    # none outlives the batch (multiprocessing's resource tracker ends just after it)
    wait_for(lambda: session(proc.pid) == [], timeout=5)
    # the next start redoes it, and only it
    proc = subprocess.run(_batch_argv(night, tmp_path, "-j", "2"), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = pl.read_parquet(tmp_path / "summary.parquet")
    assert summary["status"].to_list() == ["skipped", "ok", "skipped"]
    assert_same_outputs(tmp_path, run_outputs(), NAMES)


def test_an_interrupt_while_the_workers_end_is_not_lost():
    """A Ctrl-C while the workers of finished tasks are stopped ends the batch as interrupted
    (it was once taken for a second Ctrl-C and dropped: exit 0); during a stop that an
    interrupt caused, one more only ends the waiting."""
    from lmcoinc.batch import workers

    class Process:
        def __init__(self) -> None:
            self.joins = 0

        def join(self, timeout=None) -> None:
            self.joins += 1
            if self.joins == 1:
                raise KeyboardInterrupt

        def is_alive(self) -> bool:
            return False

    class Conn:
        def send(self, message) -> None:
            pass

        def close(self) -> None:
            pass

    with pytest.raises(KeyboardInterrupt):
        workers._stop([workers._Worker(Process(), Conn())], graceful=True)
    workers._stop([workers._Worker(Process(), Conn())], graceful=False)  # does not raise



# --- interrupts -----------------------------------------------------------------------


def _interrupt_after_first_subrun(night, out: Path, jobs: int, sig: int, group: bool,
                                  twice: bool) -> subprocess.Popen:
    """``batch -j JOBS``, interrupted once a subrun is complete and the others are not."""
    proc = _start(_batch_argv(night, out, "-j", str(jobs)))
    records = out / STATE_DIR / "records"
    wait_for(lambda: any(records.glob("*.json")) or proc.poll() is not None)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    proc.workers = len(session(proc.pid)) - 1
    for _ in range(2 if twice else 1):
        if group:  # Ctrl-C in a terminal: the whole foreground process group
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        time.sleep(0.05)
    proc.communicate(timeout=120)
    return proc


@pytest.mark.parametrize(("jobs", "sig", "group", "twice"), [
    (2, signal.SIGTERM, False, False),
    (2, signal.SIGTERM, False, True),
    (2, signal.SIGINT, True, False),
    (1, signal.SIGTERM, False, False),
], ids=["j2-SIGTERM", "j2-SIGTERM-twice", "j2-Ctrl-C", "j1-SIGTERM"])
def test_interrupted_batch_leaves_no_process_and_keeps_finished_subruns(
    night, run_outputs, tmp_path, jobs, sig, group, twice
):
    proc = _interrupt_after_first_subrun(night, tmp_path, jobs, sig, group, twice)
    assert proc.returncode == 130
    assert proc.workers >= (jobs if jobs > 1 else 0)  # workers (and a resource tracker) ran
    wait_for(lambda: session(proc.pid) == [], timeout=5)  # none outlives the batch
    assert temporaries(tmp_path) == []
    done = [p.name[: -len(".json")] for p in (tmp_path / STATE_DIR / "records").glob("*.json")]
    assert done and len(done) < 3
    assert_same_outputs(tmp_path, run_outputs(), done)
    proc = subprocess.run(_batch_argv(night, tmp_path, "-j", "2"), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    statuses = pl.read_parquet(tmp_path / "summary.parquet")["status"].to_list()
    assert sorted(statuses) == sorted(["skipped"] * len(done) + ["ok"] * (3 - len(done)))
    assert_same_outputs(tmp_path, run_outputs(), NAMES)


def test_dask_worker_lost(night, tmp_path, monkeypatch):
    """A Dask worker that dies running a task: that subrun fails, the others go on."""
    pytest.importorskip("distributed")
    import dask
    from distributed import LocalCluster

    from lmcoinc.batch import run_batch

    monkeypatch.setenv(KILL_ENV, night.lst_files[0].name)  # inherited by the workers
    config = {"distributed.scheduler.allowed-failures": 0,  # one death: KilledWorker
              "distributed.scheduler.worker-saturation": 1.0}  # one task at a time
    with dask.config.set(config), LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = run_batch(night.lst_dir, night.magic_dir, tmp_path,
                           dask_scheduler=cluster.scheduler_address)
    assert result.exit_code == 4
    assert result.summary["status"].to_list() == ["failed", "ok", "ok"]
    assert result.summary["error"][0].startswith("Dask worker died while running it")
