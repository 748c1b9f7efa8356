"""The application: --version, usage errors as one line, completion, exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version

import pytest
import typer
from typer.testing import CliRunner

import lmcoinc
from lmcoinc.cli import app
from lmcoinc.cli.base import (
    EXIT_HELP,
    errors_as_exit_codes,
    fail,
)
from lmcoinc.errors import (
    EXIT_CODES,
    BatchLockedError,
    ConfigError,
    InvalidFileError,
    LstInputError,
    MagicInputError,
    MissingPackageError,
    NoCoincidenceError,
    NoMagicEventsError,
    OutputError,
    ReportInputError,
    SchedulerError,
    TooManyMultiMatchesError,
)

ERRORS = [
    (SchedulerError("cannot connect to the Dask scheduler tcp://x:1"), 2),
    (MissingPackageError("needs lstchain"), 2),
    (NoCoincidenceError("no coincident events"), 3),
    (NoMagicEventsError("magic: no MAGIC events"), 7),
    (TooManyMultiMatchesError("6 images"), 11),
    (ConfigError("config.yaml: event_coincidence.window_half_width: not a number"), 12),
    (InvalidFileError("a.h5", "truncated"), 13),
    (LstInputError("a.h5", "truncated"), 13),
    (MagicInputError("magic/b.h5", "checksum"), 14),
    (OutputError("out: no space left on device"), 15),
    (ReportInputError("out", "no lmcoinc output"), 16),
    (BatchLockedError("out: in use by another lmcoinc batch"), 17),
]


@pytest.mark.parametrize(("err", "code"), ERRORS, ids=lambda e: type(e).__name__)
def test_fail_one_line_and_exit_code(err, code, capsys):
    result = fail(err)
    assert isinstance(result, typer.Exit) and result.exit_code == code
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"lmcoinc: error: {err}\n"


def test_fail_multiline_internal_and_interrupt(capsys):
    assert fail(InvalidFileError("a.h5", "first line\n  second line")).exit_code == 13
    assert capsys.readouterr().err == "lmcoinc: error: a.h5: first line second line\n"
    assert fail(ZeroDivisionError("division by zero")).exit_code == 1
    assert capsys.readouterr().err == (
        "lmcoinc: error: internal error ZeroDivisionError: division by zero (a bug: please "
        "report it; --debug shows the traceback)\n")
    assert fail(KeyboardInterrupt()).exit_code == 130
    assert capsys.readouterr().err == "lmcoinc: error: interrupted; no partial output left\n"


def test_errors_as_exit_codes(capsys):
    with pytest.raises(typer.Exit) as ended, errors_as_exit_codes(debug=False):
        raise MagicInputError("magic/b.h5", "checksum")
    assert ended.value.exit_code == 14
    assert capsys.readouterr().err == "lmcoinc: error: magic/b.h5: checksum\n"
    with pytest.raises(typer.Exit) as ended, errors_as_exit_codes(debug=False):
        raise KeyError("bug")
    assert ended.value.exit_code == 1
    assert capsys.readouterr().err.startswith("lmcoinc: error: internal error KeyError: 'bug'")
    with pytest.raises(typer.Exit) as ended, errors_as_exit_codes(debug=False):
        raise typer.Exit(4)  # a command's own exit code passes through, silently
    assert ended.value.exit_code == 4 and capsys.readouterr().err == ""
    with pytest.raises(MagicInputError), errors_as_exit_codes(debug=True):  # --debug
        raise MagicInputError("magic/b.h5", "checksum")
    with errors_as_exit_codes(debug=False):  # nothing wrong: nothing said
        pass
    assert capsys.readouterr().err == ""


def test_exit_help_lists_every_code():
    lines = [line for line in EXIT_HELP.splitlines() if line]  # blank lines: click's paragraphs
    assert lines[0] == "Exit codes:"
    assert [int(line.split()[0]) for line in lines[1:]] == list(EXIT_CODES)
    assert all(meaning in EXIT_HELP for meaning in EXIT_CODES.values())


def _invoke(*argv: str):
    return CliRunner().invoke(app, list(argv))


def test_version() -> None:
    result = _invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"lmcoinc {version('lmcoinc')}\n"
    assert lmcoinc.__version__ == version("lmcoinc")


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "-m", "magic"], "run: Missing option '--input-file-lst' / '-l'"),
    (["run", "--bogus"], "run: No such option '--bogus'"),
    (["batch", "-l", "a", "-m", "b", "-o", "c", "-j", "0"], "batch: Invalid value for '--jobs'"),
    (["run", "-l", "a", "-m", "b", "--log-level", "loud"], "run: Invalid value for '--log-level'"),
    (["nosuch"], "No such command 'nosuch'"),
])
def test_usage_error_is_one_line(argv: list[str], message: str) -> None:
    result = _invoke(*argv)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"lmcoinc: error: {message}")
    assert re.search(r"\(see 'lmcoinc( \w+)? --help'\)$", lines[0])


def test_usage_error_from_the_console() -> None:
    """The console entry point too (Typer's own handler would draw a box)."""
    proc = subprocess.run([sys.executable, "-m", "lmcoinc", "run"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr == ("lmcoinc: error: run: Missing option '--input-file-lst' / '-l' "
                           "(see 'lmcoinc run --help')\n")


def test_no_arguments_show_the_commands() -> None:
    result = _invoke()
    assert result.exit_code == 0
    for command in ("run", "batch", "report", "offsets", "convert", "simulate", "demo",
                    "config"):
        assert re.search(rf"^\W*{command}\s", result.stdout, re.M), command


def test_shell_completion_is_available() -> None:
    """The script for the shell, and the completion it asks for."""
    def lmcoinc(*argv: str, **env: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "lmcoinc", *argv], capture_output=True,
                              text=True, check=True, env={**os.environ, **env})
        return proc.stdout

    # the script for bash (--show-completion gives that of the shell lmcoinc runs in:
    # under make, sh, which has none)
    assert "complete -o default -F _lmcoinc_completion lmcoinc" in lmcoinc(
        _LMCOINC_COMPLETE="source_bash")
    assert lmcoinc(_LMCOINC_COMPLETE="complete_bash", COMP_WORDS="lmcoinc ba",
                   COMP_CWORD="1").split() == ["batch"]
    assert "--wide" in lmcoinc(_LMCOINC_COMPLETE="complete_bash", COMP_WORDS="lmcoinc batch --w",
                               COMP_CWORD="2").split()


@pytest.mark.parametrize("command", ["run", "batch", "report", "offsets", "convert",
                                     "simulate", "demo", "config", "info"])
def test_every_command_has_the_logging_options(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--verbose", "-v", "--quiet", "-q", "--log-level", "--log-file"):
        assert re.search(rf"(^|\s){option}[\s,]", result.stdout), (command, option)


def test_the_logging_options_test_names_every_command() -> None:
    names = {command.name or command.callback.__name__ for command in app.registered_commands}
    tested = test_every_command_has_the_logging_options.pytestmark[0].args[1]
    assert names == set(tested)
