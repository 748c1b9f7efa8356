"""Atomic outputs: after an error, Ctrl-C (SIGINT) or kill (SIGTERM) no output of
the subrun exists, and an earlier complete output is kept unchanged."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmcoinc.errors import OutputError
from lmcoinc.io import atomic
from lmcoinc.io.atomic import atomic_file, atomic_outputs, write_error_text
from lmcoinc.io.output import output_names

from ..helpers.badinputs import copy_good, run_cli
from ..helpers.compare import snapshot


def _finals(directory: Path) -> dict[str, Path]:
    return output_names(Path("dl1_LST-1.Run03265.0040.h5"), directory)


def _write_old(finals: dict[str, Path]) -> dict[str, bytes]:
    finals["hdf5"].parent.mkdir(parents=True, exist_ok=True)
    for key, path in finals.items():
        path.write_bytes(f"old {key}".encode())
    return {p.name: p.read_bytes() for p in finals.values()}


# --- the atomic commit, in process -------------------------------------------------


def test_success_replaces_all(tmp_path):
    finals = _finals(tmp_path)
    _write_old(finals)
    with atomic_outputs(finals) as temps:
        for key, path in temps.items():
            path.write_bytes(f"new {key}".encode())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in finals.values())
    assert all(p.read_bytes().startswith(b"new") for p in finals.values())


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failure_while_writing_keeps_old(tmp_path, exc):
    finals = _finals(tmp_path)
    old = _write_old(finals)
    with pytest.raises(type(exc)), atomic_outputs(finals) as temps:
        temps["hdf5"].write_bytes(b"partial")
        raise exc
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old


def test_failure_without_earlier_output_leaves_nothing(tmp_path):
    finals = _finals(tmp_path / "out")
    with pytest.raises(KeyboardInterrupt), atomic_outputs(finals) as temps:
        temps["hdf5"].write_bytes(b"partial")
        raise KeyboardInterrupt
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
@pytest.mark.parametrize("old_exists", [True, False])
def test_failure_between_renames_is_rolled_back(tmp_path, monkeypatch, exc, old_exists):
    """A rename failing, or an interrupt firing, half-way through the renames."""
    finals = _finals(tmp_path)
    old = _write_old(finals) if old_exists else {}
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 3 and str(src).endswith(".tmp"):
            raise exc
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    expected = OutputError if isinstance(exc, OSError) else KeyboardInterrupt
    with pytest.raises(expected), atomic_outputs(finals) as temps:
        for key, path in temps.items():
            path.write_bytes(f"new {key}".encode())
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old


@pytest.mark.parametrize(("err", "text"), [
    (OSError(28, "No space left on device"), "no space left on device"),
    (OSError(122, "Disk quota exceeded"), "disk quota exceeded"),
    (OSError(5, "Input/output error"), "input/output error"),
    (OSError(27, "File too large"), "file too large (file size limit)"),
    (RuntimeError("parquet: Os { code: 28 } No space left on device (os error 28)"),
     "no space left on device"),
    (RuntimeError("HDF5 file write failed: errno = 122, error message = '...'"),
     "disk quota exceeded"),
])
def test_write_error_text(err, text):
    assert write_error_text(err) == text


def test_atomic_file(tmp_path):
    final = tmp_path / "a.txt"
    final.write_text("old")
    with pytest.raises(OutputError, match=r"a\.txt: cannot write \(no space left on device\)"):
        with atomic_file(final) as temp:
            temp.write_text("partial")
            raise RuntimeError("write failed (os error 28)")
    with pytest.raises(ValueError), atomic_file(final) as temp:  # not a write error: as it is
        temp.write_text("partial")
        raise ValueError("bug")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"] and final.read_text() == "old"
    with atomic_file(final) as temp:
        temp.write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"] and final.read_text() == "new"


# --- real signals to a running `lmcoinc run` ---------------------------------------


def _open_temp(pid: int, directory: Path) -> bool:
    """Whether the process has a temporary output file in ``directory`` open.

    Such a file is open only while an output is written (the HDF5 file from
    memory, then the Parquet files), before the final renames.
    """
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        targets = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
    except OSError:
        return False
    return any(t.startswith(f"{directory}/.") and t.endswith(".tmp") for t in targets)


def _stopped(pid: int, timeout: float = 2.0) -> bool:
    """Wait until the process is in the stopped state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state in "Tt":
            return True
    return False


def _interrupt_while_writing(run, sig: int, earlier: bool, attempts: int = 30):
    """Run ``lmcoinc`` and send ``sig`` while it writes a temporary output file.

    The process is stopped (SIGSTOP) as soon as it holds a temporary file of
    the output directory open, i.e. while writing and before the final
    renames; if it still does once stopped, it gets ``sig`` and is resumed.
    Returns the exit code, stdout, stderr and the output directory before.
    """
    for _ in range(attempts):
        if earlier and not any(run.out.glob("*.h5")):
            assert run_cli(run).returncode == 0
        elif not earlier:  # an attempt that ran to its end left outputs
            shutil.rmtree(run.out, ignore_errors=True)
        before = snapshot(run.out) if earlier else {}
        proc = subprocess.Popen(
            [sys.executable, "-m", "lmcoinc", *run.argv()],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        sent = False
        while proc.poll() is None:
            if _open_temp(proc.pid, run.out):
                os.kill(proc.pid, signal.SIGSTOP)
                if _stopped(proc.pid) and _open_temp(proc.pid, run.out):
                    os.kill(proc.pid, sig)
                    sent = True
                os.kill(proc.pid, signal.SIGCONT)
                if sent:
                    break
        stdout, stderr = proc.communicate(timeout=120)
        if sent:
            return proc.returncode, stdout, stderr, before
        time.sleep(0.05)  # finished before the signal could be sent: try again
    pytest.skip("could not catch the process while writing")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("earlier", [True, False], ids=["earlier_output", "no_earlier_output"])
def test_signal_while_writing(good, tmp_path, sig, earlier):
    run = copy_good(good, tmp_path)
    code, stdout, stderr, before = _interrupt_while_writing(run, sig, earlier)
    assert code == 130, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("lmcoinc: error:")]
    assert errors == ["lmcoinc: error: interrupted; no partial output left"]
    assert stdout == ""
    # no temporary file left; the earlier output (if any) untouched, file by file
    assert snapshot(run.out) == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_computing(good, tmp_path, sig):
    """Interrupted before writing (here: while reading), no output at all."""
    run = copy_good(good, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmcoinc", *run.argv()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # the output directory is created (and checked) before the inputs are read
    deadline = time.monotonic() + 60
    while not run.out.is_dir() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(proc.pid, sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "lmcoinc: error: interrupted; no partial output left"
    assert list(run.out.iterdir()) == []
