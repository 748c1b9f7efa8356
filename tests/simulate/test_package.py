"""The simulator package: cheap to import, unchanged output bytes."""

from __future__ import annotations

import json
import subprocess
import sys

from ..helpers.cases import GOLDEN, tree_digests


def test_import_is_cheap() -> None:
    code = (
        "import sys, lmcoinc.simulate\n"
        "heavy = {'ctapipe', 'lstchain', 'astropy', 'tables', 'polars', 'matplotlib'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_night_tables_unchanged(night) -> None:
    """Every table of the test night is byte-identical to the recorded digests.

    ``scripts/sim_digests.py check`` compares all recorded simulations.
    """
    recorded = json.loads((GOLDEN / "simulator_digests.json").read_text())["night"]
    assert tree_digests(night.lst_dir.parent) == recorded
