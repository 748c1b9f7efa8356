"""The offset history: the packaged table, nights, user tables (their config keys:
test_clock_keys.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from lmcoinc.config import parse_config
from lmcoinc.config.history import night_of, packaged_history
from lmcoinc.errors import ConfigError, exit_code

from ..helpers.configs import with_key

D = dt.date
HISTORY = "event_coincidence.offset_history"

#: The dated list of SPEC.md (the seed's comments), µs.
SPEC_LIST = [
    (None, D(2021, 6, 11), -3.1),
    (D(2021, 6, 13), D(2023, 2, 28), -6.5),
    (D(2023, 3, 10), D(2023, 3, 30), -76039.3),
    (D(2023, 4, 13), D(2023, 8, 31), -25.1),
    (D(2023, 9, 11), D(2023, 11, 14), -6.2),
    (D(2023, 11, 15), D(2023, 11, 15), -1583.8),
    (D(2023, 11, 16), D(2023, 11, 30), 118.8),
    (D(2023, 12, 1), None, -3.2),
]


def _ns(year, month, day, hour=0, minute=0):
    moment = dt.datetime(year, month, day, hour, minute, tzinfo=dt.timezone.utc)
    return int(moment.timestamp()) * 10**9


def test_packaged_table_is_the_spec_list():
    entries = packaged_history().entries
    assert [(e.start, e.end, e.offset_ns / 1000) for e in entries] == SPEC_LIST
    history = packaged_history()
    for start, end, offset in SPEC_LIST:
        for night in (start, end):
            if night is not None:
                assert history.entry_at(night).offset_ns == round(offset * 1000)
    # gaps are unknown
    for night in (D(2021, 6, 12), D(2023, 3, 5), D(2023, 4, 1), D(2023, 9, 5)):
        assert history.entry_at(night) is None
    assert history.entry_at(D(2010, 1, 1)).offset_ns == -3100
    assert history.entry_at(D(2030, 1, 1)).offset_ns == -3200


def test_night_begins_at_noon_utc():
    assert night_of(_ns(2023, 12, 2, 1, 0)) == D(2023, 12, 1)  # after midnight: the night before
    assert night_of(_ns(2023, 12, 1, 21, 0)) == D(2023, 12, 1)
    assert night_of(_ns(2023, 12, 1, 12, 0)) == D(2023, 12, 1)
    assert night_of(_ns(2023, 12, 1, 11, 59)) == D(2023, 11, 30)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- [1, 2]\n", "entry 1 must be a mapping with exactly the keys start, end, offset_us"),
        ("- {start: null, end: null}\n", "entry 1 must be a mapping"),
        ("- {start: null, end: null, offset_us: x}\n", "entry 1: offset_us must be a number"),
        ("- {start: null, end: null, offset_us: .nan}\n", "entry 1: offset_us must be a number"),
        ("- {start: 2023-13-01, end: null, offset_us: 1}\n", "is not valid YAML"),
        ("- {start: '2023-13-01', end: null, offset_us: 1}\n", "entry 1: start must be a date"),
        ("- {start: 2023-12-01 10:00:00, end: null, offset_us: 1}\n",
         "entry 1: start must be a date"),
        ("- {start: 2023-12-02, end: 2023-12-01, offset_us: 1}\n",
         "entry 1: end 2023-12-01 is before start 2023-12-02"),
        ("- {start: null, end: 2023-12-02, offset_us: 1}\n"
         "- {start: 2024-01-01, end: null, offset_us: 1}\n"
         "- {start: 2023-12-02, end: 2023-12-03, offset_us: 2}\n", "entries 1 and 3 overlap"),
        ("{start: 2023-12-02}\n", "must be a non-empty YAML list"),
        ("[\n", "is not valid YAML"),
    ],
)
def test_invalid_user_table(tmp_path, text, problem):
    table = tmp_path / "bad_offsets.yaml"
    table.write_text(text)
    with pytest.raises(ConfigError) as info:
        parse_config(with_key(HISTORY, {"file": str(table)}), "cfg.yaml")
    assert exit_code(info.value) == 12
    assert "bad_offsets.yaml" in str(info.value) and problem in str(info.value)
