"""pipeline: the coincidence of one small simulated subrun through process_subrun: the report
filled as it goes, the outputs listed and written, and what was known kept when it stops."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import polars as pl
import pytest
import tables

from lmcoinc.config import load_config
from lmcoinc.errors import (
    LstInputError,
    MagicInputError,
    NoCoincidenceError,
    OutputError,
    exit_code,
)
from lmcoinc.io.dataset import partition_file
from lmcoinc.io.lst_events import load_lst
from lmcoinc.io.magic import MAGIC_PARAMETERS_KEY
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.io.output import DatasetPartition, output_names
from lmcoinc.io.provenance import read_provenance
from lmcoinc.pipeline import SubrunReport, process_subrun
from lmcoinc.quality.diagnostics import FEATURE_COLUMNS
from lmcoinc.simulate import SimulationConfig, simulate

from .helpers.badinputs import copy_good, lst_file, modify_column, truncate
from .helpers.compare import KEYS

CONFIG = load_config(None)


def _magic(path) -> MagicDirectory:
    return MagicDirectory(path, CONFIG.tel_names)


@pytest.fixture(scope="module")
def report(good, tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline") / "out"
    given = SubrunReport()
    found = process_subrun(lst_file(good), _magic(good / "magic"), out, CONFIG, report=given)
    assert found is given
    return found


def test_report_is_filled(good, report):
    lst = load_lst(lst_file(good), CONFIG.timestamp_type_lst)
    assert report.n_lst_events == lst.height and report.obs_id == 3265
    result = report.result
    assert list(result.telescopes) == [2, 3]
    assert result.feature["coincidence_id"].to_list() == [12, 13]
    assert {"read", "prepare", "offsets", "stereo", "diagnostics", "subarray",
            "write"} <= set(report.timer.timings)
    assert list(result.feature_extra) == ["clock_offset", "geometric_delay", "offset_source",
                                          "n_offset_steps", *FEATURE_COLUMNS]
    assert result.feature_extra["offset_source"] == ["local", "local"]


def test_outputs_listed_and_written(good, report):
    out = report.outputs["hdf5"].parent
    assert report.outputs == output_names(lst_file(good), out)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in report.outputs.values())
    result = report.result
    for name, key in KEYS.items():
        from_hdf5 = pd.read_hdf(report.outputs["hdf5"], key)
        from_parquet = pl.read_parquet(report.outputs[name])
        assert len(from_hdf5) == from_parquet.height
    assert pl.read_parquet(report.outputs["feature"]).columns == [
        *result.feature.columns, *result.feature_extra]
    assert pl.read_parquet(report.outputs["events"]).equals(result.events.collect())
    np.testing.assert_allclose(result.feature["average_offset"], -3.2, atol=0.1)
    with tables.open_file(str(report.outputs["hdf5"])) as handle:
        assert "/configuration/instrument/subarray/layout" in handle
        assert "/events/dl1" not in handle  # no images unless asked


def test_dataset_partition_takes_the_run_of_the_events(good, tmp_path):
    partition = DatasetPartition(tmp_path / "night", None, 7)
    found = process_subrun(lst_file(good), _magic(good / "magic"), tmp_path / "out", CONFIG,
                           dataset=partition)
    written = output_names(lst_file(good), tmp_path / "out",
                           dataset=dataclasses.replace(partition, obs_id=3265))
    assert found.outputs == written
    assert [written[t] for t in KEYS] == [partition_file(tmp_path / "night", t, 3265, 7)
                                          for t in KEYS]
    assert all(p.is_file() for p in written.values())
    # the Parquet tables in the partition only; every file names the partition's keys
    assert list((tmp_path / "out").iterdir()) == [written["hdf5"]]
    for path in written.values():
        assert read_provenance(path)["output"] == {"obs_id": 3265, "subrun": 7}, path


def test_drift_model_outputs(good, tmp_path):
    config = dataclasses.replace(CONFIG, offset_model="drift")
    found = process_subrun(lst_file(good), _magic(good / "magic"), tmp_path, config)
    assert list(found.outputs) == ["hdf5", "events", "feature", "profile", "offset_model",
                                   "offset_segments"]
    assert pl.read_parquet(found.outputs["offset_model"])["tel_id"].unique().sort().to_list() == [
        2, 3]
    feature = pl.read_parquet(found.outputs["feature"])
    assert {"drift_us_per_s", "residual_rms_ns", "from_run_model"} <= set(feature.columns)
    assert pd.read_hdf(found.outputs["hdf5"], "/coincidence/offset_model").shape[0] > 0


@pytest.fixture(scope="module")
def with_images(tmp_path_factory):
    config = SimulationConfig(duration_s=0.3, seed=12, images=True)
    return simulate(tmp_path_factory.mktemp("images"), config)


def test_images_of_the_stereo_events(with_images, tmp_path):
    config = dataclasses.replace(CONFIG, save_images=True)
    found = process_subrun(with_images.lst_file, _magic(with_images.magic_dir), tmp_path, config)
    assert "images" in found.timer.timings
    events = found.result.events.collect()
    with tables.open_file(str(found.outputs["hdf5"])) as handle:
        for tel_id in (1, 2, 3):
            rows = handle.get_node(f"/events/dl1/image_{tel_id}").read()
            own = events.filter(pl.col("tel_id") == tel_id)
            assert len(rows) == own.height > 0


# --- errors: what was known is kept, nothing is written ------------------------------------


def test_no_time_overlap(good, tmp_path):
    run = copy_good(good, tmp_path)
    for path in run.magic.glob("*.h5"):
        modify_column(path, MAGIC_PARAMETERS_KEY, "time_sec", lambda t: t.__iadd__(3600))
    report = SubrunReport()
    with pytest.raises(NoCoincidenceError) as err:
        process_subrun(run.lst, _magic(run.magic), run.out, CONFIG, report=report)
    assert "no time overlap" in str(err.value) and exit_code(err.value) == 3
    assert report.n_lst_events == load_lst(run.lst, "dragon_time").height
    assert report.obs_id == 3265 and report.result is None and report.outputs == {}
    assert list(run.out.iterdir()) == []


@pytest.mark.parametrize("damage", ["lst", "magic"])
def test_input_errors_take_the_role_of_their_file(good, tmp_path, damage):
    run = copy_good(good, tmp_path)
    bad = run.lst if damage == "lst" else sorted(run.magic.glob("*.h5"))[1]
    truncate(bad, 0.5)
    report = SubrunReport()
    role = LstInputError if damage == "lst" else MagicInputError
    with pytest.raises(role) as err:
        process_subrun(run.lst, _magic(run.magic), run.out, CONFIG, report=report)
    assert err.value.path == bad and "\n" not in str(err.value)
    assert report.result is None and report.outputs == {}
    if damage == "lst":
        assert report.n_lst_events is None
    else:  # the LST-1 file was read before
        assert report.n_lst_events > 0 and report.obs_id == 3265
    assert list(run.out.iterdir()) == []


def test_output_checked_before_any_reading(good, tmp_path):
    (tmp_path / "out").write_text("")
    lst = tmp_path / "missing.h5"  # never opened: the output is checked first
    report = SubrunReport()
    with pytest.raises(OutputError):
        process_subrun(lst, _magic(good / "magic"), tmp_path / "out", CONFIG, report=report)
    assert report.n_lst_events is None and report.timer.timings == {}


def test_earlier_outputs_replaced_together(good, report, tmp_path):
    out = shutil.copytree(report.outputs["hdf5"].parent, tmp_path / "out")
    before = {p.name: p.stat().st_ino for p in out.iterdir()}
    again = process_subrun(lst_file(good), _magic(good / "magic"), out, CONFIG)
    assert sorted(before) == sorted(p.name for p in again.outputs.values())
    assert all(p.stat().st_ino != before[p.name] for p in out.iterdir())
    assert pl.read_parquet(again.outputs["events"]).equals(
        pl.read_parquet(report.outputs["events"]))
