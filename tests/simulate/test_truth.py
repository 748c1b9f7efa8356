"""The simulator's truth: true pairs, the recall/purity helper, the truth file."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lmcoinc.config import load_config
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.simulate import SimulatedFiles, SimulationConfig, simulate
from lmcoinc.simulate.events import simulate_events
from lmcoinc.simulate.livetime import live_time
from lmcoinc.simulate.lst import lst_columns
from lmcoinc.simulate.truth import PAIR_KEY, Score, found_pairs, recall_purity

from ..helpers.simread import LST_KEY, pair_times, read

#: The telescopes of the default config (MAGIC files with others are an error).
TEL_NAMES = load_config(None).tel_names

CONFIG = SimulationConfig(duration_s=3.0, seed=17)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> SimulatedFiles:
    return simulate(tmp_path_factory.mktemp("truth") / "in", CONFIG)


def test_true_pairs_are_rows_of_the_files(sim: SimulatedFiles) -> None:
    pairs = pl.read_parquet(sim.true_pairs)
    assert pairs.columns[:5] == list(PAIR_KEY)
    assert pairs.select(PAIR_KEY).is_duplicated().sum() == 0
    assert sorted(pairs["tel_id"].unique()) == [2, 3]
    timed = pair_times(pairs, [sim.lst_file], sim.magic_files)  # every row is in its file
    diff = (timed["t_magic"] - timed["t_lst"] - sim.true_offset_ns).abs()
    assert diff.max() <= 300  # within the coincidence window (edges included)
    # the LST rows are those the coincidence keeps
    lst = pl.DataFrame(read(sim.lst_file, LST_KEY)[["event_id", "event_type", "intensity",
                                                    "time_gradient"]])  # fmt: skip
    rows = lst.filter(pl.col("event_id").is_in(pairs["event_id_lst"].implode()))
    assert (rows["event_type"] == 32).all()
    assert rows["intensity"].is_finite().all() and rows["time_gradient"].is_finite().all()
    assert rows["event_id"].is_duplicated().sum() == 0


def test_true_pairs_count_as_n_common(sim: SimulatedFiles) -> None:
    pairs = pl.read_parquet(sim.true_pairs)
    assert pairs.select("obs_id_lst", "event_id_lst").n_unique() == sim.n_common
    # n_common as first defined: showers with a usable LST row and any MAGIC row
    rng = np.random.default_rng(CONFIG.seed)
    stream = simulate_events(CONFIG, rng)
    lst = lst_columns(stream, CONFIG, rng)
    seen = np.zeros(stream.shower_log_size.size, dtype=bool)
    seen[stream.magic_shower] = True
    assert int(seen[lst.usable_showers].sum()) == sim.n_common
    # each MAGIC telescope's file lacks ~5 % of the images of the stereo events
    per_tel = pairs.group_by("tel_id").len()["len"].to_numpy()
    assert (per_tel > 0.9 * sim.n_common).all() and (per_tel < sim.n_common).all()


def test_truth_file(sim: SimulatedFiles) -> None:
    truth = json.loads(sim.truth_file.read_text())
    assert truth["lst_file"] == sim.lst_file.name
    assert truth["magic_files"] == [p.name for p in sim.magic_files]
    assert truth["n_common"] == sim.n_common
    assert sum(truth["n_true_pairs"].values()) == pl.read_parquet(sim.true_pairs).height
    assert truth["config"] == json.loads(json.dumps(asdict(CONFIG)))
    rng = np.random.default_rng(CONFIG.seed)
    expected = live_time(simulate_events(CONFIG, rng), CONFIG)
    assert truth["live_time"] == asdict(expected) == asdict(sim.live_time)
    live = sim.live_time
    assert live.live_s < live.lst_live_s < live.duration_s == 3.0
    # dead fractions: LST ~5 kHz x 7.6 us, MAGIC ~300 Hz x 26 us
    assert 1 - live.lst_live_s / 3 == pytest.approx(live.lst_rate_hz * 7.6e-6, rel=0.01)
    assert 1 - live.magic_live_s / 3 == pytest.approx(live.magic_rate_hz * 26e-6, rel=0.05)


def test_recall_and_purity_of_lmcoinc(sim: SimulatedFiles, tmp_path: Path) -> None:
    result = process_subrun(sim.lst_file, MagicDirectory(sim.magic_dir, TEL_NAMES),
                             tmp_path, load_config(None))
    found = found_pairs(result.result.events.plan)
    score = recall_purity(found, sim.true_pairs)
    assert score.overall.n_true == pl.read_parquet(sim.true_pairs).height
    assert score.overall.recall > 0.99 and score.overall.purity > 0.99
    for tel_id in (2, 3):
        assert score.per_tel[tel_id].recall > 0.99 and score.per_tel[tel_id].purity > 0.99
    # per telescope, the found pairs are the coincidences of the feature table
    for tel_id, coincidence in result.result.telescopes.items():
        assert score.per_tel[tel_id].n_found == len(coincidence.idx_lst)
    # the accidental pairs: about LST rate x window x MAGIC events without LST partner
    accidental = score.overall.n_found - score.overall.n_found_true
    assert accidental <= 5e3 * 600e-9 * 2 * 3 * 300 + 10


def test_recall_purity_counts() -> None:
    key = dict.fromkeys(PAIR_KEY, 0)
    true = pl.DataFrame([{**key, "event_id_lst": i, "tel_id": t} for i in range(4) for t in (2, 3)])
    found = pl.concat([
        true.filter(~((pl.col("event_id_lst") == 0) & (pl.col("tel_id") == 3))),  # 1 missed
        pl.DataFrame([{**key, "event_id_lst": 9, "tel_id": 2}]),  # 1 accidental
    ])  # fmt: skip
    score = recall_purity(found.to_pandas(), true)
    assert score.overall == Score(n_true=8, n_found=8, n_found_true=7)
    assert score.per_tel[2] == Score(n_true=4, n_found=5, n_found_true=4)
    assert score.per_tel[3].recall == 0.75 and score.per_tel[3].purity == 1.0
    assert np.isnan(recall_purity(found.head(0), true.head(0)).overall.recall)


def test_found_pairs_from_stereo_events() -> None:
    events = pl.DataFrame({
        "obs_id": [1, 1, 1, 1, 7, 7], "event_id": [5, 5, 5, 6, 3, 3],
        "tel_id": [1, 2, 3, 1, 2, 3],
        "obs_id_magic": [7, 7, 7, 7, 7, 7], "event_id_magic": [3, 3, 3, 4, 3, 3],
    })  # fmt: skip
    pairs = found_pairs(events).sort("tel_id")
    # event (1, 6) has no MAGIC row, the MAGIC-only event (7, 3) no LST row
    assert pairs.rows() == [(1, 5, 2, 7, 3), (1, 5, 3, 7, 3)]
