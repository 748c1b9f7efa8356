"""Jobs for worker processes in tests: top-level, so that spawned workers can unpickle them."""

from __future__ import annotations

import os
import signal
import time

#: A job of this value makes its worker kill itself with SIGKILL.
KILL = -9
#: A job of this value raises in its worker.
RAISE = -1
#: A job of this value sleeps this many seconds first.
SLOW = 60


def square(job: int) -> tuple[int, int, int]:
    """(job, job², the worker's pid); the special jobs above act as they say."""
    if job == KILL:
        os.kill(os.getpid(), signal.SIGKILL)
    if job == RAISE:
        raise ValueError("a job that fails")
    if job == SLOW:
        time.sleep(SLOW)
    return job, job * job, os.getpid()


def pid(job: int) -> int:
    """The worker's pid."""
    return os.getpid()


def started(job: float) -> tuple[float, float, int]:
    """Sleeps ``job`` seconds: (job, the time it started, the worker's pid)."""
    start = time.monotonic()
    time.sleep(job)
    return job, start, os.getpid()


def malloc_conf(job: int) -> str | None:
    """The worker's configuration of polars' allocator."""
    from lmcoinc.utils.memory import MALLOC_CONF

    return os.environ.get(MALLOC_CONF)
