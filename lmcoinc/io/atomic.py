"""Atomic outputs: written under temporary names, renamed into place when complete.

A failure or an interruption leaves no partial file and keeps an earlier
complete one. :func:`atomic_file` writes one file, :func:`atomic_outputs`
several that appear together or not at all.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputError

__all__ = [
    "atomic_file",
    "atomic_outputs",
    "is_write_error",
    "remove_temporaries",
    "write_error_text",
]

_ERRNO_TEXT = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (file size limit)",
    errno.EIO: "input/output error",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
}
_OS_ERROR = re.compile(r"(?:os error|errno\s*=)\s*(\d+)")


def _error_number(err: BaseException) -> int | None:
    number = getattr(err, "errno", None)
    if number is None:
        found = _OS_ERROR.search(str(err))
        number = int(found[1]) if found else None
    return number


def is_write_error(err: BaseException) -> bool:
    """Whether an error is the operating system's (an ``OSError``, or quoted by a library)."""
    return isinstance(err, OSError) or _error_number(err) is not None


def write_error_text(err: BaseException) -> str:
    """What went wrong in a failed write, in words ("no space left on device").

    Understands ``OSError`` and the errors of libraries that quote the
    operating system's error number (polars: "... (os error 28)").
    """
    number = _error_number(err)
    if number in _ERRNO_TEXT:
        return _ERRNO_TEXT[number]
    if number is not None:
        return os.strerror(number).lower()
    text = str(err).strip().splitlines()
    return text[0][:160] if text else type(err).__name__


def _temp_name(final: Path, token: str) -> Path:
    return final.with_name(f".{final.name}.{token}.tmp")


#: Names of the temporary files and the backups of the commit (``.<name>.<token>.tmp|bak``).
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.(?:tmp|bak)$")


def remove_temporaries(directory: str | Path) -> list[Path]:
    """Remove the temporary files that writers killed with SIGKILL left under ``directory``.

    Only safe when no writer can be running there (``lmcoinc batch`` calls it
    holding the lock of its output directory). Returns the files removed.
    """
    removed = []
    for parent, _, names in os.walk(directory):
        for name in names:
            if _TEMPORARY.match(name):
                path = Path(parent) / name
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


@contextmanager
def atomic_file(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` on success.

    Raises
    ------
    OutputError
        If the file cannot be written or renamed (the message names the file
        and the cause).
    """
    final = Path(final)
    temp = _temp_name(final, uuid.uuid4().hex[:8])
    try:
        yield temp
        os.replace(temp, final)
    except OutputError:
        raise
    except Exception as err:
        if not is_write_error(err):
            raise
        raise OutputError(f"{final}: cannot write ({write_error_text(err)})") from None
    finally:
        temp.unlink(missing_ok=True)


@contextmanager
def atomic_outputs(finals: dict[str, Path]) -> Iterator[dict[str, Path]]:
    """Yield temporary paths for ``finals``; rename them all into place on success.

    The directories of ``finals`` are created if needed. On any exception
    (including KeyboardInterrupt) the temporary files are removed and the
    final paths are left untouched.
    """
    token = uuid.uuid4().hex[:8]
    temps = {key: _temp_name(path, token) for key, path in finals.items()}
    for directory in {path.parent for path in finals.values()}:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"{directory}: cannot create ({write_error_text(err)})") from None
    committed = False
    try:
        yield temps
        _commit(temps, finals)
        committed = True  # every temporary file renamed: none is left to remove
    finally:
        if not committed:
            for temp in temps.values():
                temp.unlink(missing_ok=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM at the OS level; they are delivered on exit."""
    hold = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, hold)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _commit(temps: dict[str, Path], finals: dict[str, Path]) -> None:
    """Rename the temporary files into place, all or none.

    SIGINT and SIGTERM are held during the renames (an interrupt arriving
    then takes effect once all outputs are complete); one that arrived
    before stops the commit (:func:`lmcoinc.utils.signals.raise_if_interrupted`).
    If a rename fails, or an interrupt received just before still fires,
    the renames done are undone: earlier outputs come back from hard-link
    backups, new ones are removed.
    """
    from ..utils.signals import raise_if_interrupted

    with _signals_held():
        backups: dict[str, Path] = {}
        done: list[str] = []
        try:
            raise_if_interrupted()  # an interrupt that an extension module swallowed
            for key, final in finals.items():
                if os.path.lexists(final):
                    backup = temps[key].with_suffix(".bak")
                    try:
                        os.link(final, backup)
                    except OSError:  # no hard links on this file system
                        shutil.copy2(final, backup)
                    backups[key] = backup
            for key, temp in temps.items():
                os.replace(temp, finals[key])
                done.append(key)
        except BaseException as err:
            for key in reversed(done):
                if key in backups:
                    os.replace(backups.pop(key), finals[key])
                else:
                    finals[key].unlink(missing_ok=True)
            if isinstance(err, OSError):
                raise OutputError(
                    f"{next(iter(finals.values())).parent}: cannot rename the outputs into place "
                    f"({write_error_text(err)})"
                ) from None
            raise
        finally:
            for backup in backups.values():
                backup.unlink(missing_ok=True)
