"""The small simulated subrun that the tests of the simulator's modules read."""

from __future__ import annotations

import pytest

from lmcoinc.simulate import SimulatedFiles, simulate

from ..helpers.simread import SMALL


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> SimulatedFiles:
    """:data:`~tests.helpers.simread.SMALL` simulated once."""
    return simulate(tmp_path_factory.mktemp("small"), SMALL)
