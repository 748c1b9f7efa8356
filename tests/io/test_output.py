"""io/output: the output names, the tables as HDF5 and Parquet, and the files of a subrun
written by a SubrunWriter: block by block, atomically, reaching the disk in order of
importance."""

from __future__ import annotations

import builtins
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
import tables

from lmcoinc.errors import OutputError
from lmcoinc.io import hdf5_image, output, parquet
from lmcoinc.io.columns import INTEGER_IDS, describe
from lmcoinc.io.dataset import partition_file
from lmcoinc.io.output import (
    DatasetPartition,
    SubrunWriter,
    hdf5_node,
    output_names,
    parquet_frames,
    to_structured,
)
from lmcoinc.io.parquet import parquet_frame
from lmcoinc.io.provenance import KEY, hdf5_attributes, read_provenance

from ..helpers.cases import GOLDEN
from ..helpers.compare import KEYS, assert_same_array

LST_NAME = "dl1_LST-1.Run03265.0040.h5"
STEM = "dl1_MAGIC_LST-1.Run03265.0040"
TABLES = ("events", "feature", "profile")
DOCUMENT = {"command": "run", "lmcoinc_version": "0.0", "config": "event_coincidence: {}\n",
            "inputs": [], "output": {"obs_id": 3265, "subrun": 40}}


def _finals(directory: Path, tables_=TABLES) -> dict[str, Path]:
    return output_names(Path("some/where") / LST_NAME, directory, tables_)


