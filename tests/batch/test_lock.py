"""The lock of a batch output directory: one batch at a time, a stale lock taken over."""

from __future__ import annotations

import json
import logging
import os
import socket

import pytest

from lmcoinc.batch.lock import LOCK_NAME, output_lock
from lmcoinc.batch.records import STATE_DIR
from lmcoinc.errors import BatchLockedError, OutputError, exit_code


def _holder(out):
    text = (out / STATE_DIR / LOCK_NAME).read_text()
    return json.loads(text) if text else {}


def test_held_then_released(tmp_path):
    with output_lock(tmp_path):
        holder = _holder(tmp_path)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        assert holder["started"]
    assert _holder(tmp_path) == {}  # released in order: an empty lock file
    with output_lock(tmp_path):  # and free again
        pass


def test_second_lock_fails_naming_the_first(tmp_path, caplog):
    with output_lock(tmp_path):
        started = _holder(tmp_path)["started"]
        with pytest.raises(BatchLockedError) as err, output_lock(tmp_path):
            pass
        assert _holder(tmp_path)["pid"] == os.getpid()  # the holder's lock is untouched
    assert str(err.value) == (
        f"{tmp_path}: in use by another lmcoinc batch (pid {os.getpid()} on host "
        f"{socket.gethostname()}, started {started}); wait for it to end or use another "
        "output directory")
    assert exit_code(err.value) == 17
    assert not caplog.records


def test_stale_lock_is_taken_over_with_a_warning(tmp_path, caplog):
    lock = tmp_path / STATE_DIR / LOCK_NAME
    lock.parent.mkdir()
    lock.write_text(json.dumps({"pid": 4242, "host": "gone", "started": "2024-01-01 00:00:00"}))
    with caplog.at_level(logging.WARNING), output_lock(tmp_path):
        assert _holder(tmp_path)["pid"] == os.getpid()
    (record,) = caplog.records
    assert record.getMessage() == (
        f"{lock}: taking over the lock of a batch that has ended without releasing it "
        "(pid 4242 on host gone, started 2024-01-01 00:00:00)")
    caplog.clear()
    lock.write_text("not json")  # unreadable: nobody to name, nothing to warn about
    with output_lock(tmp_path):
        pass
    assert not caplog.records


def test_lock_cannot_be_created(tmp_path):
    out = tmp_path / "file"
    out.write_text("")
    with pytest.raises(OutputError, match=f"{out / STATE_DIR / LOCK_NAME}: cannot create the lock"):
        with output_lock(out):
            pass
