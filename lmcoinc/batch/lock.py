"""The lock of a batch's output directory: one ``lmcoinc batch`` at a time on it.

``OUT/.lmcoinc/lock`` is locked with ``fcntl.flock`` while a batch runs and
names the batch (pid, host, start time) for the message of a second one.
The kernel releases the lock when its process ends, however it ends, so a
lock file still naming a batch but not locked is stale (that batch was
killed, or its machine went down): it is taken over with a warning. NFS
(v4, or v3 with its lock daemon) carries the lock between machines.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ..errors import BatchLockedError, OutputError
from ..io.atomic import write_error_text
from .records import STATE_DIR

__all__ = ["LOCK_NAME", "output_lock"]

log = logging.getLogger(__name__)

#: The lock file, under ``OUT/.lmcoinc/``.
LOCK_NAME = "lock"
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL)


def _holder(fd: int) -> dict:
    """The batch named in the lock file ({} if none or unreadable)."""
    try:
        text = os.pread(fd, 4096, 0).decode()
        found = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _describe(holder: dict) -> str:
    if not holder:
        return "pid and host unknown"
    return (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, "
            f"started {holder.get('started', '?')}")


@contextmanager
def output_lock(output_dir: Path) -> Iterator[None]:
    """Hold the lock of a batch output directory for the duration of the block.

    Raises
    ------
    BatchLockedError
        If another batch holds it (the message names its pid and host).
    OutputError
        If the lock file cannot be created or written.
    """
    path = Path(output_dir) / STATE_DIR / LOCK_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise OutputError(f"{path}: cannot create the lock ({write_error_text(err)})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchLockedError(
                f"{output_dir}: in use by another lmcoinc batch ({_describe(_holder(fd))}); "
                "wait for it to end or use another output directory"
            ) from None
        except OSError as err:
            if err.errno not in _NO_LOCKS:
                raise OutputError(f"{path}: cannot lock ({write_error_text(err)})") from None
            log.warning("%s: the file system has no locks; a second batch on %s would not be "
                        "noticed", path, output_dir)
        stale = _holder(fd)
        if stale:
            log.warning("%s: taking over the lock of a batch that has ended without releasing it "
                        "(%s)", path, _describe(stale))
        _write_holder(fd, path)
        try:
            yield
        finally:
            with suppress(OSError):  # an empty lock file: released in order
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _write_holder(fd: int, path: Path) -> None:
    holder = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
    except OSError as err:
        raise OutputError(f"{path}: cannot write the lock ({write_error_text(err)})") from None
