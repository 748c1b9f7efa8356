"""The config keys beyond magic-cta-pipe's: the clock offset (geometric delay, history,
weak results), the offset model and drift mode. Validated like the others: a named error,
exit code 12."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from .history import load_history_file, packaged_history
from .quantities import quantity_ns
from .sections import checked_section

__all__ = ["HISTORY_KEYS", "OFFSET_MODELS", "clock_settings", "drift_settings"]

#: The keys of event_coincidence.offset_history.
HISTORY_KEYS = ("file", "replace", "tolerance", "fallback")
#: How the clock offset may change within a subrun (``event_coincidence.offset_model``):
#: each model's name and the module of :mod:`lmcoinc.pairing` that implements it (its class
#: ``Model``, see :mod:`lmcoinc.pairing.models`). A new model is a module there and a line here.
OFFSET_MODELS = {
    "constant": "constant_model",
    "drift": "drift_model",
}


def _flag(mapping: dict, key: str, path: str, name: str, default: bool | None) -> bool | None:
    value = mapping.get(key, default)
    if value is not default and not isinstance(value, bool):
        raise ConfigError(f"{name}: {path} must be true or false")
    return value


def clock_settings(coinc: dict, name: str) -> dict[str, Any]:
    """The keys beyond the reference's: geometric delay, weak results, offset history."""
    keys = {"geometric_delay": _flag(coinc, "geometric_delay",
                                     "event_coincidence.geometric_delay", name, False)}
    n_min = coinc.get("min_coincidences", 10)
    if isinstance(n_min, bool) or not isinstance(n_min, int) or n_min < 1:
        raise ConfigError(f"{name}: event_coincidence.min_coincidences must be a positive "
                          f"integer, got {n_min!r}")
    keys["min_coincidences"] = n_min
    section = "event_coincidence.offset_history"
    history = checked_section(coinc.get("offset_history", {}), section, HISTORY_KEYS, name)
    table = packaged_history()
    if history.get("replace") is not None and history.get("file") is None:
        raise ConfigError(f"{name}: {section}.replace needs {section}.file")
    if history.get("file") is not None:
        if not isinstance(history["file"], str):
            raise ConfigError(f"{name}: {section}.file must be a file name")
        own = load_history_file(history["file"], f"{name}: {section}.file")
        table = own if _flag(history, "replace", f"{section}.replace", name, False) else (
            table.extended(own))
    keys["offset_history"] = table
    key = f"{section}.tolerance"
    tolerance = int(np.round(quantity_ns(history.get("tolerance", "1 us"), key, name)))
    if tolerance <= 0:
        raise ConfigError(f"{name}: {key} must be positive, got {history['tolerance']!r}")
    keys["history_tolerance_ns"] = tolerance
    keys["history_fallback"] = _flag(history, "fallback", f"{section}.fallback", name, None)
    return keys
def _positive_ns(coinc: dict, key: str, default: str, name: str) -> int:
    """A time quantity of event_coincidence above 0 and below a day (ns, rounded)."""
    path = f"event_coincidence.{key}"
    value = coinc.get(key, default)
    ns = int(np.round(quantity_ns(value, path, name)))
    if not 0 < ns < 86_400 * 10**9:
        raise ConfigError(f"{name}: {path} must be above 0 and below 1 day, got {value!r}")
    return ns


def drift_settings(coinc: dict, name: str) -> dict[str, Any]:
    """``offset_model`` and the keys of drift mode (validated in either mode)."""
    model = coinc.get("offset_model", "constant")
    if model not in OFFSET_MODELS:
        raise ConfigError(f"{name}: event_coincidence.offset_model = {model!r} is unknown; "
                          f"use one of {', '.join(OFFSET_MODELS)}")
    key = "event_coincidence.max_drift_us_per_s"
    drift = coinc.get("max_drift_us_per_s", 20.0)
    if isinstance(drift, bool) or not isinstance(drift, int | float) or not 0 < drift < 1e5:
        raise ConfigError(f"{name}: {key} must be a number of µs per s above 0 and below "
                          f"100000, got {drift!r}")
    return {
        "offset_model": model,
        "max_clock_offset_ns": _positive_ns(coinc, "max_clock_offset", "10 s", name),
        "max_drift_ns_per_s": float(drift) * 1000.0,
        "drift_slice_ns": _positive_ns(coinc, "drift_slice", "1 s", name),
    }
