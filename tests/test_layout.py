"""The shape of the package: small modules and functions, no private names across modules,
no heavy import on the run path."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import lmcoinc

PACKAGE = Path(lmcoinc.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_shape(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES, node.name
        if isinstance(node, ast.ImportFrom) and (node.level or "lmcoinc" in (node.module or "")):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"imports private names {private}"


def test_run_path_imports_neither_lstchain_nor_ctapipe(good, tmp_path) -> None:
    """`lmcoinc run` imports neither (files without a subarray: tests/test_extras.py)."""
    code = (
        "import sys\n"
        "from lmcoinc.cli import app\n"
        "app(['run', '-l', sys.argv[1], '-m', sys.argv[2], '-o', sys.argv[3]],\n"
        "    standalone_mode=False)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'lstchain', 'ctapipe'}))\n"
    )
    lst = next((good / "lst").glob("*.h5"))
    proc = subprocess.run([sys.executable, "-c", code, str(lst), str(good / "magic"),
                           str(tmp_path)], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stderr[-2000:]
    assert (tmp_path / lst.name.replace("LST", "MAGIC_LST")).is_file()
