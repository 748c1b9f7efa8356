"""The commands run in this process set up the root logger: put it back after each test."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