def _events(n: int = 10) -> pl.DataFrame:
    """A stereo table with nulls in an id column and a Parquet-only column."""
    return pl.DataFrame({
        "obs_id": np.full(n, 3265, dtype=np.int64), "event_id": np.arange(n),
        "tel_id": np.tile([1, 2], n // 2 + 1)[:n].astype(np.int16),
        "obs_id_lst": pl.Series([3265.0 if i % 3 else None for i in range(n)]),
        "intensity": pl.Series(np.linspace(10, 20, n), dtype=pl.Float32),
        "timestamp": 1.7e9 + np.arange(n) * 1e-3,
        "timestamp_ns": 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 1_000_000,
    })


FEATURE = pl.DataFrame({"coincidence_id": [12, 13], "average_offset": [-3.2, -3.1]})
PROFILE = pl.DataFrame({"time_offset": [-3.3, -3.2], "n_coincidence_tel12": [1, 5]})


def _write(finals: dict[str, Path], events: pl.DataFrame = None, rows: int = 4,
           **kwargs) -> dict[str, Path]:
    """The three tables through a writer, the events ``rows`` rows at a time."""
    events = _events() if events is None else events
    with SubrunWriter(finals, **kwargs) as out:
        with out.table("events") as table:
            for start in range(0, max(1, events.height), rows):
                table.write(events.slice(start, rows))
        out.write_table("feature", FEATURE)
        out.write_table("profile", PROFILE)
        return out.commit()


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


# --- names, nodes, arrays -------------------------------------------------------------------


def test_output_names():
    names = output_names(Path("in") / LST_NAME, Path("out"), ["events", "feature", "offset_model"])
    assert names == {
        "hdf5": Path("out") / f"{STEM}.h5",
        "events": Path("out") / f"{STEM}.events.parquet",
        "feature": Path("out") / f"{STEM}.feature.parquet",
        "offset_model": Path("out") / f"{STEM}.offset_model.parquet",
    }
    assert list(output_names(Path(LST_NAME), Path("out"))) == ["hdf5", *TABLES]
    # the reference's rule: every "LST" of the name becomes "MAGIC_LST"
    assert output_names(Path("LST_file"), Path("o"))["hdf5"] == Path("o/MAGIC_LST_file")
    assert output_names(Path("LST_file"), Path("o"))["events"] == Path(
        "o/MAGIC_LST_file.events.parquet")


def test_output_names_of_a_dataset_partition(tmp_path):
    """``batch``: the HDF5 file in the output directory, each Parquet table in the subrun's
    partition of the night's dataset."""
    partition = DatasetPartition(tmp_path / "night", 3265, 40)
    names = output_names(Path(LST_NAME), tmp_path / "out", TABLES, dataset=partition)
    assert names["hdf5"] == tmp_path / "out" / f"{STEM}.h5"
    for table in TABLES:
        assert names[table] == partition_file(tmp_path / "night", table, 3265, 40)
        assert names[table].relative_to(tmp_path / "night").parts[:4] == (
            "parquet", table, "lst_obs_id=3265", "lst_subrun=40")
    with pytest.raises(ValueError, match="obs_id is not known yet"):
        output_names(Path(LST_NAME), tmp_path, TABLES, DatasetPartition(tmp_path, None, 40))


def test_hdf5_nodes():
    assert [hdf5_node(t) for t in ("events", "feature", "profile", "offset_model")] == [
        ("/events", "parameters"), ("/coincidence", "feature"), ("/coincidence", "profile"),
        ("/coincidence", "offset_model")]


def test_to_structured():
    frame = _events().drop("timestamp_ns")
    data = to_structured(frame)
    assert data.dtype.names == tuple(frame.columns)
    assert [data.dtype[n] for n in data.dtype.names] == [
        np.int64, np.int64, np.int16, np.float64, np.float32, np.float64]
    for name in ("obs_id", "event_id", "tel_id", "intensity", "timestamp"):
        np.testing.assert_array_equal(data[name], frame[name].to_numpy())
    # nulls as NaN: in float columns, and in integer ones made float
    assert np.isnan(data["obs_id_lst"]).tolist() == [i % 3 == 0 for i in range(10)]
    ints = to_structured(pl.DataFrame({"n": [1, None, 3]}))
    assert ints.dtype["n"] == np.float64 and np.isnan(ints["n"]).tolist() == [False, True, False]
    assert to_structured(frame.head(0)).dtype == data.dtype
    without = to_structured(_events(), exclude=("timestamp_ns", "not_a_column"))
    assert without.dtype == data.dtype and without.tobytes() == data.tobytes()


def test_parquet_frames_are_the_tables_in_the_parquet_schema():
    frames = parquet_frames({"events": _events(), "profile": PROFILE}, magic_tel_ids=[2, 3])
    assert frames["events"].equals(parquet_frame("events", _events()))
    assert frames["events"].schema["tel_id"] == pl.Int64
    assert frames["events"].schema["intensity"] == pl.Float64
    assert frames["profile"].columns == ["time_offset", "n_coincidence_tel12",
                                         "n_coincidence_tel13"]
    assert frames["profile"]["n_coincidence_tel13"].null_count() == 2


# --- the writer --------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [1, 3, 10, 64])
def test_a_table_written_block_by_block_is_the_whole_table(tmp_path, monkeypatch, rows):
    """Whatever the blocks: the HDF5 table is the whole table less the Parquet-only
    columns, the Parquet file the whole table in the Parquet schema, in row groups of
    at most ROW_GROUP_ROWS rows."""
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 4)
    events = _events(10)
    finals = _write(_finals(tmp_path), events, rows)
    hdf5 = pd.read_hdf(finals["hdf5"], "/events/parameters")
    pd.testing.assert_frame_equal(hdf5, pd.DataFrame(to_structured(events.drop("timestamp_ns"))))
    written = pl.read_parquet(finals["events"])
    assert written.equals(parquet_frame("events", events))
    assert written["obs_id_lst"].null_count() == 4  # nullable ids, not NaN
    assert pq.ParquetFile(finals["events"]).metadata.num_row_groups == 3
    assert pl.read_parquet(finals["feature"]).equals(FEATURE)
    assert pl.read_parquet(finals["profile"]).equals(PROFILE)


def test_the_hdf5_tables_have_the_reference_layout(tmp_path):
    """The reference's own output tables, given to the writer as frames in blocks, come out
    byte for byte in the reference's nodes; PyTables and pandas read them."""
    reference = next((GOLDEN / "default").glob("*.h5"))
    with tables.open_file(str(reference)) as handle:
        theirs = {name: handle.get_node(key).read() for name, key in KEYS.items()}
    frames = {name: pl.DataFrame({c: data[c] for c in data.dtype.names})
              for name, data in theirs.items()}  # missing LST ids: nulls, as lmcoinc has them
    frames["events"] = frames["events"].with_columns(pl.col(INTEGER_IDS).fill_nan(None))
    exact = pl.Series("timestamp_ns", np.arange(len(theirs["events"]), dtype=np.int64))
    frames["events"] = frames["events"].insert_column(  # a Parquet-only column, left out
        frames["events"].get_column_index("timestamp") + 1, exact)
    finals = _finals(tmp_path)
    with SubrunWriter(finals) as out:
        for name, frame in frames.items():
            with out.table(name) as table:
                for block in frame.iter_slices(500):
                    table.write(block)
        out.commit()
    with tables.open_file(str(finals["hdf5"])) as handle:
        assert {n._v_pathname for n in handle.walk_nodes("/", "Table")} == set(KEYS.values())
        for name, key in KEYS.items():
            node = handle.get_node(key)
            assert isinstance(node, tables.Table)
            assert_same_array(node.read(), theirs[name])
    for name, key in KEYS.items():
        pd.testing.assert_frame_equal(pd.read_hdf(finals["hdf5"], key),
                                      pd.DataFrame(theirs[name]))


