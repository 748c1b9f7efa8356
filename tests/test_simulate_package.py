"""The simulator package: cheap to import, small modules, unchanged output bytes."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import lmcoinc.simulate

from .cases import GOLDEN, tree_digests

PACKAGE = Path(lmcoinc.simulate.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


def test_public_api() -> None:
    from lmcoinc.simulate import (  # noqa: F401
        NightFiles,
        SimulatedFiles,
        SimulationConfig,
        simulate,
        simulate_night,
    )

    assert set(lmcoinc.simulate.__all__) >= {
        "NightFiles", "SimulatedFiles", "SimulationConfig", "simulate", "simulate_night",
    }  # fmt: skip


def test_import_is_cheap() -> None:
    code = (
        "import sys, lmcoinc.simulate\n"
        "heavy = {'ctapipe', 'lstchain', 'astropy', 'tables', 'polars', 'matplotlib'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_shape(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= 400
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            assert node.end_lineno - node.lineno < 80, node.name
        if isinstance(node, ast.ImportFrom) and (node.level or "lmcoinc" in (node.module or "")):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name} imports private names {private}"


def test_night_tables_unchanged(night) -> None:
    """Every table of the test night is byte-identical to the recorded digests.

    ``scripts/sim_digests.py check`` compares all recorded simulations.
    """
    recorded = json.loads((GOLDEN / "simulator_digests.json").read_text())["night"]
    assert tree_digests(night.lst_dir.parent) == recorded
