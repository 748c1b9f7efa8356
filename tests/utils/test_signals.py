"""signals: SIGINT and SIGTERM sent for real to the test process (or to a child).

Each test runs with recording handlers of its own installed for both
signals, so that a signal that interrupt_signals failed to catch is
recorded rather than ending the test run; the handlers, the unraisable
hook and lmcoinc's interrupt state are restored afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from lmcoinc.utils.signals import (
    interrupt_signals,
    interrupted,
    raise_if_interrupted,
    stop_when,
)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def send_and_wait(sig: int, until=lambda: False, seconds: float = 2.0) -> None:
    """Send a signal to this process and give its handler time to run (in the main
    thread): until it raises, ``until()`` holds, or ``seconds`` have passed."""
    os.kill(os.getpid(), sig)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        time.sleep(0.002)


@pytest.fixture
def recorded():
    """Signals that reached the handlers installed before interrupt_signals."""
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    hook = sys.unraisablehook
    got: list[int] = []
    for sig in SIGNALS:
        signal.signal(sig, lambda signum, frame: got.append(signum))
    try:
        yield got
    finally:
        with interrupt_signals():  # clears the interrupt state for the next tests
            pass
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook


@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_raises_keyboard_interrupt(recorded, sig):
    before = {s: signal.getsignal(s) for s in SIGNALS}
    with interrupt_signals():
        assert not interrupted()
        raise_if_interrupted()  # nothing arrived: nothing raised
        with pytest.raises(KeyboardInterrupt):
            send_and_wait(sig)
        assert interrupted()
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    assert recorded == []
    assert {s: signal.getsignal(s) for s in SIGNALS} == before
    assert interrupted()  # known after the block, until the next one
    with pytest.raises(KeyboardInterrupt):
        raise_if_interrupted()
    send_and_wait(sig, until=lambda: recorded)  # the previous handler has it again
    assert recorded == [sig]


def test_interrupt_leaving_the_block_restores_handlers(recorded):
    before = {s: signal.getsignal(s) for s in SIGNALS}
    with pytest.raises(KeyboardInterrupt), interrupt_signals():
        send_and_wait(signal.SIGTERM)
        pytest.fail("not interrupted")  # pragma: no cover
    assert {s: signal.getsignal(s) for s in SIGNALS} == before
    with interrupt_signals():
        assert not interrupted()  # a new block starts afresh
    raise_if_interrupted()


def test_ignored_sigint_stays_ignored(recorded):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with interrupt_signals():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        send_and_wait(signal.SIGINT, seconds=0.2)
        assert not interrupted()
        with pytest.raises(KeyboardInterrupt):
            send_and_wait(signal.SIGTERM)
        assert interrupted()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert recorded == []


CHILD = textwrap.dedent(
    """
    import ctypes, os, signal, time
    libc = ctypes.CDLL(None, use_errno=True)

    def disposition():  # the sa_handler of the kernel's sigaction, a pointer, comes first
        buf = ctypes.create_string_buffer(256)
        assert libc.sigaction(signal.SIGINT, None, buf) == 0
        return ctypes.c_void_p.from_buffer(buf).value

    from lmcoinc.utils.signals import interrupt_signals, interrupted
    import polars  # installs a C-level SIGINT handler over the inherited SIG_IGN
    print("after polars", disposition() == signal.SIG_IGN.value)
    with interrupt_signals():
        print("inside", disposition() == signal.SIG_IGN.value)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.3)
        print("interrupted", interrupted())
    print("after", disposition() == signal.SIG_IGN.value)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads glibc's sigaction")
def test_sigint_ignored_at_start_stays_ignored_over_polars():
    """As under nohup: the process starts with SIGINT ignored; Polars' import
    installs its own handler; within the block SIGINT is ignored again."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the child
    try:
        child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                               timeout=60)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split("\n") == [
        "after polars False", "inside True", "interrupted False", "after True", ""
    ]


class _RaisesInDel:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __del__(self):
        raise self.exc


def test_unraisable_interrupt_is_silenced_only_after_an_interrupt(recorded):
    seen = []
    sys.unraisablehook = lambda info: seen.append(type(info.exc_value))
    with interrupt_signals():
        _RaisesInDel(KeyboardInterrupt())  # no interrupt yet: reported
        with pytest.raises(KeyboardInterrupt):
            send_and_wait(signal.SIGINT)
        _RaisesInDel(KeyboardInterrupt())  # the known interrupt: silenced
        _RaisesInDel(ValueError())  # anything else: reported
    _RaisesInDel(KeyboardInterrupt())  # the previous hook is back
    assert seen == [KeyboardInterrupt, ValueError, KeyboardInterrupt]


def test_outside_the_main_thread_nothing_changes(recorded):
    before = {s: signal.getsignal(s) for s in SIGNALS}
    hook = sys.unraisablehook
    inside = {}

    def run():
        with interrupt_signals():
            inside["handlers"] = {s: signal.getsignal(s) for s in SIGNALS}
            inside["hook"] = sys.unraisablehook

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert inside == {"handlers": before, "hook": hook}



def test_stop_when_asks_its_check_in_its_thread_only():
    """A task no signal reaches (a Dask worker's thread) stops at the safe points when its
    check says so; other threads and the code after the block do not."""
    stop = threading.Event()
    seen: dict[str, object] = {}

    def task() -> None:
        with stop_when(stop.is_set):
            raise_if_interrupted()  # not yet
            stop.set()
            try:
                raise_if_interrupted()
            except KeyboardInterrupt:
                seen["stopped"] = True
        raise_if_interrupted()  # the check has gone with the block
        seen["after"] = True

    thread = threading.Thread(target=task)
    thread.start()
    thread.join()
    assert seen == {"stopped": True, "after": True}
    assert stop.is_set()
    raise_if_interrupted()  # this thread has no check
    assert not interrupted()
