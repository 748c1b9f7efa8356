"""The known LST-1 → MAGIC clock offsets by date, for the report's night plot.

The list of the SPEC (the seed's comments). A packaged, user-extendable
offset history may replace :func:`history_offset_us`; the report calls only it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

__all__ = ["KNOWN_OFFSETS", "history_offset_us", "night_date"]

#: (first night, last night, offset in µs), both nights included; None: open.
KNOWN_OFFSETS: tuple[tuple[date | None, date | None, float], ...] = (
    (None, date(2021, 6, 11), -3.1),
    (date(2021, 6, 13), date(2023, 2, 28), -6.5),
    (date(2023, 3, 10), date(2023, 3, 30), -76039.3),
    (date(2023, 4, 13), date(2023, 8, 31), -25.1),
    (date(2023, 9, 11), date(2023, 11, 14), -6.2),
    (date(2023, 11, 15), date(2023, 11, 15), -1583.8),
    (date(2023, 11, 16), date(2023, 11, 30), 118.8),
    (date(2023, 12, 1), None, -3.2),
)


def night_date(unix_s: float) -> date:
    """The date of the night of a time: the UTC date 12 hours earlier (evening's date)."""
    return (datetime.fromtimestamp(unix_s, tz=timezone.utc) - timedelta(hours=12)).date()


def history_offset_us(unix_s: np.ndarray) -> np.ndarray:
    """The known offset (µs) for the night of each time (UNIX s); NaN where none is known."""
    out = np.full(len(unix_s), np.nan)
    for i, t in enumerate(np.asarray(unix_s, dtype=np.float64)):
        if not np.isfinite(t):
            continue
        night = night_date(float(t))
        for first, last, offset in KNOWN_OFFSETS:
            if (first is None or first <= night) and (last is None or night <= last):
                out[i] = offset
                break
    return out
