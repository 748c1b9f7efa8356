"""Tests of the column registry: every unit is an astropy unit, every column described."""

from __future__ import annotations

import pytest
from astropy import units as u

from lmcoinc.io.columns import TABLES, describe, is_described

ALL = [(table, name) for table, columns in TABLES.items() for name in columns]


@pytest.mark.parametrize(("table", "name"), ALL, ids=[f"{t}.{n}" for t, n in ALL])
def test_units_are_astropy_units_and_descriptions_are_sentences(table, name):
    column = describe(table, name)
    unit = u.Unit(column.unit)  # "" is dimensionless
    assert (unit == u.dimensionless_unscaled) == (column.unit == "")
    assert len(column.description) > 10 and "\n" not in column.description


def test_time_units_say_what_the_names_say():
    """Columns named ..._us, ..._s, ..._hz (and the reference's µs average_offset)."""
    for table, name in ALL:
        unit = describe(table, name).unit
        for suffix, expected in (("_us_per_s", u.us / u.s), ("_us", u.us), ("_ns", u.ns),
                                 ("_hz", u.Hz), ("_s", u.s)):
            if name.endswith(suffix):
                assert u.Unit(unit) == expected, (table, name)
                break
    assert describe("feature", "average_offset").unit == "us"
    assert describe("profile", "time_offset").unit == "us"
    assert describe("events", "timestamp_ns").unit == "ns"


def test_per_telescope_columns():
    assert describe("profile", "n_coincidence_tel12") == describe("profile",
                                                                  "n_coincidence_tel12")
    assert describe("profile", "n_coincidence_tel12").description.endswith("telescope 2")
    assert describe("summary", "offset_us_tel3").unit == "us"
    assert describe("summary", "drift_us_per_s_tel2").unit == "us / s"
    assert is_described("summary", "fraction_tel2")
    # a pattern of one table does not describe another's column
    assert not is_described("feature", "offset_us_tel3")


def test_unknown_columns_are_said_unknown():
    column = describe("events", "new_parameter")
    assert not is_described("events", "new_parameter")
    assert column.unit == "" and "not described by lmcoinc" in column.description
