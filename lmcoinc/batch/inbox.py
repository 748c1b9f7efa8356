"""The jobs a batch worker receives, read by a thread as they come.

The parent sends a worker its next job while the worker runs one
(:data:`lmcoinc.batch.workers.AHEAD`); a thread of the worker reads each job
off the pipe as it arrives, so that neither side ever blocks on a full pipe
(the parent sending a job, the worker a large result), and the worker's main
thread takes them in order, unpickled there.
"""

from __future__ import annotations

import queue
import threading
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

__all__ = ["Inbox"]


class Inbox:
    """The jobs received on ``conn``, read by a thread as they come and unpickled by
    :meth:`get`, in the caller's thread."""

    def __init__(self, conn: Connection) -> None:
        self._received: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._read, args=(conn,), daemon=True,
                                        name="lmcoinc-inbox")
        self._thread.start()

    def _read(self, conn: Connection) -> None:
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError) as err:  # the parent is gone
                self._received.put(err)
                return
            self._received.put(data)

    def get(self) -> Any:
        """The next job (None: stop); EOFError or OSError once the parent is gone."""
        data = self._received.get()
        if isinstance(data, BaseException):
            raise data
        return ForkingPickler.loads(data)
