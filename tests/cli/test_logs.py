"""Logging options: levels from -v/-q/--log-level, lines with their level, the log file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lmcoinc.cli import app
from lmcoinc.cli.logs import command_level


@pytest.mark.parametrize(("default", "verbose", "quiet", "level", "expected"), [
    (logging.INFO, 0, 0, None, (logging.INFO, False)),
    (logging.INFO, 1, 0, None, (logging.DEBUG, False)),
    (logging.INFO, 2, 0, None, (logging.DEBUG, True)),
    (logging.INFO, 0, 1, None, (logging.WARNING, False)),
    (logging.INFO, 0, 5, None, (logging.ERROR, False)),
    (logging.WARNING, 1, 0, None, (logging.INFO, False)),
    (logging.WARNING, 1, 1, None, (logging.WARNING, False)),
    (logging.WARNING, 3, 0, "error", (logging.ERROR, False)),
])
def test_command_level(default, verbose, quiet, level, expected) -> None:
    assert command_level(default, verbose, quiet, level) == expected


def test_lines_carry_their_level_and_go_to_the_log_file(tmp_path: Path) -> None:
    """An unknown config key is a warning: on stderr as ``WARNING: ...``, in the file with
    its time and logger; -q keeps it, --log-level error drops it."""
    config = tmp_path / "config.yaml"
    config.write_text("mc_tel_ids: {LST-1: 1, LST-2: 0, LST-3: 0, LST-4: 0, MAGIC-I: 2, "
                      "MAGIC-II: 3}\nevent_coincidence: {window_half_widht: 1}\n")
    log_file = tmp_path / "offsets.log"
    argv = ["offsets", "-c", str(config), "--log-file", str(log_file)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 12  # the key it misses, after the warning
    warning = [line for line in result.stderr.splitlines() if "unknown key" in line]
    assert len(warning) == 1 and warning[0].startswith("WARNING: ")
    assert result.stderr.splitlines()[-1].startswith("lmcoinc: error: ")
    logged = log_file.read_text().splitlines()
    assert len(logged) == 1
    assert " WARNING lmcoinc.config.parse: " in logged[0] and "unknown key" in logged[0]
    assert "unknown key" in CliRunner().invoke(app, [*argv[:3], "-q"]).stderr
    quiet = CliRunner().invoke(app, [*argv[:3], "--log-level", "error"])
    assert "unknown key" not in quiet.stderr and quiet.exit_code == 12


def test_log_file_that_cannot_be_written(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["config", "--log-file", str(tmp_path / "no" / "x.log")])
    assert result.exit_code == 15
    assert result.stderr == f"lmcoinc: error: {tmp_path / 'no' / 'x.log'}: cannot write the " \
                            "log (No such file or directory)\n"
