"""Without an extra: the simulator (ctapipe, lstchain) and the report (matplotlib) say so;
run needs none of them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lmcoinc.cli import app
from lmcoinc.config import load_config
from lmcoinc.errors import MissingPackageError, exit_code
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.report import make_report
from lmcoinc.simulate import SimulationConfig, simulate
from lmcoinc.simulate.libraries import MISSING_PACKAGES

from ..helpers.compare import differences

MESSAGE = "lmcoinc simulate needs the simulator's packages: pip install 'lmcoinc[simulate]'"


@pytest.mark.parametrize("package", ["ctapipe", "lstchain"])
def test_simulate_without_the_extra(
    package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # import fails as if not installed
    with pytest.raises(MissingPackageError, match=r"pip install 'lmcoinc\[simulate\]'") as info:
        simulate(tmp_path, SimulationConfig(duration_s=0.1))
    assert exit_code(info.value) == 2
    assert not list(tmp_path.iterdir())
    for command in (["simulate", str(tmp_path)], ["demo", str(tmp_path)]):
        proc = CliRunner().invoke(app, command)
        assert proc.exit_code == 2
        assert proc.output == f"lmcoinc: error: {MESSAGE}\n"
    assert MISSING_PACKAGES == MESSAGE


def test_old_lst_file_without_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An LST file of lstchain < 0.10 takes the packaged default LST-1: no ctapipe needed."""
    files = simulate(tmp_path / "in", SimulationConfig(duration_s=1.0, lst_subarray=False))
    config = load_config(None)
    magic = MagicDirectory(files.magic_dir, config.tel_names)
    process_subrun(files.lst_file, magic, tmp_path / "with", config)
    for package in ("ctapipe", "ctapipe_io_lst", "lstchain"):
        monkeypatch.setitem(sys.modules, package, None)
    process_subrun(files.lst_file, MagicDirectory(files.magic_dir, config.tel_names),
                   tmp_path / "without", config)
    name = files.lst_file.name.replace("LST", "MAGIC_LST")
    monkeypatch.undo()  # the comparison reads the subarrays with ctapipe
    assert differences(tmp_path / "with" / name, tmp_path / "without" / name) == []


def test_report_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ``report`` extra: one line naming it, exit code 2, before any work."""
    message = "lmcoinc report needs matplotlib: pip install 'lmcoinc[report]'"
    for name in [m for m in sys.modules if m.startswith(("matplotlib", "lmcoinc.report.plots"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingPackageError, match=re.escape(message)):
        make_report(tmp_path)
    commands = [["report", str(tmp_path)],
                ["run", "-l", "x.h5", "-m", "magic", "-o", str(tmp_path / "o"), "--report"],
                ["batch", "-l", "lst", "-m", "magic", "-o", str(tmp_path / "o"), "--report"]]
    for command in commands:
        proc = CliRunner().invoke(app, command)
        assert proc.exit_code == 2
        assert proc.output == f"lmcoinc: error: {message}\n"
    assert not (tmp_path / "o").exists()
