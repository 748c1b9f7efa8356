"""quality/found_offsets: the offsets of an output directory beside the history's: per subrun
and telescope, the night, the history's offset, the difference and whether it is far; errors
for a directory that is not an output and for unreadable feature files."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest

from lmcoinc.config.history import (
    PACKAGED_HISTORY,
    HistoryEntry,
    OffsetHistory,
    night_of,
    packaged_history,
)
from lmcoinc.errors import InvalidFileError
from lmcoinc.io.dataset import partition_file
from lmcoinc.io.provenance import run_ids
from lmcoinc.quality.found_offsets import found_offsets, history_frame

D = dt.date
HISTORY = OffsetHistory((HistoryEntry(None, D(2023, 3, 4), -6500, "mine.yaml"),
                         HistoryEntry(D(2023, 3, 6), None, -3200, "mine.yaml")))


def _unix(year, month, day, hour) -> float:
    return dt.datetime(year, month, day, hour, tzinfo=dt.timezone.utc).timestamp() + 0.25


def _feature(directory, stem, rows) -> None:
    """A feature Parquet file: rows of (coincidence_id, unix_time, average_offset,
    n_coincidence[, clock_offset, offset_source])."""
    columns = ["coincidence_id", "unix_time", "average_offset", "n_coincidence", "clock_offset",
               "offset_source"]
    frame = pl.DataFrame([dict(zip(columns, row, strict=False)) for row in rows])
    directory.mkdir(exist_ok=True)
    frame.write_parquet(directory / f"{stem}.feature.parquet")


def test_hand_made_directory(tmp_path):
    out = tmp_path / "out"
    _feature(out, "dl1_MAGIC_LST-1.Run09000.0001", [
        (12, _unix(2023, 3, 8, 1), -3.1, 50, -3.25, "local"),     # night of the 7th
        (13, _unix(2023, 3, 7, 23), -3.3, 40, -1.2, "night"),     # the same night, far
    ])
    _feature(out, "dl1_MAGIC_LST-1.Run09000.0000", [
        (12, _unix(2023, 3, 5, 13), -2.0, 7, None, "local"),     # a night the history lacks
        (13, _unix(2023, 3, 5, 11), -6.4, 30, -6.45, "history"),  # before noon: the 4th
    ])
    # an output made before the clock columns existed
    _feature(out, "dl1_MAGIC_LST-1.Run08000.0000", [(12, _unix(2022, 1, 1, 2), -6.6, 9)])
    (out / "dl1_MAGIC_LST-1.Run09000.0000.events.parquet").write_bytes(b"not read")
    found = found_offsets(out, HISTORY, tolerance_ns=1000)
    assert found.columns == ["lst_obs_id", "lst_subrun", "tel_id", "night", "offset_us",
                             "clock_offset_us", "offset_source", "n_coincidence", "history_us",
                             "difference_us", "far"]
    assert found.schema["night"] == pl.Date and found.schema["tel_id"] == pl.Int64
    assert found.schema["lst_obs_id"] == found.schema["lst_subrun"] == pl.Int64
    rows = found.select(pl.exclude("lst_obs_id", "lst_subrun")).rows()
    # the subruns in order (from the file names)
    assert found.select("lst_obs_id", "lst_subrun").rows() == [
        (8000, 0), (9000, 0), (9000, 0), (9000, 1), (9000, 1)]
    assert rows[0] == (2, D(2021, 12, 31), -6.6, None, None, 9, -6.5, None, None)
    assert rows[1] == (2, D(2023, 3, 5), -2.0, None, "local", 7, None, None, None)
    assert rows[2][:8] == (3, D(2023, 3, 4), -6.4, -6.45, "history", 30, -6.5, pytest.approx(0.05))
    assert rows[2][8] is False
    assert rows[3][:8] == (2, D(2023, 3, 7), -3.1, -3.25, "local", 50, -3.2, pytest.approx(-0.05))
    assert rows[4][:8] == (3, D(2023, 3, 7), -3.3, -1.2, "night", 40, -3.2, pytest.approx(2.0))
    assert [r[8] for r in rows[3:]] == [False, True]
    # far: farther than the tolerance
    assert found_offsets(out, HISTORY, tolerance_ns=10)["far"].to_list() == [
        None, None, True, True, True]


def test_run_outputs_of_a_night(run_outputs, night):
    out = run_outputs()
    found = found_offsets(out, packaged_history(), 1000)
    features = {run_ids(p): pl.read_parquet(p) for p in sorted(out.glob("*.feature.parquet"))}
    assert len(features) == len(night.lst_files) == 3
    assert found.height == sum(f.height for f in features.values()) == 6
    for row in found.iter_rows(named=True):
        feature = features[row["lst_obs_id"], row["lst_subrun"]].filter(
            pl.col("coincidence_id") == int(f"1{row['tel_id']}")).row(0, named=True)
        night_date = night_of(int(feature["unix_time"] * 1e9))
        history_us = packaged_history().entry_at(night_date).offset_ns / 1000
        assert row["night"] == night_date
        assert row["offset_us"] == feature["average_offset"]
        assert row["clock_offset_us"] == feature["clock_offset"]
        assert row["offset_source"] == feature["offset_source"] == "local"
        assert row["history_us"] == history_us
        assert row["difference_us"] == feature["clock_offset"] - history_us
        assert row["far"] is (abs(row["difference_us"]) > 1.0)


def test_batch_output_as_its_run_outputs(run_outputs, batch_output):
    """The batch's dataset gives the offsets its subruns' run outputs give."""
    of_run = found_offsets(run_outputs(), packaged_history(), 1000)
    assert found_offsets(batch_output, packaged_history(), 1000).equals(of_run)


def test_far_is_strictly_beyond_the_tolerance(tmp_path):
    _feature(tmp_path, "dl1_MAGIC_LST-1.Run09000.0000",
             [(12, _unix(2023, 3, 8, 1), -3.0, 50, -3.0, "local"),
              (13, _unix(2023, 3, 8, 1), -4.0, 50, -4.0, "local"),
              (13, _unix(2023, 3, 9, 1), -2.75, 50, -2.75, "local")])
    history = OffsetHistory((HistoryEntry(None, None, -3500, "mine.yaml"),))
    found = found_offsets(tmp_path, history, tolerance_ns=500)
    assert found["difference_us"].to_list() == [0.5, -0.5, 0.75]
    assert found["far"].to_list() == [False, False, True]  # exactly the tolerance: not far


@pytest.mark.parametrize("kind", ["empty", "missing", "a file", "other files"])
def test_not_an_output_directory(tmp_path, kind):
    where = tmp_path / "out"
    if kind == "empty":
        where.mkdir()
    elif kind == "a file":
        where.write_text("")
    elif kind == "other files":
        where.mkdir()
        (where / "dl1_LST-1.Run03265.0000.h5").write_bytes(b"")
    with pytest.raises(InvalidFileError) as err:
        found_offsets(where, HISTORY, 1000)
    assert err.value.path == where
    assert err.value.problem == ("no feature tables (*.feature.parquet, or parquet/feature/): "
                                 "not an output directory of lmcoinc run or batch")


@pytest.mark.parametrize("kind", ["run", "batch"])
def test_unreadable_feature_files(tmp_path, run_outputs, batch_output, kind):
    """The unreadable file is named, in one line."""
    out = tmp_path / "out"
    shutil.copytree(run_outputs() if kind == "run" else batch_output, out)
    bad = (out / "dl1_MAGIC_LST-1.Run03265.0001.feature.parquet" if kind == "run"
           else partition_file(out, "feature", 3265, 1))
    bad.write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(InvalidFileError) as err:
        found_offsets(out, HISTORY, 1000)
    assert err.value.path == bad
    assert err.value.problem.startswith("cannot read it as a feature table (")
    assert "\n" not in str(err.value)


def test_not_feature_tables(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    pl.DataFrame({"coincidence_id": [12], "unix_time": [1.7e9]}).write_parquet(
        out / "dl1_MAGIC_LST-1.Run03265.0001.feature.parquet")
    with pytest.raises(InvalidFileError) as err:
        found_offsets(out, HISTORY, 1000)
    assert err.value.path == out / "dl1_MAGIC_LST-1.Run03265.0001.feature.parquet"
    assert err.value.problem == ("not a feature table of lmcoinc (no ['average_offset', "
                                 "'n_coincidence'])")


def test_a_foreign_feature_file_among_real_ones(tmp_path, run_outputs):
    """Not read as rows of nulls beside the real ones: named, with what it lacks."""
    out = tmp_path / "out"
    shutil.copytree(run_outputs(), out)
    foreign = out / "elsewhere" / "my_cuts.feature.parquet"
    foreign.parent.mkdir()
    pl.DataFrame({"coincidence_id": [12], "note": ["mine"]}).write_parquet(foreign)
    with pytest.raises(InvalidFileError) as err:
        found_offsets(out, HISTORY, 1000)
    assert err.value.path == foreign
    assert "average_offset" in err.value.problem


def test_history_frame():
    frame = history_frame(HISTORY)
    assert frame.schema == {"start": pl.Date, "end": pl.Date, "offset_us": pl.Float64,
                            "source": pl.String}
    assert frame.rows() == [(None, D(2023, 3, 4), -6.5, "mine.yaml"),
                            (D(2023, 3, 6), None, -3.2, "mine.yaml")]
    packaged = history_frame(packaged_history())
    assert packaged.height == len(packaged_history().entries) == 8
    assert set(packaged["source"]) == {PACKAGED_HISTORY}
    assert packaged["offset_us"][-1] == -3.2 and packaged["end"][-1] is None
