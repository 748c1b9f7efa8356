"""A worker's inbox: jobs in order, read as they come, the end of the parent told."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

from lmcoinc.batch.inbox import Inbox


def test_jobs_come_in_order_and_the_parent_gone_is_told():
    parent, child = multiprocessing.Pipe()
    inbox = Inbox(child)
    jobs = [("f", 1), None, {"a": np.arange(3)}]
    for job in jobs:
        parent.send(job)
    got = [inbox.get() for _ in jobs]
    assert got[:2] == jobs[:2] and np.array_equal(got[2]["a"], jobs[2]["a"])
    parent.close()
    with pytest.raises(EOFError):
        inbox.get()


def test_the_sender_never_waits_for_the_worker_to_ask():
    """Messages larger than a pipe holds are read off it at once: sending them returns
    while the worker's main thread has asked for none (it runs a job)."""
    parent, child = multiprocessing.Pipe()
    inbox = Inbox(child)
    big = np.zeros(2**20)  # 8 MB, far beyond a pipe's buffer
    sent = threading.Event()

    def send():
        parent.send(big)
        parent.send(big)
        sent.set()

    threading.Thread(target=send, daemon=True).start()
    assert sent.wait(timeout=30)  # both sent before a get()
    assert all(np.array_equal(inbox.get(), big) for _ in range(2))
