"""The batch summary: its schema per MAGIC telescope, rows to a frame, the atomic write,
the peak memory."""

from __future__ import annotations

import errno
import subprocess
import sys

import polars as pl
import pyarrow.parquet as pq
import pytest

from lmcoinc.batch import summary
from lmcoinc.batch.summary import (
    STATUSES,
    max_rss_mb,
    summary_frame,
    summary_schema,
    write_summary,
)
from lmcoinc.errors import OutputError

#: Columns every summary has, whatever the telescopes, and their types.
IDENTITY = {"lst_file": pl.String, "obs_id": pl.Int64, "subrun": pl.Int64, "status": pl.String,
            "exit_code": pl.Int64, "error": pl.String, "warnings": pl.List(pl.String),
            "n_lst_events": pl.Int64,
            "seconds": pl.Float64, "max_rss_mb": pl.Float64}


def _per_tel(schema: dict, tel_id: int) -> dict:
    """The columns of one telescope, with the telescope suffix removed."""
    suffix = f"_tel{tel_id}"
    return {c.removesuffix(suffix): t for c, t in schema.items() if c.endswith(suffix)}


def test_schema_per_telescope():
    none, two = summary_schema([]), summary_schema([2, 3])
    assert {c: none[c] for c in IDENTITY} == IDENTITY
    assert not [c for c in none if "_tel" in c]
    # each telescope has the same columns, with its id
    tel2, tel3 = _per_tel(two, 2), _per_tel(two, 3)
    assert tel2 == tel3 and len(tel2) >= 4
    assert _per_tel(summary_schema([7]), 7) == tel2
    assert set(two) == set(none) | {f"{c}_tel{t}" for c in tel2 for t in (2, 3)}
    # counts are integers, offsets and fractions floats
    assert tel2["n_coincidence"] == tel2["n_events_magic"] == pl.Int64
    assert tel2["offset_us"] == tel2["clock_offset_us"] == tel2["fraction"] == pl.Float64
    # the telescopes in the given order, the identity first
    assert list(two)[:8] == list(IDENTITY)[:8]
    tel_columns = [c for c in two if c.endswith(("_tel2", "_tel3"))]
    assert tel_columns == sorted(tel_columns, key=lambda c: c.endswith("_tel3"))


def test_rows_to_frame_in_order():
    rows = [
        {"lst_file": "b.h5", "obs_id": 1, "subrun": 7, "status": "ok", "exit_code": 0,
         "offset_us_tel2": -3.2, "n_coincidence_tel2": 12, "not_a_column": "dropped"},
        {"lst_file": "a.h5", "status": "failed", "exit_code": 13, "error": "a.h5: truncated"},
    ]
    frame = summary_frame(rows, [2])
    assert frame.schema == pl.Schema(summary_schema([2]))
    assert frame["lst_file"].to_list() == ["b.h5", "a.h5"]  # the rows' order, not sorted
    assert frame["subrun"].to_list() == [7, None]  # missing keys: null
    assert frame["offset_us_tel2"].to_list() == [-3.2, None]
    assert frame["n_coincidence_tel2"].to_list() == [12, None]
    assert frame["error"].to_list() == [None, "a.h5: truncated"]
    assert "not_a_column" not in frame.columns
    empty = summary_frame([], [2, 3])
    assert empty.height == 0 and empty.schema == pl.Schema(summary_schema([2, 3]))


def test_statuses():
    assert set(STATUSES) == {"ok", "skipped", "no_coincidence", "failed"}


def test_write_summary_atomically(tmp_path, monkeypatch):
    path = tmp_path / "summary.parquet"
    first = summary_frame([{"lst_file": "a.h5", "status": "ok"}], [2, 3])
    write_summary(first, path)
    assert pl.read_parquet(path).equals(first)
    assert pq.read_schema(path).field("seconds").metadata[b"unit"] == b"s"  # described

    def full_disk(temp, table, frame, provenance):
        temp.write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(summary, "write_parquet", full_disk)
    with pytest.raises(OutputError, match="summary.parquet: cannot write .no space left"):
        write_summary(first, path)
    assert pl.read_parquet(path).equals(first)  # the earlier summary is kept
    assert [p.name for p in tmp_path.iterdir()] == ["summary.parquet"]  # no temporary left


def test_max_rss_is_the_peak_of_this_process():
    code = ("import numpy as np; from lmcoinc.batch.summary import max_rss_mb\n"
            "before = max_rss_mb(); a = np.ones(200 * 2**20 // 8); del a\n"
            "print(before, max_rss_mb())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    before, after = map(float, out.stdout.split())
    assert 0 < before and 190 < after - before < 260  # the 200 MB array, freed: still the peak
    here = max_rss_mb()
    assert here is not None and here > 0
