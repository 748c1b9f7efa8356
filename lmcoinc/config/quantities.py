"""Time quantities of the config ("300 ns", "-10 us", "1 s") in nanoseconds."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["quantity_ns"]

#: Plain time units and their scale in seconds, as astropy decomposes them.
_TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
_PLAIN_TIME = re.compile(
    r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(ns|us|µs|ms|s)\s*$"
)


def _plain_time_ns(value: str) -> float | None:
    """"<number> <ns|us|ms|s>" in ns, exactly as astropy converts it; else None.

    Importing astropy.units costs ~0.2 s per process, most of the start-up of
    ``lmcoinc run``; the plain forms are converted with astropy's own scale
    (``unit.decompose().scale / 1e-9``, tested equal) and anything else goes
    through astropy.
    """
    match = _PLAIN_TIME.match(value)
    if match is None:
        return None
    number, unit = float(match.group(1)), match.group(2)
    return number if unit == "ns" else number * (_TIME_UNITS[unit] / 1e-9)


def quantity_ns(value: Any, key: str, name: str) -> float:
    """Convert a quantity string such as "300 ns" to nanoseconds (float)."""
    if not isinstance(value, str):
        raise ConfigError(f'{name}: {key} must be a time quantity such as "300 ns", got {value!r}')
    plain = _plain_time_ns(value)
    if plain is not None and np.isfinite(plain):
        return plain
    from astropy import units as u

    try:
        quantity = u.Quantity(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {key} = {value!r} is not a quantity") from None
    if quantity.unit == u.dimensionless_unscaled:
        raise ConfigError(f'{name}: {key} = {value!r} has no unit (write e.g. "300 ns")')
    if not quantity.unit.is_equivalent(u.s):
        raise ConfigError(f"{name}: {key} = {value!r} is not a time (unit {quantity.unit})")
    if not np.isfinite(quantity.value):
        raise ConfigError(f"{name}: {key} = {value!r} is not finite")
    return float(quantity.to_value(u.ns))
