"""lmcoinc report: the page and figures of a batch and of run outputs, opened in Chromium."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from lmcoinc.batch import run_batch
from lmcoinc.cli import app
from lmcoinc.report import make_report
from lmcoinc.report.data import load_output, telescope_rows
from lmcoinc.report.history import history_offset_us

NIGHT_PNGS = ["night_offsets.png", "night_pairs.png", "night_quality.png", "night_rates.png"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def batch_report(night, tmp_path_factory):
    """A batch of the test night with its middle LST file truncated (a failed subrun),
    and its report."""
    work = tmp_path_factory.mktemp("report")
    shutil.copytree(night.lst_dir, work / "lst")
    broken = sorted((work / "lst").glob("*.h5"))[1]
    os.truncate(broken, broken.stat().st_size // 2)
    result = run_batch(work / "lst", night.magic_dir, work / "out")
    return result, make_report(work / "out")


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_batch_report_files_and_page(batch_report):
    result, page = batch_report
    out = page.parent
    assert page == result.summary_path.parent / "report" / "index.html"
    stems = ["dl1_MAGIC_LST-1.Run03265.0000", "dl1_MAGIC_LST-1.Run03265.0002"]
    assert sorted(p.name for p in out.glob("*.png")) == sorted(
        NIGHT_PNGS + [f"profile_{s}.png" for s in stems])
    html = page.read_text()
    # self-contained: every figure embedded, nothing fetched
    images = _images(html)
    assert len(images) == 6 and all(png.startswith(b"\x89PNG") for png in images)
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert set(images) == {p.read_bytes() for p in out.glob("*.png")}
    # the failed subrun with its error, the others' numbers
    failed = result.summary.filter(pl.col("status") == "failed").row(0, named=True)
    assert "failed" in html and failed["error"].split(":")[-1].strip() in html
    for row in result.summary.filter(pl.col("status") == "ok").iter_rows(named=True):
        assert f"{row['accidental_tel2']:.1f}" in html
        assert f"{row['effective_time_s']:.3f}" in html


def test_telescope_rows(batch_report):
    result, page = batch_report
    rows = telescope_rows(load_output(page.parent.parent))
    assert rows.height == 4 and rows["tel_id"].to_list() == [2, 3, 2, 3]
    np.testing.assert_allclose(rows["purity"], 1 - rows["accidental"] / rows["n_coincidence"])
    ok = result.summary.filter(pl.col("status") == "ok")
    np.testing.assert_allclose(rows.filter(pl.col("tel_id") == 2)["accidental"],
                               ok["accidental_tel2"])
    assert (rows["purity"] > 0.99).all()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_page_renders_in_headless_chromium(batch_report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    _, page = batch_report
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1200)
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # text, lines and markers of several colours, not a blank page
    # the figures are there: blue and orange lines of the two telescopes
    assert ((pixels[..., 2] > 0.6) & (pixels[..., 0] < 0.3)).sum() > 200
    assert ((pixels[..., 0] > 0.9) & (pixels[..., 1] > 0.4) & (pixels[..., 2] < 0.2)).sum() > 200


def test_report_of_run_outputs_and_offset_model(run_outputs, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(run_outputs(), out)
    plain = make_report(out)
    width = {p.name: _png_width(p.read_bytes()) for p in plain.parent.glob("profile_*.png")}
    assert len(width) == 3 and set(width.values()) == {432}
    # drift mode's offset model beside a subrun's files: drawn beside its profile
    stem = "dl1_MAGIC_LST-1.Run03265.0001"
    pl.DataFrame({"tel_id": [2, 2, 3, 3], "time": [1.7e9, 1.7e9 + 1] * 2,
                  "offset_us": [-3.2, -3.1, -3.3, -3.2], "drift_us_per_s": [0.1] * 4,
                  "n_pairs": [10, 12, 9, 11], "residual_ns": [1.0, -2.0, 0.5, 0.0],
                  }).write_parquet(out / f"{stem}.offset_model.parquet")
    make_report(out)
    assert _png_width((plain.parent / f"profile_{stem}.png").read_bytes()) == 720


def _png_width(png: bytes) -> int:
    return int.from_bytes(png[16:20], "big")


def test_history_offsets_are_the_spec_list():
    def at(day: str, hour: int = 22) -> float:
        moment = datetime.fromisoformat(f"{day}T{hour:02}:00").replace(tzinfo=timezone.utc)
        return moment.timestamp()

    cases = {("2021-06-11", 22): -3.1, ("2021-06-12", 22): np.nan, ("2021-06-13", 22): -6.5,
             ("2023-02-28", 22): -6.5, ("2023-03-01", 3): -6.5, ("2023-03-05", 22): np.nan,
             ("2023-03-20", 22): -76039.3, ("2023-08-31", 22): -25.1, ("2023-11-14", 22): -6.2,
             ("2023-11-15", 22): -1583.8, ("2023-11-16", 5): -1583.8, ("2023-11-30", 22): 118.8,
             ("2023-12-01", 22): -3.2, ("2026-01-01", 22): -3.2}
    found = history_offset_us(np.array([at(d, h) for d, h in cases]))
    np.testing.assert_array_equal(found, list(cases.values()))


def test_cli_report_and_errors(run_outputs, tmp_path):
    runner = CliRunner()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["report", str(empty)])
    assert result.exit_code == 16
    assert result.output.strip().splitlines() == [
        f"lmcoinc: error: {empty}: no lmcoinc output (summary.parquet or *.feature.parquet)"]
    (empty / "summary.parquet").write_text("not parquet")
    result = runner.invoke(app, ["report", str(empty)])
    assert result.exit_code == 16 and "summary.parquet: cannot read Parquet" in result.output
    out = tmp_path / "out"
    shutil.copytree(run_outputs(), out)
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0 and (out / "report" / "index.html").is_file()


def test_run_with_and_without_report(good, tmp_path):
    """`run --report` writes the page; without it the run does not import matplotlib."""
    lst = next((good / "lst").glob("*.h5"))
    code = ("import sys; from lmcoinc.cli import app; "
            "app(sys.argv[1:], standalone_mode=False); "
            "print('matplotlib' in sys.modules)")
    args = ["run", "-l", str(lst), "-m", str(good / "magic")]
    plain = subprocess.run([sys.executable, "-c", code, *args, "-o", str(tmp_path / "a")],
                           capture_output=True, text=True, check=True)
    assert plain.stdout.strip().splitlines()[-1] == "False"
    assert not (tmp_path / "a" / "report").exists()
    with_report = subprocess.run(
        [sys.executable, "-c", code, *args, "-o", str(tmp_path / "b"), "--report"],
        capture_output=True, text=True, check=True)
    assert f"report: {tmp_path / 'b' / 'report' / 'index.html'}" in with_report.stdout
    assert (tmp_path / "b" / "report" / "index.html").is_file()
