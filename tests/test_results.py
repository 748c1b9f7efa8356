"""results: the coincidence_id of a telescope and its inverse, the profile column, and the
tables of a subrun's result (the feature Parquet table with its extra columns)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmcoinc.results import (
    SubrunResult,
    TelescopeCoincidence,
    coincidence_id,
    profile_column,
    tel_id_of,
    tel_id_of_expr,
)


@given(st.integers(1, 10**9))
def test_coincidence_id_round_trip(tel_id):
    cid = coincidence_id(tel_id)
    assert cid == int("1" + str(tel_id))  # the reference's int("1" + str(tel_id))
    assert tel_id_of(cid) == tel_id
    assert profile_column(tel_id) == f"n_coincidence_tel1{tel_id}"


def test_coincidence_ids_of_the_magic_telescopes():
    assert [coincidence_id(t) for t in (2, 3)] == [12, 13]
    assert coincidence_id(np.int64(3)) == 13 and tel_id_of(np.int64(12)) == 2
    assert [profile_column(t) for t in (2, 3)] == ["n_coincidence_tel12", "n_coincidence_tel13"]
    # ids of ten and more are as the reference makes them
    assert coincidence_id(10) == 110 and tel_id_of(110) == 10


def test_tel_id_of_expr_as_tel_id_of():
    ids = [12, 13, 110, 1_123_456]
    frame = pl.DataFrame({"coincidence_id": ids, "cid": pl.Series(ids, dtype=pl.Int32)})
    out = frame.select(tel_id_of_expr(), tel_id_of_expr("cid").alias("other"))
    assert out.schema == {"coincidence_id": pl.Int64, "other": pl.Int64}
    assert out["coincidence_id"].to_list() == out["other"].to_list() == [
        tel_id_of(c) for c in ids]


def test_number_of_pairs():
    found = TelescopeCoincidence(None, np.zeros(3), np.zeros(3), 0, np.arange(5),
                                 np.array([0, 4, 9]), np.array([1, 2, 3]))
    assert found.n_pairs == 3
    assert (found.clock_offset_ns, found.geometric_delay_ns, found.offset_source) == (
        None, None, "local")


class _Blocks:
    """A stereo table of two blocks."""

    height = 3
    plan = pl.DataFrame({"obs_id": [1, 1, 2]})

    def iter_blocks(self):
        yield pl.DataFrame({"a": [1, 2]})
        yield pl.DataFrame({"a": [3]})


@pytest.fixture
def result() -> SubrunResult:
    feature = pl.DataFrame({"coincidence_id": [12, 13], "n_coincidence": [40, 35]})
    profile = pl.DataFrame({"time_offset": [-3.3, -3.2], "n_coincidence_tel12": [1, 40]})
    return SubrunResult(_Blocks(), feature, profile, telescopes={})


def test_hdf5_tables_are_the_references_and_the_extra_tables(result):
    assert list(result.hdf5_tables()) == ["events", "feature", "profile"]
    extra = pl.DataFrame({"tel_id": [2]})
    result.extra_tables["offset_model"] = extra
    tables = result.hdf5_tables()
    assert list(tables) == ["events", "feature", "profile", "offset_model"]
    assert tables["events"] is result.events and tables["feature"] is result.feature
    assert tables["offset_model"] is extra


def test_parquet_feature_adds_the_extra_columns(result):
    result.feature_extra.update({"clock_offset": [-3.25, None],
                                 "offset_source": pl.Series(["local", "night"])})
    result.extra_tables["offset_model"] = pl.DataFrame({"tel_id": [2]})
    tables = result.parquet_tables()
    assert list(tables) == ["events", "feature", "profile", "offset_model"]
    feature = tables["feature"]
    assert feature.columns == ["coincidence_id", "n_coincidence", "clock_offset",
                               "offset_source"]
    assert feature["clock_offset"].to_list() == [-3.25, None]
    assert feature["offset_source"].to_list() == ["local", "night"]
    assert feature.select(result.feature.columns).equals(result.feature)
    # the HDF5 feature table stays the reference's; the other tables are the same objects
    assert result.hdf5_tables()["feature"].columns == ["coincidence_id", "n_coincidence"]
    for name in ("events", "profile", "offset_model"):
        assert tables[name] is result.hdf5_tables()[name]