def test_parquet_files_describe_their_columns_and_carry_the_provenance(tmp_path):
    finals = _write(_finals(tmp_path), provenance=DOCUMENT)
    for table in TABLES:
        schema = pq.read_schema(finals[table])
        assert json.loads(schema.metadata[KEY.encode()]) == DOCUMENT
        assert read_provenance(finals[table]) == DOCUMENT
        for field in schema:
            column = describe(table, field.name)
            assert field.metadata == {b"unit": column.unit.encode(),
                                      b"description": column.description.encode()}
    assert pq.read_schema(finals["events"]).field("timestamp_ns").metadata[b"unit"] == b"ns"
    assert read_provenance(finals["hdf5"]) == DOCUMENT
    with tables.open_file(str(finals["hdf5"])) as handle:
        for name, value in hdf5_attributes(DOCUMENT).items():
            assert handle.root._v_attrs[name] == value


def test_parquet_and_hdf5_tables_of_their_own(tmp_path):
    """The feature with columns of its own in Parquet and the reference's in HDF5; a table
    beyond the reference's in /coincidence; the profile with a column per MAGIC telescope."""
    extended = FEATURE.with_columns(clock_offset=pl.Series([-3.25, None]))
    model = pl.DataFrame({"tel_id": [2, 2], "offset_us": [1.0, 1.5]})
    finals = _finals(tmp_path, (*TABLES, "offset_model"))
    with SubrunWriter(finals, magic_tel_ids=[2, 3]) as out:
        out.write_table("events", _events())
        out.write_table("feature", FEATURE, parquet=False)
        out.write_table("profile", PROFILE)
        out.write_table("offset_model", model)
        out.write_table("feature", extended, hdf5=False)
        out.commit()
    assert pl.read_parquet(finals["feature"]).equals(extended)
    assert list(pd.read_hdf(finals["hdf5"], "/coincidence/feature").columns) == FEATURE.columns
    assert pl.read_parquet(finals["offset_model"]).equals(model)
    assert pd.read_hdf(finals["hdf5"], "/coincidence/offset_model")["offset_us"].tolist() == [
        1.0, 1.5]
    profile = pl.read_parquet(finals["profile"])
    assert profile["n_coincidence_tel13"].to_list() == [None, None]
    assert list(pd.read_hdf(finals["hdf5"], "/coincidence/profile").columns) == PROFILE.columns


def test_the_hdf5_image_takes_what_follows_the_tables(tmp_path):
    """What the caller adds to the HDF5 file (the subarray, images) is saved with it, and so
    are the tables and the provenance; no table may follow."""
    finals = _finals(tmp_path)
    with SubrunWriter(finals, provenance=DOCUMENT) as out:
        for name, frame in (("events", _events()), ("feature", FEATURE), ("profile", PROFILE)):
            out.write_table(name, frame, parquet=name != "profile")
        image = out.hdf5_image()
        image.handle().create_array("/configuration", "extra", np.arange(3),
                                    createparents=True)
        assert out.hdf5_image() is image
        with pytest.raises(ValueError, match="after its tables were ended"):
            out.write_table("offset_model", FEATURE, parquet=False)
        out.write_table("profile", PROFILE, hdf5=False)  # a Parquet file may still follow
        out.commit()
    with tables.open_file(str(finals["hdf5"])) as handle:
        assert handle.get_node("/configuration/extra").read().tolist() == [0, 1, 2]
        assert handle.root._v_attrs[KEY] == json.dumps(DOCUMENT)
        assert handle.get_node("/events/parameters").nrows == _events().height
    assert pl.read_parquet(finals["profile"]).equals(PROFILE)


def test_the_dataset_partition_of_a_batch(tmp_path):
    partition = DatasetPartition(tmp_path / "night", 3265, 40)
    finals = output_names(Path(LST_NAME), tmp_path / "out", TABLES, dataset=partition)
    written = _write(finals, magic_tel_ids=[2, 3])
    assert written == finals
    assert _files(tmp_path / "out") == [finals["hdf5"]]
    assert _files(tmp_path / "night") == sorted(finals[t] for t in TABLES)
    assert pl.read_parquet(finals["events"]).equals(parquet_frame("events", _events()))
    assert pl.read_parquet(finals["profile"]).columns == [
        "time_offset", "n_coincidence_tel12", "n_coincidence_tel13"]


