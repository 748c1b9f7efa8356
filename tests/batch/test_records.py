"""Resume records: a subrun is skipped only when the same inputs and the same lmcoinc made it."""

from __future__ import annotations

import json

import pytest

from lmcoinc.batch import records
from lmcoinc.batch.records import (
    Record,
    fingerprint,
    inputs_digest,
    read_record,
    software_version,
    write_record,
)
from lmcoinc.config import load_config
from lmcoinc.io.provenance import FORMAT_VERSION, lmcoinc_version


@pytest.fixture
def subrun(tmp_path):
    lst = tmp_path / "dl1_LST-1.Run03265.0000.h5"
    lst.write_bytes(b"lst")
    output = tmp_path / "out.h5"
    output.write_bytes(b"h5")
    digest = inputs_digest(load_config(), lst, [["m1.h5", 3, 1]])
    return tmp_path / "record.json", digest, lambda row: [output]


ROW = {"status": "ok", "obs_id": 3265, "subrun": 0}


def test_software_names_the_version_and_the_format():
    assert software_version() == f"{lmcoinc_version()} (format {FORMAT_VERSION})"
    assert fingerprint("abc") != fingerprint("abc", "0.0.1 (format 1)")
    assert fingerprint("abc") == fingerprint("abc", software_version())


def test_a_record_of_this_software_is_complete(subrun):
    path, digest, outputs = subrun
    write_record(path, digest, ROW)
    assert read_record(path, digest, outputs) == Record(ROW, None)
    stored = json.loads(path.read_text())
    assert stored["inputs"] == digest and stored["software"] == software_version()
    assert stored["fingerprint"] == fingerprint(digest)


def test_other_inputs_or_missing_outputs_are_not_complete(subrun, tmp_path):
    path, digest, outputs = subrun
    write_record(path, digest, ROW)
    assert read_record(path, "another-digest", outputs) is None
    assert read_record(path, digest, lambda row: [tmp_path / "missing.h5"]) is None
    write_record(path, digest, {**ROW, "status": "failed"})
    assert read_record(path, digest, outputs) is None


def test_a_record_of_another_version_says_which(subrun, monkeypatch):
    path, digest, outputs = subrun
    monkeypatch.setattr(records, "software_version", lambda: "0.0.1 (format 1)")
    write_record(path, digest, ROW)
    monkeypatch.undo()
    assert read_record(path, digest, outputs) == Record(ROW, "0.0.1 (format 1)")


def test_a_record_from_before_versions_were_named(subrun):
    """Such records held the inputs digest as their fingerprint, and nothing else."""
    path, digest, outputs = subrun
    path.write_text(json.dumps({"fingerprint": digest, "row": ROW}))
    assert read_record(path, digest, outputs) == Record(ROW, "an earlier version")
    path.write_text(json.dumps({"fingerprint": "other", "row": ROW}))
    assert read_record(path, digest, outputs) is None


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", '{"row": {"status": "ok"}}',
                                  '{"fingerprint": "print"}', '{"fingerprint": "print", "row": 3}'])
def test_unreadable_records_are_not_complete(tmp_path, text):
    path = tmp_path / "record.json"
    path.write_text(text)
    assert read_record(path, "print", lambda row: []) is None
    assert read_record(tmp_path / "missing.json", "print", lambda row: []) is None
