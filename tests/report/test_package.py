"""make_report: the page and the figures of an output directory, written where asked, atomically."""

from __future__ import annotations

import pytest

from lmcoinc.errors import OutputError
from lmcoinc.report import make_report

NIGHT = ["night_offsets.png", "night_pairs.png", "night_quality.png", "night_rates.png"]


def test_files_of_the_report(batch_output, tmp_path):
    report = tmp_path / "report"
    report.mkdir()
    (report / "profile_of_an_old_subrun.png").write_bytes(b"")  # from an earlier report
    (report / "notes.txt").write_text("mine")
    page = make_report(batch_output, report)
    assert page == report / "index.html"
    assert sorted(p.name for p in report.iterdir()) == sorted(
        [*NIGHT, "index.html", "notes.txt", "profile_dl1_MAGIC_LST-1.Run03265.0040.png"])
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in report.glob("*.png"))
    assert not (batch_output / "report").exists()  # only where asked


def test_report_cannot_be_written(batch_output, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(OutputError, match=f"{blocked}: cannot create"):
        make_report(batch_output, blocked)
    assert blocked.read_text() == ""
