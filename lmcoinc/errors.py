"""Errors of lmcoinc and, in one place, the exit codes of every command.

Readers and writers raise errors that say what is wrong with which file and
know nothing of exit codes; the commands map them with :func:`exit_code`.
Codes 3, 7 and 11 are those of magic-cta-pipe's coincidence script; the
others are lmcoinc's own. Every message is one line that names the file or
config key at fault.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERRUPTED",
    "EXIT_SUBRUNS_FAILED",
    "BatchLockedError",
    "ConfigError",
    "InvalidFileError",
    "LmcoincError",
    "LstInputError",
    "MagicInputError",
    "MissingPackageError",
    "NoCoincidenceError",
    "NoMagicEventsError",
    "OutputError",
    "ReportInputError",
    "SchedulerError",
    "TooManyMultiMatchesError",
    "exit_code",
    "input_roles",
    "one_line",
]


class LmcoincError(Exception):
    """Base class of the errors a user can cause: a one-line message."""


class NoCoincidenceError(LmcoincError):
    """No coincident event for any MAGIC telescope (also: no time overlap)."""


class NoMagicEventsError(LmcoincError):
    """The MAGIC files hold no event."""


class TooManyMultiMatchesError(LmcoincError):
    """More than 5 telescope images matched to one stereo event."""


class ConfigError(LmcoincError):
    """The configuration file is missing, unreadable or invalid."""


class InvalidFileError(LmcoincError):
    """An input file is missing, unreadable, corrupt or not of the expected kind.

    Parameters
    ----------
    path : path
        The file (or directory) at fault.
    problem : str
        What is wrong with it; the message is ``"<path>: <problem>"``.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


class LstInputError(InvalidFileError):
    """:class:`InvalidFileError` of the LST-1 input of a coincidence."""


class MagicInputError(InvalidFileError):
    """:class:`InvalidFileError` of the MAGIC input of a coincidence."""


class ReportInputError(InvalidFileError):
    """The directory given to ``lmcoinc report``, or the file given to ``lmcoinc info``,
    holds no readable lmcoinc output."""


class OutputError(LmcoincError):
    """The output cannot be written."""


class BatchLockedError(LmcoincError):
    """Another ``lmcoinc batch`` is running on the output directory."""


class SchedulerError(LmcoincError):
    """The Dask scheduler or cluster cannot be used (not installed, not reachable, workers
    that cannot run the tasks or do not see the directories)."""


class MissingPackageError(LmcoincError, ImportError):
    """An optional package that a command needs is not installed (an ``lmcoinc`` extra)."""


#: Exit code of ``lmcoinc batch`` when at least one subrun failed.
EXIT_SUBRUNS_FAILED = 4
#: Exit code after Ctrl-C or SIGTERM.
EXIT_INTERRUPTED = 130

_CODES: dict[type[BaseException], int] = {
    SchedulerError: 2,
    MissingPackageError: 2,
    NoCoincidenceError: 3,
    NoMagicEventsError: 7,
    TooManyMultiMatchesError: 11,
    ConfigError: 12,
    InvalidFileError: 13,
    MagicInputError: 14,
    OutputError: 15,
    ReportInputError: 16,
    BatchLockedError: 17,
    KeyboardInterrupt: EXIT_INTERRUPTED,
}

#: Exit code → meaning, as listed in the README and the commands' help.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected internal error (a bug: please report it)",
    2: "usage error, a missing optional package, or the Dask scheduler or cluster cannot be "
       "used (its workers do not see the directories, ...)",
    3: "no coincident events, or no time overlap of LST-1 and MAGIC data",
    EXIT_SUBRUNS_FAILED: "batch: at least one subrun failed (see the summary)",
    7: "no MAGIC events in the MAGIC files",
    11: "too many multiply-matched events (more than 5)",
    12: "invalid config file (missing, not YAML, missing or invalid key)",
    13: "invalid LST-1 file (missing, not HDF5, corrupt, wrong content)",
    14: "invalid MAGIC directory or file (idem), or MAGIC subarrays differ",
    15: "output cannot be written (no space left on device, quota, I/O error, ...)",
    16: "report, info: the directory or file holds no readable lmcoinc output",
    17: "batch: the output directory is in use by another lmcoinc batch (pid, host named)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGTERM); no partial output left",
}


def exit_code(err: BaseException) -> int:
    """The exit code of a command that ends with ``err`` (1: an internal error)."""
    for cls in type(err).__mro__:
        if cls in _CODES:
            return _CODES[cls]
    return 1


@contextmanager
def input_roles(roles: Mapping[str | Path, type[InvalidFileError]]) -> Iterator[None]:
    """Within the block, an :class:`InvalidFileError` takes the role of its file.

    The command decides what each input is (the LST-1 file, the MAGIC
    directory: ``{lst_file: LstInputError, magic_dir: MagicInputError}``);
    the readers it calls do not need to know. An error about a path that
    is a key, or lies under a key that is a directory, becomes an error of
    that key's type.
    """
    try:
        yield
    except InvalidFileError as err:
        if type(err) is InvalidFileError:
            for where, role in roles.items():
                where = Path(where)
                if err.path == where or where in err.path.parents:
                    raise role(err.path, err.problem) from None
        raise


def one_line(err: BaseException | str, limit: int = 300) -> str:
    """The message of an error (or a text) on one line, at most ``limit`` characters."""
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    if not text and isinstance(err, BaseException):
        text = type(err).__name__
    return text[:limit]
