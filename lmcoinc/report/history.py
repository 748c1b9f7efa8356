"""The known LST-1 → MAGIC clock offset for the time of each subrun, for the report's night plot.

The values are those of the offset history (:mod:`lmcoinc.config.history`: the
packaged table, or another one given).
"""

from __future__ import annotations

import numpy as np

from ..config.history import OffsetHistory, night_of, packaged_history

__all__ = ["history_offset_us"]


def history_offset_us(unix_s: np.ndarray, history: OffsetHistory | None = None) -> np.ndarray:
    """The known offset (µs) for the night of each time (UNIX s); NaN where none is known."""
    history = history if history is not None else packaged_history()
    out = np.full(len(unix_s), np.nan)
    for i, t in enumerate(np.asarray(unix_s, dtype=np.float64)):
        if np.isfinite(t):
            entry = history.entry_at(night_of(int(np.floor(t)) * 10**9))
            out[i] = np.nan if entry is None else entry.offset_ns / 1000.0
    return out
