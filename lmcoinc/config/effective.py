"""The effective configuration as YAML: every key lmcoinc uses, with the value it used.

The provenance of every output holds this text: the keys given and the
defaults of those left out, in magic-cta-pipe's form. Loaded again with
:func:`lmcoinc.load_config` it gives the same settings (tested).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from .parse import CoincidenceConfig

__all__ = ["config_document", "config_yaml"]


def _ns(value: int) -> str:
    return f"{int(value)} ns"


def config_document(config: CoincidenceConfig) -> dict[str, Any]:
    """The configuration as the YAML document that gives it (lmcoinc's keys only)."""
    history: dict[str, Any] = {}
    given = config.raw.get("event_coincidence", {}) if isinstance(config.raw, dict) else {}
    given_history = given.get("offset_history") if isinstance(given, dict) else None
    if isinstance(given_history, dict):  # the table's file: as given
        history.update({k: given_history[k] for k in ("file", "replace") if k in given_history})
    history["tolerance"] = _ns(config.history_tolerance_ns)
    if config.history_fallback is not None:
        history["fallback"] = config.history_fallback
    coincidence = {
        "timestamp_type_lst": config.timestamp_type_lst,
        "window_half_width": _ns(config.window_half_width_ns),
        "pre_offset_search": config.pre_offset_search,
        "n_pre_offset_search_events": config.n_pre_offset_search_events,
        "time_offset": {"start": _ns(config.offset_start_ns), "stop": _ns(config.offset_stop_ns)},
        "geometric_delay": config.geometric_delay,
        "min_coincidences": config.min_coincidences,
        "offset_history": history,
        "offset_model": config.offset_model,
        "max_clock_offset": _ns(config.max_clock_offset_ns),
        "max_drift_us_per_s": config.max_drift_ns_per_s / 1000,
        "drift_slice": _ns(config.drift_slice_ns),
    }
    return {"mc_tel_ids": dict(config.tel_ids), "event_coincidence": coincidence,
            "save_images": config.save_images}


def config_yaml(config: CoincidenceConfig) -> str:
    """:func:`config_document` as YAML text.

    Examples
    --------
    >>> from lmcoinc.config import load_config
    >>> print(config_yaml(load_config()).splitlines()[0])
    mc_tel_ids:
    """
    if _last and _last[0] == config and _last[1] == config.raw:
        return _last[2]  # a batch's subruns: the same settings (unpickled anew) each time
    text = yaml.safe_dump(config_document(config), sort_keys=False, allow_unicode=True)
    _last[:] = [config, copy.deepcopy(config.raw), text]
    return text


#: The last configuration :func:`config_yaml` wrote, its document as read, and its text.
_last: list[Any] = []