def test_mistakes_of_the_caller_are_told(tmp_path):
    with SubrunWriter(_finals(tmp_path)) as out:
        out.write_table("events", _events())
        with pytest.raises(ValueError, match="events: written to the HDF5 file already"):
            out.write_table("events", _events(), parquet=False)
        with pytest.raises(ValueError, match="events: no Parquet file for it, or written"):
            out.write_table("events", _events(), hdf5=False)
        with pytest.raises(ValueError, match="offset_model: no Parquet file"):
            out.write_table("offset_model", FEATURE, hdf5=False)
        with pytest.raises(ValueError, match="feature: no block written"):
            with out.table("feature"):
                pass
        with pytest.raises(ValueError, match="tables not written: profile"):
            out.commit()
    assert _files(tmp_path) == []
    with pytest.raises(RuntimeError, match="outside its with block"):
        SubrunWriter(_finals(tmp_path)).write_table("events", _events())


# --- failures leave nothing --------------------------------------------------------------------


_TEMP = re.compile(r"^\.(.+)\.[0-9a-f]{8}\.tmp$")


@pytest.fixture
def disk(monkeypatch):
    """The files opened for writing by the output modules, in order (their final paths); a
    path in ``disk.full`` fails with ``disk.errno`` (default: a full disk)."""

    class Disk:
        def __init__(self) -> None:
            self.opened: list[Path] = []
            self.full: set[Path] = set()
            self.errno = 28

        def open(self, path, mode="r", *args, **kwargs):
            if "w" in mode:
                final = Path(path).with_name(_TEMP.match(Path(path).name)[1])
                self.opened.append(final)
                if final in self.full:
                    raise OSError(self.errno, "cannot write")
            return builtins.open(path, mode, *args, **kwargs)

    found = Disk()
    for module in (output, hdf5_image):
        monkeypatch.setattr(module, "open", found.open, raising=False)
    return found


def test_files_reach_the_disk_in_order_of_importance(tmp_path, disk):
    """The HDF5 file first, then each table's Parquet file in the order of the names."""
    finals = _finals(tmp_path)
    with SubrunWriter(finals) as out:  # tables in another order than their names
        out.write_table("profile", PROFILE)
        out.write_table("feature", FEATURE)
        out.write_table("events", _events())
        out.commit()
    assert disk.opened == list(finals.values())


@pytest.mark.parametrize(("errno", "cause"), [(28, "no space left on device"),
                                              (30, "read-only file system")])
@pytest.mark.parametrize("full", ["hdf5", "events", "profile"])
def test_a_file_that_cannot_be_written_leaves_nothing(tmp_path, disk, full, errno, cause):
    """Whichever file fails, the message names it and no file is left, final or temporary;
    the outputs of an earlier run stay as they were."""
    partition = DatasetPartition(tmp_path / "night", 3265, 40)
    finals = output_names(Path(LST_NAME), tmp_path / "out", TABLES, dataset=partition)
    _write(finals, _events(4))
    before = {path: path.read_bytes() for path in _files(tmp_path)}
    assert sorted(before) == sorted(finals.values())
    disk.full.add(finals[full])
    disk.errno = errno
    with pytest.raises(OutputError) as err:
        _write(finals)
    assert str(err.value) == f"{finals[full]}: cannot write ({cause})"
    assert {path: path.read_bytes() for path in _files(tmp_path)} == before


def test_a_failed_write_into_the_hdf5_image_names_the_hdf5_file(tmp_path):
    finals = _finals(tmp_path)
    with pytest.raises(OutputError, match=re.escape(
            f"{finals['hdf5']}: cannot write (no space left on device)")):
        with SubrunWriter(finals) as out:
            out.write_table("events", _events())
            out.hdf5_image()
            raise OSError(28, "No space left on device")  # as a writer of the subarray would
    assert _files(tmp_path) == []


def test_an_error_while_a_table_is_produced_leaves_nothing(tmp_path):
    def blocks():
        yield _events(3)
        raise RuntimeError("bug in a block")

    with pytest.raises(RuntimeError, match="bug in a block"):
        with SubrunWriter(_finals(tmp_path)) as out:
            with out.table("events") as table:
                for block in blocks():
                    table.write(block)
    assert _files(tmp_path) == []


def test_leaving_without_a_commit_writes_nothing(tmp_path):
    with SubrunWriter(_finals(tmp_path)) as out:
        for name, frame in (("events", _events()), ("feature", FEATURE), ("profile", PROFILE)):
            out.write_table(name, frame)
    assert _files(tmp_path) == []
