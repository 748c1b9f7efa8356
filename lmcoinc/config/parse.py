"""The configuration: the YAML keys of magic-cta-pipe (and lmcoinc's own), validated into a
frozen object that holds what the user configured and nothing else."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ConfigError
from ..io.lst import TIMESTAMP_COLUMNS
from .clock_keys import OFFSET_MODELS, clock_settings, drift_settings
from .cluster import ClusterSettings, cluster_settings
from .history import OffsetHistory, packaged_history
from .quantities import quantity_ns

__all__ = [
    "LST_NAMES",
    "MAGIC_NAMES",
    "OFFSET_MODELS",
    "TIMESTAMP_TYPES_LST",
    "CoincidenceConfig",
    "commented_config_text",
    "default_config_text",
    "load_config",
    "parse_config",
    "telescope_combinations",
]

LST_NAMES = ("LST-1", "LST-2", "LST-3", "LST-4")
MAGIC_NAMES = ("MAGIC-I", "MAGIC-II")
#: The LST-1 timestamp columns ``timestamp_type_lst`` may name.
TIMESTAMP_TYPES_LST = TIMESTAMP_COLUMNS
#: The keys of the event_coincidence section (others are typos: warned about).
COINCIDENCE_KEYS = ("timestamp_type_lst", "window_half_width", "pre_offset_search",
                    "n_pre_offset_search_events", "time_offset", "geometric_delay",
                    "min_coincidences", "offset_history", "offset_model",
                    "max_clock_offset", "max_drift_us_per_s", "drift_slice")
#: The top-level keys lmcoinc reads; magic-cta-pipe's other sections are ignored in
#: silence, other keys close to one of these are warned about as typos.
TOP_KEYS = ("mc_tel_ids", "event_coincidence", "save_images", "cluster")
_OFFSET_KEYS = ("start", "stop")

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
    geometric_delay : bool
        Remove each event's light-travel delay before the scan and the pairing.
    min_coincidences : int
        Fewer coincidences make a telescope's result weak (fallbacks, night model).
    offset_history : OffsetHistory
        The known clock offsets by night (the packaged table, extended or replaced).
    history_tolerance_ns : int
        Warn when a clock offset is farther than this from the history's.
    history_fallback : bool or None
        Scan around the history's offset when the subrun's own result is weak
        (None: not set, the command's default: off in ``run``, on in ``batch``).
    offset_model : str
        How the clock offset may change within a subrun, one of
        :data:`~lmcoinc.config.clock_keys.OFFSET_MODELS`: "constant" (the
        reference's one offset per subrun) or "drift" (an offset that changes
        with time, for a broken MAGIC GPS).
    max_clock_offset_ns : int
        Drift mode: the largest clock offset searched (either sign).
    max_drift_ns_per_s : float
        Drift mode: the largest drift of the offset searched (either sign).
    drift_slice_ns : int
        Drift mode: the length of the time slices that track the offset.
    raw : dict
        The YAML document as read.
    cluster : ClusterSettings or None
        The ``cluster`` section: the Dask workers ``batch`` may start (no part of
        the computation: not compared, not in the subruns' fingerprints).
    """

    tel_ids: dict[str, int]
    timestamp_type_lst: str = "dragon_time"
    window_half_width_ns: int = 300
    pre_offset_search: bool = True
    n_pre_offset_search_events: int = 100
    offset_start_ns: int = -10_000
    offset_stop_ns: int = 0
    save_images: bool = False
    geometric_delay: bool = False
    min_coincidences: int = 10
    offset_history: OffsetHistory = field(default_factory=packaged_history)
    history_tolerance_ns: int = 1000
    history_fallback: bool | None = None
    offset_model: str = "constant"
    max_clock_offset_ns: int = 10_000_000_000
    max_drift_ns_per_s: float = 20_000.0
    drift_slice_ns: int = 1_000_000_000
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    cluster: ClusterSettings | None = field(default=None, compare=False, repr=False)

    @property
    def tel_names(self) -> dict[int, str]:
        """Telescope id → name, for the telescopes in use, in config order."""
        return {v: k for k, v in self.tel_ids.items() if v > 0}

    @property
    def magic_tel_ids(self) -> list[int]:
        """The ids of MAGIC-I and MAGIC-II, those in use."""
        return [self.tel_ids[n] for n in MAGIC_NAMES if self.tel_ids.get(n, 0) > 0]


def default_config_text() -> str:
    """Return the text of the default configuration file."""
    return resources.files("lmcoinc").joinpath("resources/config.yaml").read_text()


def commented_config_text() -> str:
    """Return every key with its default value and a comment: a config to start from.

    Loaded, it gives the same settings as the default configuration.
    """
    return resources.files("lmcoinc").joinpath("resources/config_commented.yaml").read_text()


