"""The history of the LST-1 → MAGIC clock offset: date ranges → offset, as data.

The packaged table (``lmcoinc/resources/offset_history.yaml``) holds the
offsets known from earlier data; a user table of the same form extends it
(its entries take precedence) or replaces it. A night is named by the UTC
date on which it begins: :func:`night_of` of a timestamp is the UTC date
12 hours earlier.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

__all__ = [
    "PACKAGED_HISTORY",
    "HistoryEntry",
    "OffsetHistory",
    "load_history_file",
    "night_of",
    "packaged_history",
    "parse_history",
]

#: Name of the packaged table (in messages and the ``source`` of its entries).
PACKAGED_HISTORY = "lmcoinc/resources/offset_history.yaml"
_KEYS = ("start", "end", "offset_us")


@dataclass(frozen=True)
class HistoryEntry:
    """A date range (inclusive; None: open) and the clock offset known for it.

    Attributes
    ----------
    start, end : datetime.date or None
        First and last night of the range.
    offset_ns : int
        MAGIC minus LST-1 clock (ns).
    source : str
        The table it comes from.
    """

    start: dt.date | None
    end: dt.date | None
    offset_ns: int
    source: str

    def covers(self, night: dt.date) -> bool:
        """Whether ``night`` lies within the range."""
        return (self.start is None or self.start <= night) and (
            self.end is None or night <= self.end)

    def dates(self) -> str:
        """The range as text, e.g. ``2023-12-01…`` or ``…2021-06-11``."""
        first, last = self.start or "", self.end or ""
        return f"{first}" if self.start is not None and self.start == self.end else (
            f"{first}…{last}")


@dataclass(frozen=True)
class OffsetHistory:
    """Entries in order of precedence: a later entry covering a night wins."""

    entries: tuple[HistoryEntry, ...]

    def entry_at(self, night: dt.date) -> HistoryEntry | None:
        """The entry that gives the offset of ``night`` (None: not known)."""
        return next((e for e in reversed(self.entries) if e.covers(night)), None)

    def extended(self, other: OffsetHistory) -> OffsetHistory:
        """This history with ``other``'s entries taking precedence."""
        return OffsetHistory(self.entries + other.entries)


def night_of(t_ns: int) -> dt.date:
    """The night (UTC date on which it begins) of a UNIX timestamp in ns."""
    seconds = t_ns // 10**9 - 12 * 3600
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).date()


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, (dt.date, str)):
        raise ConfigError(f"{where} must be a date (YYYY-MM-DD) or null, got {value!r}")
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{where} must be a date (YYYY-MM-DD), got {value!r}") from None
    return value


def _entry(item: Any, where: str, source: str) -> HistoryEntry:
    if not isinstance(item, dict) or set(item) != set(_KEYS):
        raise ConfigError(f"{where} must be a mapping with exactly the keys "
                          f"{', '.join(_KEYS)}, got {item!r}")
    offset = item["offset_us"]
    if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not math.isfinite(
            offset):
        raise ConfigError(f"{where}: offset_us must be a number (µs), got {offset!r}")
    start, end = _date(item["start"], f"{where}: start"), _date(item["end"], f"{where}: end")
    if start is not None and end is not None and end < start:
        raise ConfigError(f"{where}: end {end} is before start {start}")
    return HistoryEntry(start, end, int(round(offset * 1000)), source)


def parse_history(raw: Any, name: str) -> OffsetHistory:
    """Validate a history table (a list of ``{start, end, offset_us}`` mappings).

    Raises
    ------
    ConfigError
        Naming ``name`` and the entry, if the table is not such a list, a
        date or offset is invalid, or two entries overlap.
    """
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{name}: an offset history must be a non-empty YAML list of "
                          "{start, end, offset_us} mappings")
    entries = [_entry(item, f"{name}: entry {i + 1}", name) for i, item in enumerate(raw)]
    low, high = dt.date.min, dt.date.max
    spans = sorted(((e.start or low, e.end or high, i) for i, e in enumerate(entries)))
    for (_, end, i), (start, _, j) in zip(spans, spans[1:], strict=False):
        if start <= end:
            first, second = sorted((i + 1, j + 1))
            raise ConfigError(f"{name}: entries {first} and {second} overlap")
    return OffsetHistory(tuple(entries))


def load_history_file(path: str | Path, key: str) -> OffsetHistory:
    """Read and validate a user's history table (``key``: the config key naming it).

    Raises
    ------
    ConfigError
        If the file cannot be read, is not YAML, or is not a valid table.
    """
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        problem = getattr(err, "strerror", None) or "not a text file"
        raise ConfigError(f"{key}: cannot read the offset history {path} ({problem})") from None
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError):  # ValueError: a date such as 2023-13-01
        raise ConfigError(f"{key}: {path} is not valid YAML") from None
    return parse_history(raw, str(path))


@functools.lru_cache(maxsize=1)
def packaged_history() -> OffsetHistory:
    """The packaged history table."""
    text = resources.files("lmcoinc").joinpath("resources/offset_history.yaml").read_text()
    return parse_history(yaml.safe_load(text), PACKAGED_HISTORY)
