"""Processes of the tests: sessions, waiting, and a Dask scheduler with workers started as
separate programs (``dask scheduler``, ``dask worker``), as on a cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Seconds a scheduler or its workers may take to start on a loaded machine.
START_TIMEOUT_S = 180.0


def session(sid: int) -> list[int]:
    """The live processes of a session (zombies are dead)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in "ZX":
            found.append(int(entry.name))
    return found


def wait_for(condition: Callable[[], object], timeout: float = 60.0,
             interval: float = 0.005) -> None:
    """Wait until ``condition()`` is true; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(interval)


def stop_session(process: subprocess.Popen, grace_s: float = 20.0) -> None:
    """End a process started in its own session and every process of that session."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            wait_for(lambda: not session(process.pid), timeout=wait_s, interval=0.1)
            break
        except TimeoutError:
            continue
    process.wait(timeout=30)


def _dask(program: str, *args: str, cwd: Path, prefix: Sequence[str] = (),
          log: Path) -> subprocess.Popen:
    """``dask scheduler`` or ``dask worker`` in its own session, from directory ``cwd``."""
    command = [*prefix, sys.executable, "-m", f"distributed.cli.dask_{program}", *args]
    with open(log, "w") as out:
        return subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


@dataclass
class DaskProcesses:
    """A Dask scheduler's address and the processes of the scheduler and workers."""

    address: str
    processes: list[subprocess.Popen]
    logs: list[Path]


@contextmanager
def dask_processes(work: Path, n_workers: int, worker_cwd: Path,
                   worker_prefix: Sequence[str] = (), address: str | None = None
                   ) -> Iterator[DaskProcesses]:
    """A scheduler (unless ``address`` is given) and ``n_workers`` single-threaded workers
    (with nannies) started from ``worker_cwd``, ports chosen by the system; all ended after.

    ``worker_prefix`` runs the workers under another command (``unshare ...``).
    """
    work.mkdir(parents=True, exist_ok=True)
    started = DaskProcesses(address or "", [], [])
    try:
        if address is None:
            scheduler_file = work / "scheduler.json"
            started.logs.append(work / "scheduler.log")
            started.processes.append(_dask(
                "scheduler", "--scheduler-file", str(scheduler_file), "--port", "0",
                "--dashboard-address", ":0", "--idle-timeout", "900", cwd=work,
                log=started.logs[-1]))
            wait_for(scheduler_file.exists, START_TIMEOUT_S, 0.1)
            wait_for(lambda: scheduler_file.read_text().strip(), START_TIMEOUT_S, 0.1)
            started.address = json.loads(scheduler_file.read_text())["address"]
        started.logs.append(work / "workers.log")
        started.processes.append(_dask(
            "worker", started.address, "--nworkers", str(n_workers), "--nthreads", "1",
            "--no-dashboard", "--death-timeout", "120", cwd=worker_cwd, prefix=worker_prefix,
            log=started.logs[-1]))
        yield started
    finally:
        for process in reversed(started.processes):
            stop_session(process)

