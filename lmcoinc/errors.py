"""Errors of lmcoinc and the process exit codes they map to.

Codes 3, 7 and 11 are those of magic-cta-pipe's coincidence script; the
others are lmcoinc's own. Every error carries a one-line message that names
the file or config key at fault.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES",
    "ConfigError",
    "InputError",
    "LmcoincError",
    "MagicInputError",
    "NoCoincidenceError",
    "NoMagicEventsError",
    "OutputError",
    "TooManyMultiMatchesError",
]


class LmcoincError(Exception):
    """Base class: a user-facing error with an exit code."""

    exit_code = 1


class NoCoincidenceError(LmcoincError):
    """No coincident event for any MAGIC telescope (also: no time overlap)."""

    exit_code = 3


class NoMagicEventsError(LmcoincError):
    """The MAGIC files hold no event."""

    exit_code = 7


class TooManyMultiMatchesError(LmcoincError):
    """More than 5 telescope images matched to one stereo event."""

    exit_code = 11


class ConfigError(LmcoincError):
    """The configuration file is missing, unreadable or invalid."""

    exit_code = 12


class InputError(LmcoincError):
    """The LST-1 input file is missing, corrupt or not an LST DL1 file."""

    exit_code = 13


class MagicInputError(LmcoincError):
    """The MAGIC input directory or one of its files is missing or corrupt."""

    exit_code = 14


class OutputError(LmcoincError):
    """The output cannot be written."""

    exit_code = 15


#: Exit code → meaning, as listed in the README and ``lmcoinc run --help``.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected internal error (a bug: please report it)",
    2: "command-line usage error",
    3: "no coincident events, or no time overlap of LST-1 and MAGIC data",
    7: "no MAGIC events in the MAGIC files",
    11: "too many multiply-matched events (more than 5)",
    12: "invalid config file (missing, not YAML, missing or invalid key)",
    13: "invalid LST-1 file (missing, not HDF5, corrupt, wrong content)",
    14: "invalid MAGIC directory or file (idem), or MAGIC subarrays differ",
    15: "output directory cannot be created or written",
    130: "interrupted (Ctrl-C, SIGTERM); no partial output left",
}
