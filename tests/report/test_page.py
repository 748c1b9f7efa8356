"""The report's page: the counts, the tables and the embedded figures of given data."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl

from lmcoinc.report.data import ReportData, SubrunData, telescope_rows
from lmcoinc.report.page import page_html


class _Page(HTMLParser):
    """The page's tables (rows of cell texts) and images (alt, src)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[tuple[str, str]] = []
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append((dict(attrs)["alt"], dict(attrs)["src"]))

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _feature(tel_ids, pairs, magic, accidental, t):
    return pl.DataFrame({
        "coincidence_id": [10 + t_ for t_ in tel_ids], "unix_time": [t] * len(tel_ids),
        "average_offset": [-3.2041] * len(tel_ids), "pre_offset": [-3.0] * len(tel_ids),
        "n_coincidence": pairs, "n_events_magic": magic, "accidental": accidental,
        "effective_time_s": [9.5] * len(tel_ids)})


def _data(statuses=("ok", "failed", "ok")) -> ReportData:
    subruns = []
    for i, status in enumerate(statuses):
        feature = _feature([2, 3], [100 + i, 90], [200, 180], [1.25, 2.0], 1.7e9 + 10 * i) \
            if status == "ok" else None
        subruns.append(SubrunData(f"dl1_MAGIC_LST-1.Run03265.{i:04}", 3265, i, status,
                                  None if status == "ok" else "a.h5: <truncated> & lost",
                                  feature=feature))
    return ReportData(Path("/data/night <1>"), subruns, None)


def test_page_of_given_data():
    data = _data()
    rows = telescope_rows(data)
    night = {"night_offsets.png": b"\x89PNG offsets", "night_pairs.png": b"\x89PNG pairs"}
    profiles = {s.stem: f"\x89PNG {s.stem}".encode() for s in data.subruns if s.feature is not None}
    html = page_html(data, rows, night, profiles)
    assert "<title>lmcoinc report: night &lt;1&gt;</title>" in html
    assert "<p>3 subruns: 2 ok, 1 failed.</p>" in html
    pairs, accidental = 100 + 90 + 102 + 90, 2 * (1.25 + 2.0)
    assert (f"<p>All telescopes: {pairs} pairs, {accidental:.1f} expected accidental (purity "
            f"{1 - accidental / pairs:.4f}); effective time 19.0 s.</p>") in html
    page = _Page(html)
    # every figure embedded, in order, with its name
    assert [(alt, base64.b64decode(src.removeprefix("data:image/png;base64,")))
            for alt, src in page.images] == [*night.items(), *profiles.items()]
    assert not re.search(r'(src|href)="(?!data:)', html)
    failed, subruns = page.tables
    assert failed == [["obs_id", "subrun", "status", "error"],
                      ["3265", "1", "failed", "a.h5: <truncated> & lost"]]  # escaped in HTML
    assert "a.h5: &lt;truncated&gt; &amp; lost" in html
    assert subruns[0] == ["obs_id", "subrun", "tel", "offset (µs)", "pre-offset (µs)", "pairs",
                          "MAGIC events", "fraction", "accidental", "purity",
                          "effective time (s)"]
    assert subruns[1:] == [
        ["3265", "0", "2", "-3.204", "-3.0", "100", "200", "0.500", "1.2", "0.9875", "9.500"],
        ["3265", "0", "3", "-3.204", "-3.0", "90", "180", "0.500", "2.0", "0.9778", "9.500"],
        ["3265", "2", "2", "-3.204", "-3.0", "102", "200", "0.510", "1.2", "0.9877", "9.500"],
        ["3265", "2", "3", "-3.204", "-3.0", "90", "180", "0.500", "2.0", "0.9778", "9.500"],
    ]


def test_page_without_rows_or_failures():
    data = _data(("ok", "skipped"))
    html = page_html(data, telescope_rows(data), {}, {})
    assert "<p>All subruns have outputs.</p>" in html
    assert "<p>2 subruns: 1 ok, 1 skipped.</p>" in html
    empty = _data(("failed",))
    html = page_html(empty, telescope_rows(empty), {}, {})
    assert "All telescopes" not in html and "<img" not in html
    (failed,) = _Page(html).tables  # only the table of the subrun without output
    assert failed[1][:3] == ["3265", "0", "failed"]


def _with_steps(subrun: SubrunData, steps: list[int], segments: pl.DataFrame | None = None,
                ) -> SubrunData:
    return SubrunData(subrun.stem, subrun.obs_id, subrun.subrun, subrun.status, subrun.error,
                      subrun.feature.with_columns(n_offset_steps=pl.Series(steps)),
                      subrun.profile, None, segments)


def test_subruns_with_clock_steps_are_marked():
    """A step found by drift mode is listed with its time and size per telescope; one that
    constant mode only warned about, with the advice to use drift mode; the per-subrun
    table gains a column of the steps only when a subrun has one."""
    data = _data(("ok", "ok", "ok"))
    segments = pl.DataFrame({"tel_id": [2, 2, 3], "segment": [0, 1, 0],
                             "start": [1.7e9, 1.7e9 + 4.999, 1.7e9],
                             "step_us": [None, -150.0061, None]})
    data.subruns[1] = _with_steps(data.subruns[1], [1, 0], segments)  # drift mode, tel 2
    data.subruns[2] = _with_steps(data.subruns[2], [1, 1])  # constant mode, both telescopes
    data.subruns[0] = _with_steps(data.subruns[0], [0, 0])
    html = page_html(data, telescope_rows(data), {}, {})
    assert "<h2>Clock steps within a subrun</h2>" in html
    header = ["obs_id", "subrun", "steps (UNIX s)", "offset model"]
    steps = next(t for t in _Page(html).tables if t[0] == header)
    assert steps[1:] == [
        ["3265", "1", "tel 2: -150.006 µs at 1700000004.999", "fitted on each side "
         "(offset_model: drift)"],
        ["3265", "2", "2 (see the log)", "one offset: the pairs beyond a step are lost; "
         "try offset_model: drift"],
    ]
    subruns = _Page(html).tables[-1]
    assert subruns[0][-1] == "clock steps"
    assert [row[-1] for row in subruns[1:]] == ["0", "0", "1", "0", "1", "1"]


def test_no_clock_step_no_section_nor_column():
    data = _data(("ok", "ok"))
    data.subruns[0] = _with_steps(data.subruns[0], [0, 0])
    html = page_html(data, telescope_rows(data), {}, {})
    assert "Clock steps" not in html
    assert "clock steps" not in _Page(html).tables[-1][0]
