"""SIGINT and SIGTERM: stop a command cleanly, and never lose the interrupt.

:func:`interrupt_signals` makes both signals raise KeyboardInterrupt and
remembers that one arrived; :func:`raise_if_interrupted` raises it again at
a safe point (the atomic output commit calls it) and :func:`interrupted`
tells the command that an error is the consequence of an interrupt. Both are
needed because the exception raised by a signal handler can be lost or
changed inside C extensions: PyTables' attribute reading swallows it, a
Polars call can turn it into an unrelated TypeError, and Polars (>= 1.22)
installs its own C-level SIGINT handler at import that keeps a SIGINT
arriving during a Polars call for Polars (pola-rs/polars#20961, #21739).

Work that no signal reaches (a task in a Dask worker's thread) can be stopped
at the same safe points by :func:`stop_when`: its check is asked there.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["interrupt_signals", "interrupted", "raise_if_interrupted", "stop_when"]

_received: list[int] = []
_local = threading.local()  # the check of stop_when, per thread


def _handler(signum: int, frame: object) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived during the last :func:`interrupt_signals` block."""
    return bool(_received)


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if SIGINT or SIGTERM arrived under :func:`interrupt_signals`,
    or the check of :func:`stop_when` in this thread says to stop."""
    check = getattr(_local, "check", None)
    if _received or (check is not None and check()):
        raise KeyboardInterrupt


@contextmanager
def stop_when(check: Callable[[], bool]) -> Iterator[None]:
    """Within the block, :func:`raise_if_interrupted` in this thread also raises when
    ``check()`` is true (e.g. the scheduler has cancelled the task)."""
    previous = getattr(_local, "check", None)
    _local.check = check
    try:
        yield
    finally:
        _local.check = previous


@contextmanager
def interrupt_signals() -> Iterator[None]:
    """Within the block, SIGINT (Ctrl-C) and SIGTERM (kill, batch systems) raise
    KeyboardInterrupt, and :func:`raise_if_interrupted` raises it again later.

    An ignored SIGINT (e.g. under ``nohup``) stays ignored. Outside the main
    thread nothing is changed.
    """
    import polars  # noqa: F401 - installs its SIGINT handler, replaced below

    del _received[:]
    handlers = {}
    previous_hook = sys.unraisablehook

    def unraisable(info) -> None:  # "Exception ignored in ...": the interrupt, known
        if not (_received and isinstance(info.exc_value, KeyboardInterrupt)):
            previous_hook(info)

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is signal.SIG_IGN:
                signal.signal(sig, signal.SIG_IGN)  # over Polars' C-level handler
            else:
                handlers[sig] = signal.signal(sig, _handler)
    except ValueError:  # not in the main thread
        yield
        return
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        for sig, previous in handlers.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        sys.unraisablehook = previous_hook
