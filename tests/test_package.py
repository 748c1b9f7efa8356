"""lmcoinc: the public names, each the object of the module that defines it, imported on
first use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import lmcoinc

DEFINED_IN = {
    "Coincidence": "lmcoinc.pipeline",
    "CoincidenceConfig": "lmcoinc.config.parse",
    "coincide": "lmcoinc.pipeline",
    "load_config": "lmcoinc.config.parse",
    "read_provenance": "lmcoinc.io.provenance",
    "scan": "lmcoinc.io.dataset",
}


@pytest.mark.parametrize("name", sorted(DEFINED_IN))
def test_each_public_name_is_that_of_its_module(name):
    assert name in lmcoinc.__all__
    assert getattr(lmcoinc, name) is getattr(importlib.import_module(DEFINED_IN[name]), name)


def test_the_public_names_are_listed():
    assert sorted(lmcoinc.__all__) == sorted([*DEFINED_IN, "__version__"])
    assert set(lmcoinc.__all__) <= set(dir(lmcoinc))


def test_an_unknown_name():
    with pytest.raises(AttributeError, match="module 'lmcoinc' has no attribute 'coincidence'"):
        lmcoinc.coincidence  # noqa: B018


def test_a_name_is_imported_when_first_used():
    code = ("import sys, lmcoinc\n"
            "before = 'lmcoinc.pipeline' in sys.modules\n"
            "lmcoinc.coincide\n"
            "print(before, 'lmcoinc.pipeline' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.split() == ["False", "True"]
