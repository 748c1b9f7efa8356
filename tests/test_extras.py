"""Without the ``simulate`` extra (ctapipe, lstchain): clear one-line errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lmcoinc.cli import app
from lmcoinc.config import load_config
from lmcoinc.simulate import SimulationConfig, simulate
from lmcoinc.simulate.libraries import MISSING_PACKAGES, MissingPackagesError
from lmcoinc.sources import MagicDirectory
from lmcoinc.subrun import process_subrun

MESSAGE = "lmcoinc simulate needs the simulator's packages: pip install 'lmcoinc[simulate]'"


@pytest.mark.parametrize("package", ["ctapipe", "lstchain"])
def test_simulate_without_the_extra(
    package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # import fails as if not installed
    with pytest.raises(MissingPackagesError, match=r"pip install 'lmcoinc\[simulate\]'"):
        simulate(tmp_path, SimulationConfig(duration_s=0.1))
    assert not list(tmp_path.iterdir())
    for command in (["simulate", str(tmp_path)], ["demo", str(tmp_path)]):
        proc = CliRunner().invoke(app, command)
        assert proc.exit_code == 1
        assert proc.output == f"lmcoinc: error: {MESSAGE}\n"
    assert MISSING_PACKAGES == MESSAGE


def test_old_lst_file_without_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lmcoinc run takes the packaged default LST-1 for such a file: no ctapipe needed."""
    files = simulate(tmp_path / "in", SimulationConfig(duration_s=1.0, lst_subarray=False))
    monkeypatch.setitem(sys.modules, "ctapipe_io_lst", None)
    monkeypatch.setitem(sys.modules, "ctapipe", None)
    report = process_subrun(files.lst_file, MagicDirectory(files.magic_dir),
                            tmp_path / "out", load_config(None))
    assert report.outputs["hdf5"].exists()
