"""A batch output with a failed subrun, for the report's tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lmcoinc.batch import run_batch

from ..helpers.badinputs import lst_file, truncate


@pytest.fixture(scope="session")
def batch_output(good, tmp_path_factory) -> Path:
    """``lmcoinc batch`` on the good input's subrun 40 and a truncated copy as subrun 41."""
    work = tmp_path_factory.mktemp("report-batch")
    (work / "lst").mkdir()
    shutil.copy(lst_file(good), work / "lst")
    broken = work / "lst" / "dl1_LST-1.Run03265.0041.h5"
    shutil.copy(lst_file(good), broken)
    truncate(broken)
    run_batch(work / "lst", good / "magic", work / "out")
    return work / "out"
