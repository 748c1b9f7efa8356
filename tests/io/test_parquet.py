"""Tests of the Parquet schema of the outputs and of their column metadata."""

from __future__ import annotations

import base64
import io
import threading

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lmcoinc.io import parquet
from lmcoinc.io.columns import describe
from lmcoinc.io.parquet import ParquetStream, arrow_schema, parquet_frame, write_parquet


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
    assert parquet_frame("events", out) is out  # in the Parquet schema already: as it is


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


def _schema_metadata(path) -> dict:
    """The metadata of the Arrow schema stored in a Parquet file (``ARROW:schema``)."""
    stored = pq.read_metadata(path).metadata[b"ARROW:schema"]
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(stored))).metadata


def test_the_provenance_is_in_the_key_value_and_the_schema_metadata(tmp_path):
    path = tmp_path / "f.parquet"
    write_parquet(path, "feature", pl.DataFrame({"average_offset": [-3.2]}), '{"a": 1}')
    assert pq.read_metadata(path).metadata[b"lmcoinc"] == b'{"a": 1}'
    assert _schema_metadata(path) == {b"lmcoinc": b'{"a": 1}'}
    write_parquet(path, "feature", pl.DataFrame({"average_offset": [-3.2]}))
    assert b"lmcoinc" not in pq.read_metadata(path).metadata
    assert not pq.read_schema(path).metadata


def test_the_schema_metadata_is_kept_with_a_nested_column(tmp_path):
    """polars drops it from the stored Arrow schema then; it is stored all the same, once."""
    path = tmp_path / "summary.parquet"
    frame = pl.DataFrame({"status": ["ok"], "warnings": [["a", "b"]]})
    write_parquet(path, "summary", frame, '{"a": 1}')
    assert _schema_metadata(path) == {b"lmcoinc": b'{"a": 1}'}
    assert pq.read_schema(path).field("warnings").metadata[b"description"]
    assert path.read_bytes().count(b"ARROW:schema") == 1
    assert pl.read_parquet(path).equals(frame)


def test_the_arrow_schema_keeps_the_types_and_gives_strings_as_large_strings():
    frame = pl.DataFrame({"n_events_lst": pl.Series([1, None], dtype=pl.Int64),
                          "wall_s": [1.7, 0.1], "status": ["ok", None],
                          "warnings": [["a"], []]})
    schema = pa.schema(arrow_schema("summary", frame.schema))
    assert schema.types == [pa.int64(), pa.float64(), pa.large_string(),
                            pa.large_list(pa.large_string())]
    assert all(field.nullable for field in schema)
    assert schema.metadata is None
    # the types and values of the files as pyarrow reads them back: DataFrame.to_arrow's
    buffer = io.BytesIO()
    write_parquet(buffer, "summary", frame)
    buffer.seek(0)
    assert pq.read_table(buffer).to_pylist() == frame.to_arrow().to_pylist()
    buffer.seek(0)
    assert [str(t) for t in pq.read_table(buffer).schema.types] == [
        "int64", "double", "large_string", "large_list<element: large_string>"]


def test_writing_parquet_imports_no_pyarrow():
    import subprocess
    import sys

    code = ("import io, sys, polars as pl\n"
            "from lmcoinc.io.parquet import ParquetStream, write_parquet\n"
            "frame = pl.DataFrame({'average_offset': [1.0]})\n"
            "write_parquet(io.BytesIO(), 'feature', frame, '{}')\n"
            "stream = ParquetStream(io.BytesIO(), 'feature', '{}')\n"
            "for _ in range(3):\n"
            "    stream.write(frame)\n"
            "stream.close()\n"
            "print('pyarrow' in sys.modules)\n")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == "False", found.stderr[-2000:]


# --- a table written block by block ------------------------------------------------------------


