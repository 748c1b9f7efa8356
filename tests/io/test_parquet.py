"""Tests of the Parquet schema of the outputs and of their column metadata."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from lmcoinc.io.columns import describe
from lmcoinc.io.parquet import arrow_table, parquet_frame, write_parquet


def test_ids_that_may_be_missing_are_nullable_integers():
    frame = pl.DataFrame({
        "obs_id": [3265, 5093711], "obs_id_lst": [3265.0, None],
        "event_id_lst": [12.0, None], "tel_id": pl.Series([1, 2], dtype=pl.UInt8),
        "intensity": pl.Series([1.5, 2.5], dtype=pl.Float32), "name": ["a", "b"],
    })
    out = parquet_frame("events", frame)
    assert out.schema == pl.Schema({"obs_id": pl.Int64, "obs_id_lst": pl.Int64,
                                    "event_id_lst": pl.Int64, "tel_id": pl.Int64,
                                    "intensity": pl.Float64, "name": pl.String})
    assert out["obs_id_lst"].to_list() == [3265, None]
    assert out["intensity"].to_list() == [1.5, 2.5]


def test_profile_has_a_column_per_configured_telescope():
    profile = pl.DataFrame({"time_offset": [-3.3, -3.2], "n_coincidence_tel13": [1, 5]})
    out = parquet_frame("profile", profile, [3, 2])
    assert out.columns == ["time_offset", "n_coincidence_tel12", "n_coincidence_tel13"]
    assert out["n_coincidence_tel12"].to_list() == [None, None]


def test_every_column_carries_unit_and_description_and_the_file_its_provenance(tmp_path):
    frame = pl.DataFrame({"average_offset": [-3.2], "n_coincidence": [10],
                          "offset_source": ["local"]})
    path = tmp_path / "f.parquet"
    write_parquet(path, "feature", frame, '{"lmcoinc_version": "x"}')
    schema = pq.read_schema(path)
    for field in schema:
        column = describe("feature", field.name)
        assert field.metadata == {b"unit": column.unit.encode(),
                                  b"description": column.description.encode()}
    assert schema.field("average_offset").metadata[b"unit"] == b"us"
    assert schema.metadata[b"lmcoinc"] == b'{"lmcoinc_version": "x"}'
    # the values are those of the frame for every reader
    assert pl.read_parquet(path).equals(frame)
    assert pd.read_parquet(path)["n_coincidence"].tolist() == [10]


def test_arrow_table_keeps_values_and_types():
    frame = pl.DataFrame({"obs_id_lst": pl.Series([1, None], dtype=pl.Int64),
                          "timestamp": [1.7e9, 1.7e9 + 0.1]})
    table = arrow_table("events", frame)
    assert pl.from_arrow(table).equals(frame)
    assert table.schema.metadata is None
