"""lmcoinc batch on an on-site LST-1 directory: a merged run file beside the subrun files
(each event processed once), the merged files instead (--merged), --runs and --subruns."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from typer.testing import CliRunner

from lmcoinc.cli import app
from lmcoinc.config import load_config
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.simulate.merge import merge_lst_files, merged_lst_name

from ..helpers.compare import assert_same_outputs
from .test_batch import NAMES

MERGED = merged_lst_name(3265)


@pytest.fixture(scope="module")
def onsite(night, tmp_path_factory):
    """The night's subrun files, the run merged beside them, and a file of another name."""
    lst = tmp_path_factory.mktemp("onsite") / "lst"
    shutil.copytree(night.lst_dir, lst)
    merge_lst_files(night.lst_files, lst / MERGED)
    shutil.copy(night.lst_files[0], lst / "dl1_LST-1.Run03265.0000.old.h5")
    return lst


def _batch(onsite, night, out, *extra: str):
    proc = CliRunner().invoke(app, ["batch", "-l", str(onsite), "-m", str(night.magic_dir),
                                    "-o", str(out), "--no-progress", *extra])
    return proc


def test_merged_file_beside_subruns_each_event_once(onsite, night, run_outputs, tmp_path):
    proc = _batch(onsite, night, tmp_path)
    assert proc.exit_code == 0, proc.output
    assert f"{onsite}: skipped 1 merged run file ({MERGED}; --merged" in proc.output
    assert (f"{onsite}: skipped 1 file not named as LST-1 DL1 files are "
            "(dl1_LST-1.RunNNNNN.NNNN.h5): dl1_LST-1.Run03265.0000.old.h5") in proc.output
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == NAMES
    assert_same_outputs(tmp_path, run_outputs(), NAMES)
    summary = pl.read_parquet(tmp_path / "summary.parquet")
    assert summary["subrun"].to_list() == [0, 1, 2]
    events = pl.read_parquet(tmp_path / "parquet" / "events")
    n_events = sum(pl.read_parquet(run_outputs() / n.replace(".h5", ".events.parquet")).height
                   for n in NAMES)
    assert events.height == n_events  # once each
    assert events.select("obs_id", "event_id", "tel_id").is_unique().all()


def test_merged_files_instead(onsite, night, tmp_path):
    proc = _batch(onsite, night, tmp_path / "batch", "--merged")
    assert proc.exit_code == 0, proc.output
    assert f"{onsite}: skipped 3 subrun files (" in proc.output
    out = tmp_path / "batch"
    assert sorted(p.name for p in out.glob("*.h5")) == ["dl1_MAGIC_LST-1.Run03265.h5"]
    config = load_config(None)
    process_subrun(onsite / MERGED, MagicDirectory(night.magic_dir, config.tel_names),
                   tmp_path / "run", config)
    assert_same_outputs(out, tmp_path / "run", ["dl1_MAGIC_LST-1.Run03265.h5"])


def test_runs_and_subruns_selected(onsite, night, run_outputs, tmp_path):
    proc = _batch(onsite, night, tmp_path, "--runs", "3265", "--subruns", "1-5")
    assert proc.exit_code == 0, proc.output
    assert pl.read_parquet(tmp_path / "summary.parquet")["subrun"].to_list() == [1, 2]
    assert_same_outputs(tmp_path, run_outputs(), NAMES[1:])
    proc = _batch(onsite, night, tmp_path / "none", "--runs", "3266")
    assert proc.exit_code == 13
    assert "no LST-1 DL1 subrun files (dl1_LST-1*.h5) within the selected runs" in proc.output
    proc = _batch(onsite, night, tmp_path / "bad", "--merged", "--subruns", "1")
    assert proc.exit_code == 2
