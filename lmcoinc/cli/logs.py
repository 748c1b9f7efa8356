"""The logging options of every command: ``-v``, ``-q``, ``--log-level``, ``--log-file``.

Log lines go to stderr with their level (``WARNING: ...``); results go to stdout.
Each command has a default level (``run``: INFO, ``batch``: WARNING, since
its subruns' INFO lines would flood a night); each ``-v`` lowers it by one
step (INFO → DEBUG), each ``-q`` raises it (WARNING → ERROR), and
``--log-level`` sets it outright. The level applies to lmcoinc's own
loggers; other libraries log their warnings, and everything when ``-v`` is
given once more than DEBUG needs.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import OutputError, exit_code

__all__ = ["LEVELS", "LogLevel", "command_level", "logging_options", "setup_logging"]

#: The levels -v and -q step through, most verbose first.
LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)
#: Format of the lines on stderr and in the log file.
CONSOLE_FORMAT = "%(levelname)s: %(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogLevel(str, Enum):
    """The values of ``--log-level``."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


def command_level(default: int, verbose: int = 0, quiet: int = 0,
                  log_level: str | None = None) -> tuple[int, bool]:
    """The level of lmcoinc's loggers, and whether other libraries log at it too.

    Parameters
    ----------
    default : int
        The command's level without options (a level of :data:`LEVELS`).
    verbose, quiet : int
        How often ``-v`` and ``-q`` were given.
    log_level : str, optional
        ``--log-level``: overrides both.
    """
    if log_level is not None:
        return logging.getLevelName(log_level.upper()), False
    step = LEVELS.index(default) - verbose + quiet
    return LEVELS[min(max(step, 0), len(LEVELS) - 1)], step < 0


def setup_logging(level: int, everything: bool = False, log_file: Path | None = None) -> None:
    """Log lmcoinc's records at ``level`` to stderr (and ``log_file``), with their level.

    Other libraries log their warnings (their records at ``level`` too when
    ``everything``). PyTables' numexpr, which announces its thread count at
    INFO, logs warnings only in any case.

    Raises
    ------
    OutputError
        If the log file cannot be opened.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers[0].setFormatter(logging.Formatter(CONSOLE_FORMAT))
    if log_file is not None:
        try:
            handlers.append(logging.FileHandler(log_file, mode="a", encoding="utf-8"))
        except OSError as err:
            raise OutputError(f"{log_file}: cannot write the log ({err.strerror})") from None
        handlers[1].setFormatter(logging.Formatter(FILE_FORMAT))
    logging.basicConfig(level=level if everything else max(level, logging.WARNING),
                        handlers=handlers, force=True)
    logging.getLogger("lmcoinc").setLevel(level)
    logging.getLogger("numexpr").setLevel(logging.WARNING)


Verbose = Annotated[int, typer.Option(
    "--verbose", "-v", count=True, show_default=False,
    help="More log lines: -v one level down (INFO → DEBUG), -vv other libraries' too.")]
Quiet = Annotated[int, typer.Option(
    "--quiet", "-q", count=True, show_default=False,
    help="Fewer log lines: -q one level up (INFO → WARNING).")]
Level = Annotated[Optional[LogLevel], typer.Option(  # noqa: UP045 - typer on Python 3.10
    "--log-level", case_sensitive=False, help="Log level (overrides -v and -q).")]
LogFile = Annotated[Optional[Path], typer.Option(  # noqa: UP045
    "--log-file", help="Also write the log lines, with times, to this file (appended).")]

_OPTIONS = {"verbose": (Verbose, 0), "quiet": (Quiet, 0), "log_level": (Level, None),
            "log_file": (LogFile, None)}


def logging_options(default: int = logging.INFO) -> Callable[[Callable], Callable]:
    """Give a command the logging options; they set up logging before it runs.

    The command's own parameters stay as they are: the options are added to
    its signature (which Typer reads) and consumed by the wrapper.
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value,
                                   annotation=annotation)
                 for name, (annotation, value) in _OPTIONS.items()]
        parameters = [*signature.parameters.values(), *added]

        @functools.wraps(command)
        def wrapper(*args: Any, verbose: int = 0, quiet: int = 0,
                    log_level: LogLevel | None = None, log_file: Path | None = None,
                    **kwargs: Any) -> Any:
            level, everything = command_level(
                default, verbose, quiet, None if log_level is None else log_level.value)
            try:
                setup_logging(level, everything, log_file)
            except OutputError as err:
                print(f"lmcoinc: error: {err}", file=sys.stderr)
                raise typer.Exit(exit_code(err)) from None
            return command(*args, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate
