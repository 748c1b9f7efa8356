"""The command-line application: its options, error handling and console entry point.

Every command ends an error with one line ``lmcoinc: error: ...`` and the
exit code of :func:`lmcoinc.errors.exit_code`, usage errors included (exit
code 2); the commands themselves are in :mod:`.coincidence` (run, batch) and
:mod:`.tools` (the others), their logging options in :mod:`.logs`.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import click
import typer
from typer.core import TyperGroup

from ..errors import EXIT_CODES, LmcoincError, exit_code, one_line
from ..utils.memory import MALLOC_CONF, MALLOC_CONF_RETURN
from ..utils.signals import interrupt_signals, interrupted, raise_if_interrupted

__all__ = [
    "CONFIG_HELP",
    "EXIT_HELP",
    "ConfigOption",
    "DebugOption",
    "LstTimestamp",
    "ReportOption",
    "app",
    "errors_as_exit_codes",
    "fail",
    "main",
    "require_report",
    "write_report",
]


class LmcoincGroup(TyperGroup):
    """The commands, with usage errors as one line ``lmcoinc: error: ...`` (exit code 2).

    Typer would draw a box around the message; every other error of lmcoinc
    is one line, so that a log or a batch script shows it whole.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as err:
            click.echo(err.ctx.get_help())
            code = 0
        except click.UsageError as err:
            sub = err.ctx.command_path.partition(" ")[2] if err.ctx is not None else ""
            path = f"lmcoinc {sub}" if sub else "lmcoinc"
            where = f"{sub}: " if sub else ""
            print(f"lmcoinc: error: {where}{err.format_message().rstrip('.')} "
                  f"(see '{path} --help')", file=sys.stderr)
            code = err.exit_code
        except click.ClickException as err:
            print(f"lmcoinc: error: {err.format_message()}", file=sys.stderr)
            code = err.exit_code
        except click.Abort:
            print("lmcoinc: error: interrupted; no partial output left", file=sys.stderr)
            code = exit_code(KeyboardInterrupt())
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=LmcoincGroup,
    no_args_is_help=True,
    help="Offline coincidence of LST-1 and MAGIC events from DL1 HDF5 files.",
)


def _print_version(value: bool) -> None:
    if value:
        import lmcoinc

        typer.echo(f"lmcoinc {lmcoinc.__version__}")
        raise typer.Exit()


@app.callback()
def _app(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    )] = False,
) -> None:
    """Offline coincidence of LST-1 and MAGIC events from DL1 HDF5 files."""


# one paragraph per code: one line each in the terminal and in the docs' CLI reference
EXIT_HELP = "Exit codes:\n\n" + "\n\n".join(
    f"{code}  {meaning}" for code, meaning in EXIT_CODES.items()
)

CONFIG_HELP = "YAML config (default: the built-in one)."


class LstTimestamp(str, Enum):
    """The LST-1 timestamp columns."""

    dragon_time = "dragon_time"
    tib_time = "tib_time"
    ucts_time = "ucts_time"


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


def _exit(code: int) -> None:
    """End the process now with ``code``, after the exit handlers (``atexit``: logging
    flushes and closes the log file, ``multiprocessing`` removes its temporary directory,
    that of a batch's fork server) and without the interpreter's teardown."""
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is not None:
        run_exit_handlers()
    else:  # pragma: no cover - every CPython has it
        logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:  # pragma: no cover - console entry
    """Console entry point (``lmcoinc``, ``python -m lmcoinc``).

    The process ends with the command's exit code and without the
    interpreter's teardown, whatever the command did. Every file is closed and
    renamed by then; tearing down polars, numpy and PyTables and freeing the
    tables costs ~0.15 s, a sixth of a 10 s subrun's run. And after an
    interrupt handled here (exit code 130), the interpreter's own exit ended
    some runs by killing the process with SIGINT instead (status -2), its flag
    of an unhandled KeyboardInterrupt having been set while the signal was
    handled. Only from the console: the app called in-process (tests, other
    programs) returns.
    """
    global _CONSOLE
    _CONSOLE = True
    # polars' allocator (jemalloc, read before polars is imported) keeps freed pages for
    # seconds: returned at once, the resident memory of a merged run or of a batch's
    # parent is that of the data held (measured: no cost in CPU time)
    os.environ.setdefault(MALLOC_CONF, MALLOC_CONF_RETURN)
    try:
        app(prog_name="lmcoinc")
    except SystemExit as end:
        if end.code is None or isinstance(end.code, int):
            _exit(end.code or 0)
        print(end.code, file=sys.stderr)
        _exit(1)
    _exit(0)


ConfigOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
    typer.Option("--config-file", "-c", help=CONFIG_HELP),
]

DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")]

ReportOption = Annotated[
    bool, typer.Option("--report", help="Then write OUTPUT_DIR/report/ (see lmcoinc report).")
]


def require_report(with_report: bool) -> None:
    """Before the work of a command given ``--report``: the report's packages are there."""
    if with_report:
        from ..report import require_matplotlib

        require_matplotlib()


def write_report(output_dir: Path) -> None:
    from ..report import make_report

    typer.echo(f"report: {make_report(output_dir)}")
