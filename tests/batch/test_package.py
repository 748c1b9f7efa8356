"""``lmcoinc.batch``: its public names, each that of its module, imported on first use; its
worker processes can start before polars and the pipeline are imported."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import lmcoinc.batch

DEFINED_IN = {
    "LST_GLOB": "lmcoinc.batch.discovery",
    "LstSelection": "lmcoinc.batch.discovery",
    "find_lst_files": "lmcoinc.batch.discovery",
    "subrun_ids": "lmcoinc.batch.discovery",
    "BatchReporter": "lmcoinc.batch.runner",
    "BatchResult": "lmcoinc.batch.runner",
    "run_batch": "lmcoinc.batch.runner",
    "STATUSES": "lmcoinc.batch.summary",
}


@pytest.mark.parametrize("name", sorted(DEFINED_IN))
def test_each_public_name_is_that_of_its_module(name):
    assert name in lmcoinc.batch.__all__
    assert getattr(lmcoinc.batch, name) is getattr(importlib.import_module(DEFINED_IN[name]),
                                                   name)


def test_the_public_names_are_listed():
    assert sorted(lmcoinc.batch.__all__) == sorted(DEFINED_IN)
    assert set(lmcoinc.batch.__all__) <= set(dir(lmcoinc.batch))


def test_an_unknown_name():
    with pytest.raises(AttributeError, match="'lmcoinc.batch' has no attribute 'nothing'"):
        lmcoinc.batch.nothing  # noqa: B018


def test_the_worker_pool_imports_neither_polars_nor_the_pipeline():
    code = ("import sys, lmcoinc.batch.workers\n"
            "print(sorted({'polars', 'lmcoinc.pipeline', 'lmcoinc.batch.runner'}"
            " & set(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"
