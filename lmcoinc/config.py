"""Configuration: the YAML keys of magic-cta-pipe, validated into a frozen object."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import ConfigError

__all__ = [
    "LST_NAMES",
    "MAGIC_NAMES",
    "OFFSET_MODELS",
    "TIMESTAMP_TYPES_LST",
    "CoincidenceConfig",
    "default_config_text",
    "load_config",
    "parse_config",
    "telescope_combinations",
]

LST_NAMES = ("LST-1", "LST-2", "LST-3", "LST-4")
MAGIC_NAMES = ("MAGIC-I", "MAGIC-II")
TIMESTAMP_TYPES_LST = ("dragon_time", "tib_time", "ucts_time")
#: The keys of the event_coincidence section (others are typos: warned about).
COINCIDENCE_KEYS = ("timestamp_type_lst", "window_half_width", "pre_offset_search",
                    "n_pre_offset_search_events", "time_offset", "offset_model",
                    "max_clock_offset", "max_drift_us_per_s", "drift_slice")
#: How the clock offset may change within a subrun (``event_coincidence.offset_model``).
OFFSET_MODELS = ("constant", "drift")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoincidenceConfig:
    """Validated settings of the event coincidence.

    Attributes
    ----------
    tel_ids : dict
        ``mc_tel_ids`` in file order, name → id (id ≤ 0: not in use).
    timestamp_type_lst : str
        LST timestamp column used for the coincidence.
    window_half_width_ns : int
        Half width of the coincidence window.
    pre_offset_search : bool
        Search the offset on bright events before the scan.
    n_pre_offset_search_events : int
        Number of brightest events per telescope in the pre-offset search.
    offset_start_ns, offset_stop_ns : int
        Scan range when ``pre_offset_search`` is false.
    save_images : bool
        Copy the images of the stereo events to the output.
    offset_model : str
        "constant" (the reference's one offset per subrun) or "drift" (an
        offset that changes with time, for a broken MAGIC GPS).
    max_clock_offset_ns : int
        Drift mode: the largest clock offset searched (either sign).
    max_drift_ns_per_s : float
        Drift mode: the largest drift of the offset searched (either sign).
    drift_slice_ns : int
        Drift mode: the length of the time slices that track the offset.
    drift_priors : dict
        Drift mode, not from the YAML: MAGIC tel_id → an
        :class:`~lmcoinc.offset_model.OffsetModel` to follow instead of
        searching (a batch's run model for subruns too sparse for their own).
    """

    tel_ids: dict[str, int]
    timestamp_type_lst: str = "dragon_time"
    window_half_width_ns: int = 300
    pre_offset_search: bool = True
    n_pre_offset_search_events: int = 100
    offset_start_ns: int = -10_000
    offset_stop_ns: int = 0
    save_images: bool = False
    offset_model: str = "constant"
    max_clock_offset_ns: int = 10_000_000_000
    max_drift_ns_per_s: float = 20_000.0
    drift_slice_ns: int = 1_000_000_000
    drift_priors: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tel_names(self) -> dict[int, str]:
        """Telescope id → name, for the telescopes in use, in config order."""
        return {v: k for k, v in self.tel_ids.items() if v > 0}

    @property
    def offset_search_range_ns(self) -> tuple[int, int] | None:
        """Offsets searched (start, stop): ±``max_clock_offset`` in drift mode, the scan
        range without the pre-offset search, None with it (offsets near the LST times)."""
        if self.offset_model == "drift":
            return -self.max_clock_offset_ns, self.max_clock_offset_ns
        return None if self.pre_offset_search else (self.offset_start_ns, self.offset_stop_ns)


def default_config_text() -> str:
    """Return the text of the default configuration file."""
    return resources.files("lmcoinc").joinpath("resources/config.yaml").read_text()


def load_config(path: str | Path | None) -> CoincidenceConfig:
    """Read and validate a YAML configuration file (None: the default one).

    Raises
    ------
    ConfigError
        If the file is missing, not YAML, or a key is missing or invalid.
    """
    if path is None:
        text, name = default_config_text(), "default config"
    else:
        name = str(path)
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            raise ConfigError(f"{name}: config file not found") from None
        except IsADirectoryError:
            raise ConfigError(f"{name}: is a directory, expected a YAML config file") from None
        except OSError as err:
            raise ConfigError(f"{name}: cannot read config file ({err.strerror})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{name}: not a text file, expected a YAML config file") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None)
        raise ConfigError(
            f"{name}: not valid YAML{where}" + (f" ({problem})" if problem else "")
        ) from None
    return parse_config(raw, name)


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


def _quantity_ns(value: Any, key: str, name: str) -> float:
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


def _require(mapping: dict, key: str, path: str, name: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ConfigError(f"{name}: missing key {path}")
    return mapping[key]


def _check_tel_ids(tel_ids: Any, name: str) -> dict[str, int]:
    """Apply magic-cta-pipe's rules: six telescopes, the four LSTs first."""
    if not isinstance(tel_ids, dict):
        raise ConfigError(f"{name}: mc_tel_ids must be a mapping of telescope name to id")
    names = list(tel_ids)
    if len(names) != 6:
        raise ConfigError(
            f"{name}: mc_tel_ids lists {len(names)} telescopes; it must list all six: "
            "LST-1, LST-2, LST-3, LST-4, MAGIC-I, MAGIC-II"
        )
    if sorted(names[:4]) != sorted(LST_NAMES):
        raise ConfigError(f"{name}: mc_tel_ids must list LST-1..LST-4 first, got {names[:4]}")
    if sorted(names[4:]) != sorted(MAGIC_NAMES):
        raise ConfigError(f"{name}: mc_tel_ids must list MAGIC-I, MAGIC-II last, got {names[4:]}")
    out = {}
    for key, value in tel_ids.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: mc_tel_ids.{key} must be an integer, got {value!r}")
        out[key] = value
    used = [v for v in out.values() if v > 0]
    if len(set(used)) != len(used):
        raise ConfigError(f"{name}: mc_tel_ids gives the same id to two telescopes")
    if out["LST-1"] <= 0 or out["MAGIC-I"] <= 0 or out["MAGIC-II"] <= 0:
        raise ConfigError(f"{name}: mc_tel_ids must give LST-1, MAGIC-I and MAGIC-II ids > 0")
    return out


def parse_config(raw: Any, name: str = "config") -> CoincidenceConfig:
    """Validate a configuration mapping (as read from YAML).

    Parameters
    ----------
    raw : dict
        The parsed YAML document.
    name : str
        Name of its source, used in error messages.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: the config must be a YAML mapping")
    tel_ids = _check_tel_ids(_require(raw, "mc_tel_ids", "mc_tel_ids", name), name)
    coinc = _require(raw, "event_coincidence", "event_coincidence", name)
    if not isinstance(coinc, dict):
        raise ConfigError(f"{name}: event_coincidence must be a mapping")
    unknown = [str(k) for k in coinc if k not in COINCIDENCE_KEYS]
    if unknown:
        log.warning("%s: unknown key(s) event_coincidence.%s ignored (known: %s)",
                    name, ", event_coincidence.".join(unknown), ", ".join(COINCIDENCE_KEYS))
    key = "event_coincidence.timestamp_type_lst"
    ts_type = _require(coinc, "timestamp_type_lst", key, name)
    if ts_type not in TIMESTAMP_TYPES_LST:
        raise ConfigError(
            f"{name}: {key} = {ts_type!r} is unknown; use one of {', '.join(TIMESTAMP_TYPES_LST)}"
        )
    key = "event_coincidence.window_half_width"
    window = _quantity_ns(_require(coinc, "window_half_width", key, name), key, name)
    window_ns = int(np.round(window))
    if window_ns <= 0:
        raise ConfigError(f"{name}: {key} must be positive, got {coinc['window_half_width']!r}")

    pre = coinc.get("pre_offset_search", False)
    if not isinstance(pre, bool):
        raise ConfigError(f"{name}: event_coincidence.pre_offset_search must be true or false")
    n_pre = 100
    start_ns, stop_ns = -10_000, 0
    if pre:
        key = "event_coincidence.n_pre_offset_search_events"
        n_pre = _require(coinc, "n_pre_offset_search_events", key, name)
        if isinstance(n_pre, bool) or not isinstance(n_pre, int) or n_pre <= 0:
            raise ConfigError(f"{name}: {key} must be a positive integer, got {n_pre!r}")
    else:
        offsets = _require(coinc, "time_offset", "event_coincidence.time_offset", name)
        bounds = []
        for end in ("start", "stop"):
            key = f"event_coincidence.time_offset.{end}"
            bounds.append(int(np.round(_quantity_ns(_require(offsets, end, key, name), key, name))))
        start_ns, stop_ns = bounds
        if stop_ns <= start_ns:
            raise ConfigError(
                f"{name}: event_coincidence.time_offset.stop must be above start "
                f"({offsets['stop']!r} <= {offsets['start']!r})"
            )
    save_images = raw.get("save_images", False)
    if not isinstance(save_images, bool):
        raise ConfigError(f"{name}: save_images must be true or false")
    return CoincidenceConfig(
        **_offset_model_settings(coinc, name),
        tel_ids=tel_ids,
        timestamp_type_lst=ts_type,
        window_half_width_ns=window_ns,
        pre_offset_search=pre,
        n_pre_offset_search_events=n_pre,
        offset_start_ns=start_ns,
        offset_stop_ns=stop_ns,
        save_images=save_images,
        raw=raw,
    )


def _positive_ns(coinc: dict, key: str, default: str, name: str) -> int:
    """A time quantity of event_coincidence above 0 and below a day (ns, rounded)."""
    path = f"event_coincidence.{key}"
    value = coinc.get(key, default)
    ns = int(np.round(_quantity_ns(value, path, name)))
    if not 0 < ns < 86_400 * 10**9:
        raise ConfigError(f"{name}: {path} must be above 0 and below 1 day, got {value!r}")
    return ns


def _offset_model_settings(coinc: dict, name: str) -> dict[str, Any]:
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


def telescope_combinations(tel_names: dict[int, str]) -> dict[str, list[int]]:
    """Enumerate telescope combinations of two or more, in magic-cta-pipe's order.

    The position of a combination in the returned dict is its ``combo_type``.

    Parameters
    ----------
    tel_names : dict
        Telescope id → name, in config order.
    """
    keys = list(tel_names)
    combos: dict[str, list[int]] = {}

    def visit(index: int, prefix: str, members: list[int]) -> None:
        name = f"{prefix}_{tel_names[keys[index]]}"
        members = [*members, keys[index]]
        if len(members) > 1:
            combos[name[1:]] = members
        for step in range(1, len(keys) - index):
            visit(index + step, name, members)

    for start in range(len(keys)):
        visit(start, "", [])
    return combos
