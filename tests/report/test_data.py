"""What a report reads from an output directory of run or batch, and its rows per telescope."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lmcoinc.errors import ReportInputError
from lmcoinc.io.dataset import partition_file
from lmcoinc.report.data import ReportData, SubrunData, load_output, telescope_rows

RUN_STEMS = [f"dl1_MAGIC_LST-1.Run03265.000{i}" for i in range(3)]


def test_run_output(run_outputs, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(run_outputs(), out)
    model = pl.DataFrame({"tel_id": [2, 3], "time": [1.7e9, 1.7e9], "offset_us": [-3.2, -3.3]})
    model.write_parquet(out / f"{RUN_STEMS[1]}.offset_model.parquet")
    data = load_output(out)
    assert data.output_dir == out and data.summary is None
    assert [s.stem for s in data.subruns] == RUN_STEMS
    for i, subrun in enumerate(data.subruns):
        assert (subrun.obs_id, subrun.subrun, subrun.status, subrun.error) == (3265, i, "ok", None)
        assert subrun.feature.equals(pl.read_parquet(out / f"{subrun.stem}.feature.parquet"))
        assert subrun.profile.equals(pl.read_parquet(out / f"{subrun.stem}.profile.parquet"))
    assert [s.offset_model is not None for s in data.subruns] == [False, True, False]
    assert data.subruns[1].offset_model.equals(model)


def test_batch_output(batch_output):
    data = load_output(batch_output)
    summary = pl.read_parquet(batch_output / "summary.parquet")
    assert data.summary.equals(summary)
    ok, failed = data.subruns
    assert (ok.stem, ok.obs_id, ok.subrun, ok.status) == (
        "dl1_MAGIC_LST-1.Run03265.0040", 3265, 40, "ok")
    # the tables of the Parquet dataset (the batch writes no other): the subrun's partition
    assert not list(batch_output.glob(f"{ok.stem}.*.parquet"))
    assert ok.feature.equals(pl.read_parquet(partition_file(batch_output, "feature", 3265, 40)))
    assert ok.profile.equals(pl.read_parquet(partition_file(batch_output, "profile", 3265, 40)))
    assert ok.offset_model is None and ok.offset_segments is None  # constant mode
    assert (failed.subrun, failed.status, failed.error) == (41, "failed", summary["error"][1])
    assert failed.feature is None and failed.profile is None and failed.offset_model is None


def test_unreadable_outputs(run_outputs, tmp_path):
    with pytest.raises(ReportInputError, match="output directory not found"):
        load_output(tmp_path / "missing")
    with pytest.raises(ReportInputError, match=r"no lmcoinc output \(summary.parquet or "):
        load_output(tmp_path)
    pl.DataFrame({"lst_file": ["a.h5"], "obs_id": [1]}).write_parquet(tmp_path / "summary.parquet")
    with pytest.raises(ReportInputError) as err:
        load_output(tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'summary.parquet'}: not an lmcoinc summary (no error, status, subrun)")
    out = tmp_path / "run"
    shutil.copytree(run_outputs(), out)
    (out / f"{RUN_STEMS[2]}.profile.parquet").write_text("damaged")
    with pytest.raises(ReportInputError, match=f"{RUN_STEMS[2]}.profile.parquet: cannot read "):
        load_output(out)


def _subrun(subrun: int, feature: dict | None) -> SubrunData:
    return SubrunData(f"s{subrun}", 3265, subrun,
                      feature=None if feature is None else pl.DataFrame(feature))


def test_telescope_rows():
    data = ReportData(Path("out"), [
        _subrun(2, {"coincidence_id": [13, 12], "unix_time": [30.0, 32.0],
                    "n_coincidence": [10, 20], "n_events_magic": [40, 50],
                    "accidental": [1.0, 0.5]}),
        _subrun(1, {"coincidence_id": [12], "unix_time": [10.0], "n_coincidence": [8],
                    "n_events_magic": [16], "accidental": [2.0]}),
        _subrun(3, None),  # failed
        _subrun(4, {"coincidence_id": [], "unix_time": [], "n_coincidence": [],
                    "n_events_magic": [], "accidental": []}),
    ], None)
    rows = telescope_rows(data)
    assert rows.select("obs_id", "subrun", "tel_id").rows() == [(3265, 1, 2), (3265, 2, 2),
                                                                (3265, 2, 3)]
    np.testing.assert_array_equal(rows["subrun_time"], [10.0, 31.0, 31.0])  # mean of the subrun
    np.testing.assert_array_equal(rows["fraction"], [8 / 16, 20 / 50, 10 / 40])
    np.testing.assert_array_equal(rows["purity"], [1 - 2 / 8, 1 - 0.5 / 20, 1 - 1 / 10])
    without = ReportData(Path("out"), [_subrun(1, {"coincidence_id": [12], "unix_time": [1.0],
                                                   "n_coincidence": [8], "n_events_magic": [16]})],
                         None)
    assert "purity" not in telescope_rows(without).columns
    assert telescope_rows(ReportData(Path("out"), [_subrun(3, None)], None)).is_empty()


def test_rows_of_a_batch(batch_output):
    data = load_output(batch_output)
    rows = telescope_rows(data)
    feature = data.subruns[0].feature
    assert rows["tel_id"].to_list() == [2, 3]
    assert rows.drop("obs_id", "subrun", "tel_id", "fraction", "subrun_time", "purity").equals(
        feature.sort("coincidence_id"))