def _stream(blocks, provenance: str | None = '{"a": 1}') -> io.BytesIO:
    buffer = io.BytesIO()
    stream = ParquetStream(buffer, "events", provenance)
    for block in blocks:
        stream.write(block)
    stream.close()
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("sizes", [[5], [0], [3, 4], [0, 2, 0], [4, 4, 4, 1]])
def test_a_stream_of_blocks_is_the_file_of_the_whole_table(monkeypatch, sizes):
    """One block or many, the file is the one write_parquet gives for the whole table,
    in row groups of at most ROW_GROUP_ROWS rows."""
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 4)
    whole = pl.DataFrame({"event_id": list(range(sum(sizes))),
                          "intensity": [i / 2 for i in range(sum(sizes))]})
    blocks = [whole.slice(sum(sizes[:i]), n) for i, n in enumerate(sizes)]
    streamed, written = _stream(blocks), io.BytesIO()
    write_parquet(written, "events", whole, '{"a": 1}')
    written.seek(0)
    assert pl.read_parquet(streamed).equals(whole)
    streamed.seek(0)
    assert pq.read_schema(streamed).equals(pq.read_schema(written), check_metadata=True)
    streamed.seek(0)
    groups = pq.ParquetFile(streamed).metadata
    assert all(groups.row_group(i).num_rows <= 4 for i in range(groups.num_row_groups))


def test_the_first_block_sets_the_types():
    blocks = [pl.DataFrame({"event_id": [1], "intensity": [1.5]}),
              pl.DataFrame({"event_id": pl.Series([2], dtype=pl.Int32),
                            "intensity": pl.Series([None], dtype=pl.Null)})]
    assert pl.read_parquet(_stream(blocks)).equals(
        pl.DataFrame({"event_id": [1, 2], "intensity": [1.5, None]}))


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("parquet-")]


def test_an_abort_stops_the_writer_and_a_stream_needs_a_block():
    stream = ParquetStream(io.BytesIO(), "events")
    for _ in range(3):
        stream.write(pl.DataFrame({"event_id": [1]}))
    assert _writers()
    stream.abort()
    assert not _writers()
    stream.abort()  # again: nothing to do
    with pytest.raises(ValueError, match="no block written"):
        ParquetStream(io.BytesIO(), "events").close()


def test_an_error_of_the_writer_is_raised(monkeypatch):
    def failing(*args, **kwargs):
        raise pl.exceptions.ComputeError("cannot write")

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", failing)
    stream = ParquetStream(io.BytesIO(), "events")
    with pytest.raises(pl.exceptions.ComputeError, match="cannot write"):
        for _ in range(50):
            stream.write(pl.DataFrame({"event_id": [1]}))
        stream.close()
    assert not _writers()


def test_the_fields_of_a_schema_are_made_once_and_the_same(monkeypatch):
    """The Arrow fields of a table's columns are kept for the next file of the same columns
    (each with its own provenance); other columns make their own."""
    monkeypatch.setattr(parquet, "_FIELDS", {})
    frame = pl.DataFrame({"obs_id": [1], "intensity": [2.0], "warnings": [["a"]]})
    first = pa.schema(arrow_schema("events", frame.schema, "one"))
    again = pa.schema(arrow_schema("events", frame.schema, "two"))
    assert len(parquet._FIELDS) == 1
    assert again.remove_metadata() == first.remove_metadata()
    assert [f.metadata for f in again] == [f.metadata for f in first]
    assert (first.metadata, again.metadata) == ({b"lmcoinc": b"one"}, {b"lmcoinc": b"two"})
    other = pa.schema(arrow_schema("events", frame.drop("warnings").schema))
    assert len(parquet._FIELDS) == 2 and other.names == ["obs_id", "intensity"]
    monkeypatch.setattr(parquet, "_FIELDS", {})  # made afresh: the same schema
    assert pa.schema(arrow_schema("events", frame.schema, "two")).equals(
        again, check_metadata=True)


def test_files_are_zstd_compressed_at_the_chosen_level():
    """zstd at ZSTD_LEVEL: the column chunks say zstd; the file is the one polars writes at
    that level, smaller than uncompressed."""
    from lmcoinc.io.parquet import ZSTD_LEVEL

    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"intensity": rng.normal(100, 10, 5000).round(2),
                          "n_pixels": rng.integers(0, 50, 5000)})
    buffer = io.BytesIO()
    write_parquet(buffer, "events", frame)
    chunk = pq.ParquetFile(io.BytesIO(buffer.getvalue())).metadata.row_group(0).column(0)
    assert chunk.compression == "ZSTD"
    plain, other = io.BytesIO(), io.BytesIO()
    frame.write_parquet(plain, compression="uncompressed")
    frame.write_parquet(other, compression="zstd", compression_level=ZSTD_LEVEL + 9)
    assert len(buffer.getvalue()) < len(plain.getvalue())
    assert len(buffer.getvalue()) != len(other.getvalue())  # the level is the one given
    assert pl.read_parquet(io.BytesIO(buffer.getvalue())).equals(frame)