def load_config(path: str | Path | None = None, **overrides: Any) -> CoincidenceConfig:
    """Read and validate a YAML configuration file (None: the default one).

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The YAML file, with magic-cta-pipe's keys (default: the built-in one).
    **overrides
        Keys to set before validation: those of ``event_coincidence``
        (``window_half_width="200 ns"``, ``offset_model="drift"``, ...) or of
        the top level (``save_images=True``, ``mc_tel_ids={...}``). A mapping
        is merged into the file's (``time_offset={"start": "-5 us"}``).

    Returns
    -------
    CoincidenceConfig
        The validated settings.

    Raises
    ------
    ConfigError
        If the file is missing, not YAML, or a key is missing, unknown (an
        override) or invalid: the errors of ``lmcoinc run -c``, whose exit code
        is 12.

    Examples
    --------
    >>> import lmcoinc
    >>> lmcoinc.load_config(window_half_width="200 ns").window_half_width_ns
    200
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
    if overrides and isinstance(raw, dict):
        raw = _overridden(raw, overrides, name)
    return parse_config(raw, name)


def _overridden(raw: dict, overrides: dict[str, Any], name: str) -> dict:
    """The document with ``overrides`` set (mappings merged), top level or event_coincidence."""
    raw = dict(raw)
    for key, value in overrides.items():
        if key in TOP_KEYS:
            where = raw
        elif key in COINCIDENCE_KEYS:
            section = raw.get("event_coincidence")
            where = raw["event_coincidence"] = dict(section if isinstance(section, dict) else {})
        else:
            close = _closest(key, TOP_KEYS + COINCIDENCE_KEYS)
            hint = f"; did you mean {close}?" if close else ""
            raise ConfigError(f"{name}: {key}: unknown key{hint}")
        old = where.get(key)
        where[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else (
            value)
    return raw


def _closest(key: Any, known: tuple[str, ...], cutoff: float = 0.6) -> str | None:
    """The known key closest to ``key`` (a typo of it), or None."""
    found = difflib.get_close_matches(str(key), known, n=1, cutoff=cutoff)
    return found[0] if found else None


def _warn_unknown(mapping: dict, known: tuple[str, ...], prefix: str, name: str,
                  only_typos: bool = False) -> None:
    """Warn about each key of ``mapping`` that is not ``known``, naming the closest known key.

    With ``only_typos``, keys close to no known key pass in silence (the
    top level of a magic-cta-pipe config has sections for its other scripts).
    """
    for key in mapping:
        if key in known:
            continue
        close = _closest(key, known, cutoff=0.8 if only_typos else 0.6)
        if close is not None:
            log.warning("%s: %s%s: unknown key, ignored; did you mean %s?",
                        name, prefix, key, close)
        elif not only_typos:
            log.warning("%s: %s%s: unknown key, ignored (known keys: %s)",
                        name, prefix, key, ", ".join(known))


def _require(mapping: dict, key: str, path: str, name: str,
             known: tuple[str, ...] = ()) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        typo = None
        if isinstance(mapping, dict):
            unknown = tuple(str(k) for k in mapping if k not in known)
            typo = _closest(key, unknown)
        hint = f" ({typo} is not a known key: a typo?)" if typo else ""
        raise ConfigError(f"{name}: missing key {path}{hint}")
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
    _warn_unknown(raw, TOP_KEYS, "", name, only_typos=True)
    tel_ids = _check_tel_ids(_require(raw, "mc_tel_ids", "mc_tel_ids", name, TOP_KEYS), name)
    coinc = _require(raw, "event_coincidence", "event_coincidence", name, TOP_KEYS)
    if not isinstance(coinc, dict):
        raise ConfigError(f"{name}: event_coincidence must be a mapping")
    _warn_unknown(coinc, COINCIDENCE_KEYS, "event_coincidence.", name)
    key = "event_coincidence.timestamp_type_lst"
    ts_type = _require(coinc, "timestamp_type_lst", key, name, COINCIDENCE_KEYS)
    if ts_type not in TIMESTAMP_TYPES_LST:
        raise ConfigError(
            f"{name}: {key} = {ts_type!r} is unknown; use one of {', '.join(TIMESTAMP_TYPES_LST)}"
        )
    key = "event_coincidence.window_half_width"
    window = quantity_ns(_require(coinc, "window_half_width", key, name, COINCIDENCE_KEYS),
                         key, name)
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
        n_pre = _require(coinc, "n_pre_offset_search_events", key, name, COINCIDENCE_KEYS)
        if isinstance(n_pre, bool) or not isinstance(n_pre, int) or n_pre <= 0:
            raise ConfigError(f"{name}: {key} must be a positive integer, got {n_pre!r}")
    else:
        offsets = _require(coinc, "time_offset", "event_coincidence.time_offset", name,
                           COINCIDENCE_KEYS)
        if isinstance(offsets, dict):
            _warn_unknown(offsets, _OFFSET_KEYS, "event_coincidence.time_offset.", name)
        bounds = []
        for end in ("start", "stop"):
            key = f"event_coincidence.time_offset.{end}"
            value = _require(offsets, end, key, name, _OFFSET_KEYS)
            bounds.append(int(np.round(quantity_ns(value, key, name))))
        start_ns, stop_ns = bounds
        if stop_ns <= start_ns:
            raise ConfigError(
                f"{name}: event_coincidence.time_offset.stop must be above start "
                f"({offsets['stop']!r} <= {offsets['start']!r})"
            )
    save_images = raw.get("save_images", False)
    if not isinstance(save_images, bool):
        raise ConfigError(f"{name}: save_images must be true or false")
    offset_keys = clock_settings(coinc, name)
    return CoincidenceConfig(
        **drift_settings(coinc, name),
        tel_ids=tel_ids,
        timestamp_type_lst=ts_type,
        window_half_width_ns=window_ns,
        pre_offset_search=pre,
        n_pre_offset_search_events=n_pre,
        offset_start_ns=start_ns,
        offset_stop_ns=stop_ns,
        save_images=save_images,
        raw=raw,
        cluster=cluster_settings(raw.get("cluster"), name),
        **offset_keys,
    )


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
