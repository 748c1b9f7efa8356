"""Clock offsets, the night model and the history on a simulated night of two pointings.

The night (tests/conftest.py ``pointing_night``): one clock offset, the
geometric delay in the MAGIC times, two pointings, and a sparse last subrun
where the pre-offset search fails.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from lmcoinc.batch import run_batch
from lmcoinc.cli import app
from lmcoinc.config import load_config
from lmcoinc.errors import NoCoincidenceError
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.simulate.truth import found_pairs, recall_purity

from ..helpers.compare import differences, subrun_table

#: The telescopes of the default config (MAGIC files with others are an error).
TEL_NAMES = load_config(None).tel_names

TRUE_NS = -3200
SOUND, SPARSE = (0, 1), 2


def _stem(lst_file: Path) -> str:
    return lst_file.name.replace("LST", "MAGIC_LST").removesuffix(".h5")


def _table(out: Path, lst_file: Path, table: str) -> pl.DataFrame | None:
    """A subrun's Parquet table, of a run or a batch output (None: not written)."""
    return subrun_table(out / f"{_stem(lst_file)}.h5", table)


def _recall(out: Path, night, index: int) -> float:
    events = _table(out, night.lst_files[index], "events")
    if events is None:
        return 0.0
    return recall_purity(found_pairs(events), night.true_pairs[index]).overall.recall


def _config(tmp_path: Path, history: str) -> Path:
    path = tmp_path / "config.yaml"
    text = (Path(__file__).parents[2] / "lmcoinc/resources/config.yaml").read_text()
    path.write_text(text.replace("    n_pre_offset_search_events: 100\n",
                                 f"    n_pre_offset_search_events: 100\n{history}"))
    return path


@pytest.fixture(scope="module")
def batch(pointing_night, tmp_path_factory):
    out = tmp_path_factory.mktemp("pointing-batch")
    return out, run_batch(pointing_night.lst_dir, pointing_night.magic_dir, out)


def test_clock_offsets_agree_while_raw_offsets_differ(pointing_night, batch):
    _, result = batch
    summary = result.summary
    assert summary["status"].to_list() == ["ok"] * 3
    for tel_id in (2, 3):
        raw = summary[f"offset_us_tel{tel_id}"].to_list()
        clock = summary[f"clock_offset_us_tel{tel_id}"].to_list()
        assert abs(raw[1] - raw[0]) > 0.15  # the pointing moved, not the clock
        for i in SOUND:
            assert abs(clock[i] * 1000 - TRUE_NS) <= 20
            assert abs(summary[f"deviation_us_tel{tel_id}"][i]) <= 0.02
        assert summary[f"night_offset_us_tel{tel_id}"].to_list() == [
            result.night.filter(pl.col("tel_id") == tel_id)["clock_offset_us"][0]] * 3
    assert summary["offset_source"].to_list()[:2] == ["local", "local"]
    for i, lst_file in enumerate(pointing_night.lst_files):  # the same in the feature Parquet
        feature = _table(batch[0], lst_file, "feature")
        assert feature["clock_offset"].to_list() == [
            summary[f"clock_offset_us_tel{t}"][i] for t in (2, 3)]
    assert summary["magic_obs_id"].to_list() == [5093711] * 3
    levels = result.night
    assert levels["n_subruns"].to_list() == [2, 2]
    assert levels.equals(pl.read_parquet(batch[0] / "night.parquet"))


def test_sparse_subrun_is_redone_at_the_night_offset(pointing_night, batch):
    out, result = batch
    row = result.summary.row(SPARSE, named=True)
    assert row["offset_source"] == "night" and result.redone == 1
    true = pl.read_parquet(pointing_night.true_pairs[SPARSE])
    assert 2 <= true.select("obs_id_lst", "event_id_lst").n_unique() <= 10
    assert _recall(out, pointing_night, SPARSE) >= 0.9
    feature = _table(out, pointing_night.lst_files[SPARSE], "feature")
    assert feature["offset_source"].to_list() == ["night", "night"]


def test_sound_subruns_are_those_of_run(pointing_night, batch, tmp_path):
    out, _ = batch
    for i in SOUND:
        process_subrun(pointing_night.lst_files[i],
                       MagicDirectory(pointing_night.magic_dir, TEL_NAMES),
                       tmp_path, load_config(None))
        stem = _stem(pointing_night.lst_files[i])
        assert differences(out / f"{stem}.h5", tmp_path / f"{stem}.h5") == []
        for table in ("events", "feature", "profile"):
            assert _table(out, pointing_night.lst_files[i], table).equals(
                _table(tmp_path, pointing_night.lst_files[i], table))


