"""Tests of the provenance of the outputs: its content, in HDF5 and Parquet, read back."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import tables

from lmcoinc.errors import InvalidFileError
from lmcoinc.io.parquet import write_parquet
from lmcoinc.io.provenance import (
    FORMAT_VERSION,
    HDF5_ATTRIBUTES,
    file_entry,
    hdf5_attributes,
    lmcoinc_version,
    now_utc,
    provenance,
    read_provenance,
    run_ids,
)


def test_run_ids_of_lst_and_magic_names():
    assert run_ids("dl1_LST-1.Run03265.0040.h5") == (3265, 40)
    assert run_ids("dl1_M1.Run05093711.001.h5") == (5093711, 1)
    assert run_ids("dl1_MAGIC_LST-1.Run03265.0040.events.parquet") == (3265, 40)
    assert run_ids("whatever.h5") == (None, None)


def test_file_entry(tmp_path):
    path = tmp_path / "dl1_M2.Run05093711.002.h5"
    path.write_bytes(b"12345")
    entry = file_entry(path, "magic")
    assert entry["name"] == path.name and entry["size"] == 5 and entry["role"] == "magic"
    assert (entry["obs_id"], entry["subrun"]) == (5093711, 2)
    assert entry["mtime"].endswith("+00:00")
    # a name without run: the obs_id given (e.g. from the table)
    other = tmp_path / "lst.h5"
    other.write_bytes(b"")
    assert file_entry(other, "lst", obs_id=3265)["obs_id"] == 3265
    assert file_entry(tmp_path / "gone.h5", "lst")["size"] is None


def test_document():
    started = now_utc()
    doc = provenance("run", "a: 1\n", [{"name": "x"}], started, output={"obs_id": 1})
    assert doc["lmcoinc_version"] == lmcoinc_version() != "unknown"
    assert doc["format_version"] == FORMAT_VERSION
    assert set(doc["software"]) >= {"lmcoinc", "python", "polars", "numpy", "pyarrow",
                                    "tables", "h5py"}
    assert all(doc["software"][k] for k in ("polars", "numpy", "pyarrow", "nanoarrow", "tables",
                                            "h5py"))
    assert doc["started"] == started <= doc["finished"]
    assert doc["config"] == "a: 1\n" and doc["host"]
    json.dumps(doc)  # a JSON document


def test_hdf5_attributes_are_plain_strings_read_back(tmp_path):
    doc = provenance("run", "mc_tel_ids: {LST-1: 1}\n# é\n", [], now_utc())
    path = tmp_path / "out.h5"
    with tables.open_file(str(path), "w") as handle:
        for key, value in hdf5_attributes(doc).items():
            handle.root._v_attrs[key] = value
    with h5py.File(path) as handle:
        for key in HDF5_ATTRIBUTES:
            value = handle.attrs[key]
            assert isinstance(value, np.bytes_), key  # a string, not a pickled object
    assert read_provenance(path) == doc
    assert hdf5_attributes(doc, json.dumps(doc)) == hdf5_attributes(doc)  # its text given


def test_read_provenance_of_parquet_and_errors(tmp_path):
    import polars as pl

    doc = provenance("batch", "", [], now_utc())
    path = tmp_path / "summary.parquet"
    write_parquet(path, "summary", pl.DataFrame({"obs_id": [1]}), json.dumps(doc))
    assert read_provenance(path) == doc
    plain = tmp_path / "plain.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(plain)
    with pytest.raises(InvalidFileError, match="no lmcoinc provenance"):
        read_provenance(plain)
    text = tmp_path / "x.txt"
    text.write_text("hello")
    with pytest.raises(InvalidFileError, match="neither HDF5 nor Parquet"):
        read_provenance(text)
    with pytest.raises(InvalidFileError, match="cannot read"):
        read_provenance(tmp_path / "missing.h5")
