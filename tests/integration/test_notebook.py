"""The example notebook of docs/ runs as a script, end to end, on a simulated night."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lmcoinc

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebook_night.py"


def test_the_notebook_runs(tmp_path):
    text = NOTEBOOK.read_text()
    assert "format_name: percent" in text and text.count("# %%") >= 8  # jupytext cells
    env = {**os.environ, "LMCOINC_NOTEBOOK_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(NOTEBOOK)], capture_output=True, text=True,
                          env=env, timeout=900, cwd=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown = proc.stdout
    assert "fraction_tel2" in shown and "clock_offset_us" in shown and "first_ns" in shown
    assert "average_offset us - time offset MAGIC - LST-1" in shown
    summary = lmcoinc.scan(tmp_path / "out", "feature").collect()
    assert summary["lst_subrun"].unique().sort().to_list() == [0, 1, 2, 3]
    assert "history" not in proc.stderr  # the simulated night's offset is the history's