def test_sparse_subrun_without_the_night_model_or_the_history(pointing_night, tmp_path):
    night = pointing_night
    # `run` with the defaults (the reference's behaviour): the pre-offset search fails
    try:
        process_subrun(night.lst_files[SPARSE], MagicDirectory(night.magic_dir, TEL_NAMES),
                       tmp_path / "run",
                       load_config(None))
    except NoCoincidenceError:
        pass
    assert _recall(tmp_path / "run", night, SPARSE) == 0
    # batch without the night model: the history's offset (-3.2 us for the night)
    history = run_batch(night.lst_dir, night.magic_dir, tmp_path / "history", night=False)
    assert history.summary["offset_source"][SPARSE] == "history" and history.redone == 0
    assert _recall(tmp_path / "history", night, SPARSE) >= 0.9
    # batch without the history: the night model alone
    config = load_config(_config(tmp_path, "    offset_history: {fallback: false}\n"))
    alone = run_batch(night.lst_dir, night.magic_dir, tmp_path / "night", config)
    assert alone.summary["offset_source"][SPARSE] == "night"
    assert _recall(tmp_path / "night", night, SPARSE) >= 0.9


def test_batch_command_without_the_night_model(pointing_night, tmp_path):
    args = ["batch", "-l", str(pointing_night.lst_dir), "-m", str(pointing_night.magic_dir),
            "-o", str(tmp_path), "--no-progress"]
    proc = CliRunner().invoke(app, [*args, "--no-night-model"])
    assert proc.exit_code == 0, proc.output
    assert "3 subruns: 3 ok; night model: 0 redone;" in proc.output
    summary = pl.read_parquet(tmp_path / "summary.parquet")
    assert summary["offset_source"].to_list() == ["local", "local", "history"]
    assert pl.read_parquet(tmp_path / "night.parquet").height == 0
    proc = CliRunner().invoke(app, [*args, "--overwrite"])
    assert "3 subruns: 3 ok; night model: 1 redone;" in proc.output


def test_resume_does_not_redo(pointing_night, batch, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(batch[0], out)
    mtimes = {p: p.stat().st_mtime_ns for p in [*out.glob("*.h5"), *out.rglob("part-0.parquet")]}
    assert len(mtimes) == 3 * 4
    again = run_batch(pointing_night.lst_dir, pointing_night.magic_dir, out)
    assert again.summary["status"].to_list() == ["skipped"] * 3 and again.redone == 0
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert again.summary["offset_source"].to_list() == batch[1].summary["offset_source"].to_list()


def test_offsets_command(batch, tmp_path):
    out, _ = batch
    history = CliRunner().invoke(app, ["offsets"])
    assert history.exit_code == 0
    for text in ("-76039.300", "2023-11-15", "118.800", "2023-12-01", "offset_history.yaml"):
        assert text in history.output
    found = CliRunner().invoke(app, ["offsets", str(out)])
    assert found.exit_code == 0, found.output
    assert "6 offsets; 0 clock offsets farther than 1 us from the history" in found.output
    assert "2023-12-07" in found.output and "night model (batch): levels" in found.output
    mine = tmp_path / "mine.yaml"
    mine.write_text("- {start: 2023-12-07, end: 2023-12-07, offset_us: -1.0}\n")
    config = _config(tmp_path, f"    offset_history: {{file: {mine}}}\n")
    far = CliRunner().invoke(app, ["offsets", str(out), "-c", str(config)])
    assert "6 offsets; 6 clock offsets farther than 1 us from the history" in far.output
    assert "mine.yaml" in far.output
    config = _config(tmp_path, f"    offset_history: {{file: {mine}, tolerance: 3 us}}\n")
    near = CliRunner().invoke(app, ["offsets", str(out), "-c", str(config)])
    assert "6 offsets; 0 clock offsets farther than 3 us from the history" in near.output
    bad = CliRunner().invoke(app, ["offsets", str(tmp_path)])
    assert bad.exit_code == 13
    assert bad.output.startswith(f"lmcoinc: error: {tmp_path}: no feature tables "
                                 "(*.feature.parquet, or parquet/feature/)")
