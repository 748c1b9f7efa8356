"""The warnings of one piece of work (a subrun of a batch), named after it and collected.

Within :func:`named_warnings`, every warning logged by lmcoinc in the calling
thread, and every Python warning (``warnings.warn``: numpy, astropy, PyTables),
is told with the name of the work in front (``dl1_LST-1.Run03265.0040.h5:
...``) and kept in a list: a worker process or a Dask worker sends the list
back to the batch, whose log then says it. Records of other threads (the
other tasks of a multi-threaded Dask worker) are left alone.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["named_warnings"]

#: The loggers whose warnings are named: lmcoinc's and Python's warnings.
LOGGERS = ("lmcoinc", "py.warnings")


def _show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """``warnings.showwarning``: a Python warning as a log record of ``py.warnings``."""
    logging.getLogger("py.warnings").warning("%s: %s (%s:%s)", category.__name__, message,
                                             filename, lineno)


class _Naming(logging.Handler):
    """Puts the name in front of the warnings of one thread, and keeps them."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.WARNING)
        self.name_, self.thread = name, threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        text = " ".join(record.getMessage().split())  # one line
        if self.name_ not in text:
            text = f"{self.name_}: {text}"
        record.msg, record.args = text, None  # the handlers after this one tell it so
        self.messages.append(text)


@contextmanager
def named_warnings(name: str) -> Iterator[list[str]]:
    """Within the block, the warnings of this thread start with ``name`` and are collected
    in the list it gives (in order, each on one line)."""
    handler = _Naming(name)
    loggers = [logging.getLogger(n) for n in LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            # stateless: a thread that restores another's is harmless (not thread-safe)
            warnings.showwarning = _show
            yield handler.messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
