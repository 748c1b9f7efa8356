"""What batch and offsets show: the tables (100 columns, --wide) and the progress bar."""

from __future__ import annotations

import datetime as dt
import io
import re

import polars as pl
import pytest
from rich.console import Console

from lmcoinc.batch.summary import summary_frame, summary_schema
from lmcoinc.cli.display import (
    BatchProgress,
    frame_table,
    print_offsets,
    print_summary,
    summary_table,
)
from lmcoinc.config import load_config
from lmcoinc.quality.found_offsets import found_offsets, history_frame

CONFIG = load_config(None)


def _render(table, width: int = 250) -> list[str]:
    console = Console(record=True, width=width, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("│┃").split("│" if "│" in line else "┃")]


def test_summary_table_shows_the_values():
    rows = [
        {"obs_id": 3265, "subrun": 40, "status": "ok", "n_lst_events": 9876,
         "offset_us_tel2": -3.21234, "clock_offset_us_tel2": -3.19, "n_coincidence_tel2": 512,
         "fraction_tel2": 0.61234, "offset_us_tel3": -3.1, "n_coincidence_tel3": 498,
         "offset_source": "local", "seconds": 1.234},
        {"obs_id": 3265, "subrun": 41, "status": "failed", "error": "a.h5: truncated",
         "seconds": 0.5},
    ]
    lines = _render(summary_table(summary_frame(rows, [2, 3]), title="night"))
    assert lines[0].strip() == "night"
    body = [line.split() for line in lines if "03265." in line]
    assert body == [["03265.0040", "ok", "9876", "-3.212", "512", "-3.100", "498", "local"],
                    ["03265.0041", "failed"]]
    header = " ".join(" ".join(lines[2:4]).split())
    assert header == ("LST tel 2 tel 2 tel 3 tel 3 offset subrun status events offset (us) "
                      "pairs offset (us) pairs source")


def test_frame_table():
    frame = pl.DataFrame({"a name": ["a", None], "the value": [1.23456, None], "n": [3, 4],
                          "night": [dt.date(2023, 12, 1), None]})
    lines = _render(frame_table(frame, "a table"))
    assert lines[0].strip() == "a table"
    header, first, second = (line for line in lines if "│" in line or "┃" in line)
    assert [_cells(first), _cells(second)] == [["a", "1.235", "3", "2023-12-01"], ["", "", "4", ""]]
    assert first.index("1.235") + 5 == header.index("the value") + 9  # numbers to the right
    assert first.index("a ") == header.index("a name")  # text to the left


@pytest.mark.parametrize("width", [120, 60])
def test_progress(width):
    """The announcement is one line, however narrow the console (a log read later)."""
    console = Console(record=True, width=width, color_system=None)
    with BatchProgress(console, enabled=False) as progress:
        reporter = progress.reporter()
        reporter.start(5, 3, 7)
        for status in ("ok", "failed", "ok"):
            reporter.done({"status": status})
        (task,) = progress.bar.tasks
        assert (task.total, task.completed) == (3, 3)
        assert task.description == "subruns (2 ok, 1 failed)"
    assert console.export_text() == (
        "lmcoinc batch: 5 LST subruns, 3 to process, 2 complete; reading 7 MAGIC files once\n")


def test_print_offsets(run_outputs, capsys):
    print_offsets(CONFIG, None, None)
    history = capsys.readouterr().out
    assert "clock offset history (MAGIC - LST-1, us; nights by start date)" in history
    n_entries = history_frame(CONFIG.offset_history).height
    assert history.count("lmcoinc/resources/offset_history.yaml") >= n_entries > 5
    assert "offsets found" not in history
    out = run_outputs()
    found = found_offsets(out, CONFIG.offset_history, CONFIG.history_tolerance_ns)
    print_offsets(CONFIG, out, found)
    text = capsys.readouterr().out
    assert text.startswith(history)
    assert f"offsets found in {out}" in text
    tolerance_us = CONFIG.history_tolerance_ns / 1000
    assert (f"{found.height} offsets; {found['far'].sum()} clock offsets farther than "
            f"{tolerance_us:g} us from the history") in text
    assert "night model" not in text  # no night.parquet: not a batch output


ERROR = ("/data/dl1_LST-1.Run03265.0001.h5: fletcher32 checksum error in "
         "/dl1/event/telescope/parameters/LST_LSTCam rows 0-233")


def _summary():
    rows = []
    for subrun, status, error in [(0, "ok", None), (1, "failed", ERROR),
                                  (2, "no_coincidence", "no coincident events found")]:
        row = dict.fromkeys(summary_schema([2, 3]))
        row.update(lst_file=f"/data/dl1_LST-1.Run03265.{subrun:04d}.h5", obs_id=3265,
                   subrun=subrun, status=status, error=error, n_lst_events=98765,
                   offset_source="local", seconds=1.25)
        if status == "ok":
            for tel in (2, 3):
                row.update({f"offset_us_tel{tel}": -76039.3, f"n_coincidence_tel{tel}": 12345})
        rows.append(row)
    return summary_frame(rows, [2, 3])


def test_summary_fits_100_columns(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    print_summary(_summary())
    out = capsys.readouterr().out.splitlines()
    table = out[:-2]
    assert max(len(line) for line in table) <= 100
    row = next(line for line in table if "03265.0000" in line)
    assert row.split() == ["03265.0000", "ok", "98765", "-76039.300", "12345", "-76039.300",
                           "12345", "local"]
    # errors below the table, whole, one line each
    assert out[-2:] == [f"03265.0001 failed: {ERROR}",
                        "03265.0002 no_coincidence: no coincident events found"]


def test_wide_summary_has_every_column(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    summary = _summary()
    print_summary(summary, wide=True)
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "lst_file" in line)
    assert re.findall(r"\w+", header) == summary.columns
    assert ERROR in out


def test_summary_to_a_file_cuts_no_header(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """Redirected (rich's 80 columns otherwise), every header and value is whole."""
    monkeypatch.delenv("COLUMNS", raising=False)
    print_summary(_summary())
    out = capsys.readouterr().out
    assert "…" not in out
    assert out.count("offset (us)") == 2
    assert "source" in out


def test_summary_to_a_file_is_the_table_at_its_measured_width(
        capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """Printed at once, without measuring it first: the lines of a table rendered at its own
    width."""
    monkeypatch.delenv("COLUMNS", raising=False)
    summary = _summary()
    print_summary(summary)
    out = capsys.readouterr().out
    table = summary_table(summary)
    measured = Console(file=io.StringIO(), width=100_000).measure(table).maximum
    expected = Console(file=io.StringIO(), width=measured)
    expected.print(table)
    assert out.startswith(expected.file.getvalue())
    assert max(len(line) for line in out.splitlines()[:-2]) == measured
