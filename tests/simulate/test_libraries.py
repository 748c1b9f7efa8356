"""The simulator's packages: present, and quiet."""

from __future__ import annotations

import logging
import sys

import pytest

from lmcoinc.errors import MissingPackageError, exit_code
from lmcoinc.simulate.libraries import MISSING_PACKAGES, prepare_libraries


def test_prepare_quiets_the_libraries(monkeypatch):
    for name in ("numexpr", "matplotlib", "ctapipe", "lstchain"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    prepare_libraries()
    assert logging.getLogger("numexpr").level == logging.WARNING
    assert logging.getLogger("matplotlib").level == logging.ERROR
    assert logging.getLogger("ctapipe").level == logging.WARNING
    assert logging.getLogger("lstchain").level == logging.WARNING


@pytest.mark.parametrize("package", ["ctapipe", "lstchain"])
def test_missing_package(monkeypatch, package):
    monkeypatch.setitem(sys.modules, package, None)  # as if not installed
    with pytest.raises(MissingPackageError) as err:
        prepare_libraries()
    assert str(err.value) == MISSING_PACKAGES
    assert "pip install 'lmcoinc[simulate]'" in MISSING_PACKAGES
    assert exit_code(err.value) == 2
