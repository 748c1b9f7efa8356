"""The command-line application: its options, error handling and console entry point.

Every command ends an error with one line ``lmcoinc: error: ...`` and the
exit code of :func:`lmcoinc.errors.exit_code`; the commands themselves are
in :mod:`.coincidence` (run, batch) and :mod:`.tools` (the others).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import EXIT_CODES, LmcoincError, exit_code, one_line
from ..signals import interrupt_signals, interrupted, raise_if_interrupted

__all__ = [
    "CONFIG_HELP",
    "EXIT_HELP",
    "ConfigOption",
    "DebugOption",
    "LstTimestamp",
    "ReportOption",
    "VerboseOption",
    "app",
    "errors_as_exit_codes",
    "exit_now_if_console",
    "fail",
    "main",
    "setup_logging",
    "write_report",
]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Offline coincidence of LST-1 and MAGIC events from DL1 HDF5 files.",
)

EXIT_HELP = "Exit codes:\n" + "\n".join(
    f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items()
)

CONFIG_HELP = "YAML config (default: the built-in one)."


class LstTimestamp(str, Enum):
    """The LST-1 timestamp columns."""

    dragon_time = "dragon_time"
    tib_time = "tib_time"
    ucts_time = "ucts_time"


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
        force=True,
    )
    # PyTables' numexpr announces its thread count at INFO level: not lmcoinc's news
    logging.getLogger("numexpr").setLevel(logging.WARNING)


def fail(err: BaseException) -> typer.Exit:
    """Print the one-line ``lmcoinc: error: ...`` message of an error; its exit code.

    After SIGINT or SIGTERM any error is taken for the interrupt (an extension
    module may have turned the KeyboardInterrupt into another exception).
    """
    if isinstance(err, KeyboardInterrupt) or interrupted():
        if _CONSOLE:  # cleaned up, ending: a second signal must not change the exit code
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
        print("lmcoinc: error: interrupted; no partial output left", file=sys.stderr)
        return typer.Exit(exit_code(KeyboardInterrupt()))
    if isinstance(err, LmcoincError):
        print(f"lmcoinc: error: {one_line(err, limit=10_000)}", file=sys.stderr)
        return typer.Exit(exit_code(err))
    print(
        f"lmcoinc: error: internal error {type(err).__name__}: {one_line(err)} "
        "(a bug: please report it; --debug shows the traceback)",
        file=sys.stderr,
    )
    return typer.Exit(1)


@contextmanager
def errors_as_exit_codes(debug: bool) -> Iterator[None]:
    """Within a command: SIGINT/SIGTERM interrupt it, errors end it with one line and a code."""
    try:
        with interrupt_signals():
            yield
            raise_if_interrupted()  # one that an extension swallowed is not lost
    except typer.Exit:
        raise
    except (Exception, KeyboardInterrupt) as err:
        if debug:
            raise
        raise fail(err) from None


_CONSOLE = False


def exit_now_if_console() -> None:
    """End a successful console run without the interpreter's teardown.

    Every file is closed and renamed by now; tearing down polars, numpy and
    PyTables and freeing the tables costs ~0.15 s, a sixth of a 10 s
    subrun's run. Only from the console entry points (``main``), never when
    the app is called in-process (tests, other programs).
    """
    if _CONSOLE:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def main() -> None:  # pragma: no cover - console entry
    """Console entry point (``lmcoinc``, ``python -m lmcoinc``)."""
    global _CONSOLE
    _CONSOLE = True
    # polars' allocator (jemalloc, read before polars is imported) keeps freed pages for
    # seconds: returned at once, the resident memory of a merged run or of a batch's
    # parent is that of the data held (measured: no cost in CPU time)
    os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
    app(prog_name="lmcoinc")


ConfigOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option("--config-file", "-c", help=CONFIG_HELP),
]

VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")]

DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")]

ReportOption = Annotated[
    bool, typer.Option("--report", help="Then write OUTPUT_DIR/report/ (see lmcoinc report).")
]


def write_report(output_dir: Path) -> None:
    from ..report import make_report

    typer.echo(f"report: {make_report(output_dir)}")
