"""The subrun's diagnostics against the simulator's truth: accidental pairs against the
false pairs counted with the true pairs, effective time against the true live time."""

from __future__ import annotations

import polars as pl
import pytest

from lmcoinc.config import load_config
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.quality.diagnostics import FEATURE_COLUMNS
from lmcoinc.simulate import SimulationConfig, simulate
from lmcoinc.simulate.truth import found_pairs, recall_purity

#: The telescopes of the default config (MAGIC files with others are an error).
TEL_NAMES = load_config(None).tel_names

#: name → simulation: realistic rates, and 25 kHz LST-1 / 3 kHz MAGIC for many accidentals
SUBRUNS = {
    "realistic": SimulationConfig(duration_s=3.0, seed=17),
    "busy": SimulationConfig(duration_s=3.0, seed=31, lst_rate_hz=25000.0,
                             magic_stereo_rate_hz=3000.0),
}


@pytest.fixture(scope="module", params=sorted(SUBRUNS))
def subrun(request, tmp_path_factory):
    """(simulated files, the subrun's report, the pairs found scored against the truth)."""
    work = tmp_path_factory.mktemp(request.param)
    files = simulate(work / "in", SUBRUNS[request.param])
    report = process_subrun(files.lst_file, MagicDirectory(files.magic_dir, TEL_NAMES),
                            work / "out", load_config(None))
    return request.param, files, report, recall_purity(found_pairs(report.result.events.plan),
                                                       files.true_pairs)


def test_effective_time_is_the_true_live_time(subrun):
    _, files, report, _ = subrun
    effective = report.result.feature_extra["effective_time_s"]
    assert effective.n_unique() == 1  # one value for the subrun, in every telescope's row
    assert effective[0] == pytest.approx(files.live_time.live_s, rel=0.01)
    # the rest would be far off: each system's dead time matters
    assert files.live_time.live_s < 0.97 * report.result.feature_extra["elapsed_time_s"][0]


def test_accidentals_are_the_false_pairs(subrun):
    name, _, report, score = subrun
    extra = report.result.feature_extra
    for i, (tel_id, found) in enumerate(report.result.telescopes.items()):
        counted = score.per_tel[tel_id]
        assert counted.n_found == len(found.idx_lst)  # the telescope's pairs
        false = counted.n_found - counted.n_found_true
        if name == "busy":
            assert false > 50
            assert extra["accidental"][i] == pytest.approx(false, rel=0.3)
            assert extra["accidental_sideband"][i] == pytest.approx(false, rel=0.3)
        else:  # a handful: the estimate is right in size
            assert abs(extra["accidental"][i] - false) < 4 * (false + 1) ** 0.5


def test_feature_columns_in_the_parquet_only(subrun):
    _, _, report, _ = subrun
    parquet = pl.read_parquet(report.outputs["feature"])
    assert parquet.columns[-len(FEATURE_COLUMNS):] == list(FEATURE_COLUMNS)
    assert parquet["pre_offset"].to_list() == pytest.approx([-3.2, -3.2], abs=0.1)
    assert parquet.select(*FEATURE_COLUMNS).null_count().sum_horizontal().item() == 0
    import tables

    with tables.open_file(report.outputs["hdf5"]) as handle:
        hdf5_columns = handle.get_node("/coincidence/feature").colnames
    clock = ["clock_offset", "geometric_delay", "offset_source", "n_offset_steps"]
    assert [*hdf5_columns, *clock, *FEATURE_COLUMNS] == parquet.columns
