"""The known clock offset of each subrun's night, for the report's night plot."""

from __future__ import annotations

import datetime as dt

import numpy as np

from lmcoinc.config.history import HistoryEntry, OffsetHistory, packaged_history
from lmcoinc.report.history import history_offset_us

HISTORY = OffsetHistory((
    HistoryEntry(None, dt.date(2021, 6, 11), -3100, "mine"),
    HistoryEntry(dt.date(2023, 11, 15), dt.date(2023, 11, 15), -1_583_800, "mine"),
    HistoryEntry(dt.date(2023, 12, 1), None, -3200, "mine"),
))


def _unix(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def test_offset_of_the_night():
    times = {
        "2020-01-01T22:00": -3.1,
        "2021-06-12T11:59": -3.1,  # still the night of the 11th (nights start at noon UTC)
        "2021-06-12T12:00": np.nan,
        "2023-11-15T20:00": -1583.8,
        "2023-11-16T05:00": -1583.8,  # after midnight: the night of the 15th
        "2023-11-16T22:00": np.nan,
        "2023-12-01T23:30": -3.2,
        "2030-01-01T01:00": -3.2,
    }
    found = history_offset_us(np.array([_unix(t) for t in times]), HISTORY)
    np.testing.assert_array_equal(found, list(times.values()))
    assert np.isnan(history_offset_us(np.array([np.nan, np.inf]), HISTORY)).all()
    assert history_offset_us(np.array([]), HISTORY).shape == (0,)


def test_later_entries_win_and_the_packaged_table_by_default():
    override = HISTORY.extended(OffsetHistory((
        HistoryEntry(dt.date(2023, 12, 5), dt.date(2023, 12, 5), 118_800, "user"),)))
    t = np.array([_unix("2023-12-05T23:00"), _unix("2023-12-06T23:00")])
    np.testing.assert_array_equal(history_offset_us(t, override), [118.8, -3.2])
    packaged = packaged_history()
    expected = [packaged.entry_at(dt.date(2023, 12, d)).offset_ns / 1000 for d in (5, 6)]
    np.testing.assert_array_equal(history_offset_us(t), expected)
