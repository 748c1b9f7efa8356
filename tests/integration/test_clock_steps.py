"""Steps of the MAGIC clock within a subrun, end to end on simulated files in the real formats.

Two nights of 10 s subruns at realistic rates. With a good GPS (-3.2 µs): a step of
-150 µs in the middle of subrun 0, two steps (+40 µs, -2 ms) in subrun 1, a step in the
first second of subrun 2 and in the last second of subrun 3, a step of 1 µs in subrun 4,
none in subrun 5. With a broken GPS (+0.851 s, +6 µs/s): a step of -150 µs in subrun 0,
of -0.5 s in subrun 1. Scored against the simulator's true pairs.
"""

from __future__ import annotations

import json
import logging
import re

import numpy as np
import polars as pl
import pytest

from lmcoinc.batch import run_batch
from lmcoinc.config import load_config
from lmcoinc.errors import NoCoincidenceError
from lmcoinc.io.dataset import partition_file
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import SubrunReport, process_subrun
from lmcoinc.report import make_report
from lmcoinc.simulate import simulate_night
from lmcoinc.simulate.truth import found_pairs, recall_purity

from ..helpers.compare import subrun_table

START = 1_700_000_000.0
GOOD_GPS = ((START + 5.0, -150_000.0), (START + 13.0, 40_000.0), (START + 17.0, -2_000_000.0),
            (START + 20.4, -150_000.0), (START + 39.6, 80_000.0), (START + 45.0, 1000.0))
BROKEN_GPS = ((START + 5.0, -150_000.0), (START + 15.0, -5e8))
#: The columns of the stereo events that found_pairs reads (no event: no pair).
PLAN = {"obs_id": pl.Int64, "event_id": pl.Int64, "tel_id": pl.Int64, "obs_id_magic": pl.Int64,
        "event_id_magic": pl.Int64}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    work = tmp_path_factory.mktemp("steps")
    good = simulate_night(work / "good", n_subruns=6, subrun_s=10.0, seed=41, processes=2,
                          clock_steps=GOOD_GPS)
    broken = simulate_night(work / "broken", n_subruns=3, subrun_s=10.0, seed=42, processes=2,
                            true_offset_ns=851_000_000, drift_ns_per_s=6000.0,
                            clock_steps=BROKEN_GPS)
    return {"good": good, "broken": broken}


def _steps_in(truth_file) -> list[dict]:
    return [s for s in json.loads(truth_file.read_text())["clock_steps"] if s["in_subrun"]]


@pytest.fixture(scope="module")
def runs(nights, drift_config, tmp_path_factory):
    """Per night and mode: per subrun (report, score, warnings)."""
    out = {}
    for night_name, night in nights.items():
        for mode, config in (("constant", load_config(None)),
                             ("drift", load_config(drift_config()))):
            rows = []
            for lst_file, true in zip(night.lst_files, night.true_pairs, strict=True):
                handler = _Collect()
                logging.getLogger("lmcoinc").addHandler(handler)
                report = SubrunReport()
                try:
                    process_subrun(lst_file, MagicDirectory(night.magic_dir, config.tel_names),
                                   tmp_path_factory.mktemp(mode), config, report=report)
                except NoCoincidenceError:  # constant mode on a broken GPS
                    pass
                finally:
                    logging.getLogger("lmcoinc").removeHandler(handler)
                plan = (report.result.events.plan if report.result is not None
                        else pl.DataFrame(schema=PLAN))
                score = recall_purity(found_pairs(plan), true)
                rows.append((report, score, handler.warnings))
            out[night_name, mode] = rows
    return out


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())


@pytest.mark.parametrize("night_name", ["good", "broken"])
def test_drift_mode_pairs_every_subrun_and_the_run(nights, runs, night_name):
    night, rows = nights[night_name], runs[night_name, "drift"]
    for lst_file, truth, (report, score, _) in zip(night.lst_files, night.truth_files, rows,
                                                   strict=True):
        assert score.overall.recall >= 0.98 and score.overall.purity >= 0.99, (lst_file, score)
        steps = _steps_in(truth)
        for found in report.result.telescopes.values():
            assert len(found.steps) == len(steps), (lst_file.name, found.steps)
            for step, true in zip(found.steps, steps, strict=True):
                assert abs(step.time_ns - true["unix_ns"]) < 30_000_000
                assert step.size_ns == pytest.approx(true["size_ns"], abs=50)
        feature = report.result.feature_extra
        assert feature["n_offset_steps"] == [len(steps)] * 2
    n_true = sum(score.overall.n_true for _, score, _ in rows)
    n_found = sum(score.overall.n_found for _, score, _ in rows)
    n_hit = sum(score.overall.n_found_true for _, score, _ in rows)
    assert n_hit / n_true >= 0.98 and n_hit / n_found >= 0.99


def test_constant_mode_warns_naming_the_subrun_telescope_time_and_size(nights, runs):
    night = nights["good"]
    for lst_file, truth, (report, _, warnings) in zip(
            night.lst_files, night.truth_files, runs["good", "constant"], strict=True):
        steps = _steps_in(truth)
        said = [w for w in warnings if "steps by" in w]
        assert len(said) == 2 * len(steps), (lst_file.name, warnings)  # MAGIC-I and -II
        for warning in said:
            assert warning.startswith(f"{lst_file.name}: MAGIC-I") or warning.startswith(
                f"{lst_file.name}: MAGIC-II")
            assert warning.endswith("try offset_model: drift")
        told = [(float(m[1]), float(m[2])) for m in (re.search(
            r"steps by ([-+0-9.]+) us at ([0-9.]+)", w) for w in said)]
        for true in steps:  # each step, for each telescope: its size, and when to 30 ms
            assert sum(abs(size * 1000 - true["size_ns"]) < 50
                       and abs(at - true["unix_ns"] * 1e-9) < 0.03 for size, at in told) == 2
        assert report.result.feature_extra["n_offset_steps"] == [len(steps)] * 2


@pytest.mark.parametrize("night_name", ["good", "broken"])
def test_drift_mode_never_worse_than_clean_constant_mode(runs, night_name):
    for (_, constant, _), (_, drift, _) in zip(runs[night_name, "constant"],
                                               runs[night_name, "drift"], strict=True):
        if constant.overall.purity >= 0.99:  # NaN without pairs: not compared
            assert drift.overall.recall >= constant.overall.recall


def test_batch_summary_and_report_mark_the_steps(nights, drift_config, tmp_path):
    night = nights["good"]
    result = run_batch(night.lst_dir, night.magic_dir, tmp_path,
                       load_config(drift_config()), jobs=1)
    assert result.exit_code == 0
    expected = [len(_steps_in(t)) for t in night.truth_files]
    assert result.summary["n_offset_steps_tel2"].to_list() == expected
    assert result.summary["n_offset_steps_tel3"].to_list() == expected
    segments = subrun_table(tmp_path / "dl1_MAGIC_LST-1.Run03265.0001.h5", "offset_segments")
    assert segments.equals(pl.read_parquet(partition_file(tmp_path, "offset_segments", 3265, 1)))
    steps = segments.filter(pl.col("tel_id") == 2)["step_us"].to_list()[1:]
    assert steps == pytest.approx([40.0, -2000.0], abs=0.05)
    page = make_report(tmp_path).read_text()
    assert "Clock steps within a subrun" in page
    assert f"tel 2: {steps[1]:+.3f} µs" in page and "fitted on each side" in page
    assert (tmp_path / "report" / "profile_dl1_MAGIC_LST-1.Run03265.0001.png").is_file()
    assert np.sum(expected) == 6
