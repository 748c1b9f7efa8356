"""The simulator's third-party packages: check that they are installed, keep them quiet."""

from __future__ import annotations

import logging
import os
import sys

from ..errors import LmcoincError

__all__ = ["MISSING_PACKAGES", "MissingPackagesError", "prepare_libraries"]

MISSING_PACKAGES = (
    "lmcoinc simulate needs the simulator's packages: pip install 'lmcoinc[simulate]'"
)
#: library loggers whose INFO lines (thread counts, font cache, provenance
#: activity, HDF5 filters) are not for the simulator's user
_LOGGER_LEVELS = {
    "numexpr": logging.WARNING,
    "matplotlib": logging.ERROR,
    "ctapipe": logging.WARNING,
    "lstchain": logging.WARNING,
}


class MissingPackagesError(LmcoincError, ImportError):
    """ctapipe or lstchain (the ``simulate`` extra) is not installed."""


def prepare_libraries() -> None:
    """Check that ctapipe and lstchain import, and silence their and their dependencies' chatter.

    Raises
    ------
    MissingPackagesError
        If ctapipe or lstchain cannot be imported.
    """
    if "numexpr" not in sys.modules and not os.environ.get("NUMEXPR_MAX_THREADS"):
        # numexpr's own default (cores, at most 16), set so that it does not log it
        os.environ["NUMEXPR_MAX_THREADS"] = str(min(os.cpu_count() or 1, 16))
    for name, level in _LOGGER_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    try:
        import ctapipe  # noqa: F401
        import lstchain  # noqa: F401
    except ImportError:
        raise MissingPackagesError(MISSING_PACKAGES) from None
