"""A simulated night with the optional features: one MAGIC clock, truth per subrun,
a sparse subrun, merged LST run."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from lmcoinc.simulate import NightFiles, simulate_night

from ..helpers.simread import LST_KEY, pair_times, read

START = 1_700_000_000.0
DRIFT = 2000.0  # ns per s


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> NightFiles:
    return simulate_night(
        tmp_path_factory.mktemp("night-features"), n_subruns=3, subrun_s=1.5, seed=2,
        drift_ns_per_s=DRIFT, geometric_delay=True,
        subrun_settings={1: {"magic_stereo_rate_hz": 3.0}}, merged=True,
    )  # fmt: skip


def test_truth_per_subrun(night: NightFiles) -> None:
    assert len(night.true_pairs) == len(night.truth_files) == len(night.live_times) == 3
    for lst_file, pairs_path, truth_path in zip(
        night.lst_files, night.true_pairs, night.truth_files, strict=True
    ):
        assert pairs_path.parent == night.lst_dir.parent / "truth" / lst_file.stem
        truth = json.loads(truth_path.read_text())
        assert truth["lst_file"] == lst_file.name
        assert all((night.magic_dir / name).exists() for name in truth["magic_files"])
        # the MAGIC ids are those of the night's renumbered files
        pairs = pair_times(pl.read_parquet(pairs_path), [lst_file], night.magic_files)
        expected = pairs["clock_shift_ns"] + pairs["geometric_delay_ns"]
        assert ((pairs["t_magic"] - pairs["t_lst"]) - expected).abs().max() < 400


def test_lst_event_ids_run_on_across_subruns(night: NightFiles) -> None:
    """As in a real run: a subrun's ids follow the previous subrun's, none repeats across
    subruns (so a merged file keeps every event), and the truth has the files' ids."""
    ids = [read(path, LST_KEY)["event_id"] for path in night.lst_files]
    for before, after in zip(ids, ids[1:], strict=False):
        assert after.min() == before.max() + 1
    every = np.concatenate(ids)
    assert len(np.unique(every)) == len(every) - len(ids)  # one repeated id per subrun
    for lst_ids, pairs_path in zip(ids, night.true_pairs, strict=True):
        assert np.isin(pl.read_parquet(pairs_path)["event_id_lst"].to_numpy(), lst_ids).all()


def test_one_magic_clock_over_the_night(night: NightFiles) -> None:
    parts = [
        pair_times(pl.read_parquet(p), [f], night.magic_files)
        for p, f in zip(night.true_pairs, night.lst_files, strict=True)
    ]
    for before, after in zip(parts[:-1], parts[1:], strict=True):  # MAGIC ids run on
        assert before["event_id_magic"].max() < after["event_id_magic"].min()
    pairs = pl.concat(parts)
    t_ref = int((START - 1.0) * 1e9)  # the night's MAGIC data start
    since_ref_s = (pairs["t_lst"].to_numpy() - t_ref) * 1e-9
    diff = (pairs["t_magic"] - pairs["t_lst"] - pairs["geometric_delay_ns"]).to_numpy()
    slope, at_ref = np.polyfit(since_ref_s, diff, 1)
    assert slope == pytest.approx(DRIFT, abs=20)
    assert at_ref == pytest.approx(-3200, abs=30)


def test_sparse_subrun(night: NightFiles) -> None:
    assert night.n_common[1] <= 10 < min(night.n_common[0], night.n_common[2])
    assert 0 < pl.read_parquet(night.true_pairs[1]).height <= 20
    assert night.live_times[1].magic_stereo_rate_hz < 10


def test_merged_run(night: NightFiles) -> None:
    """``merged=True``: the subruns merged (:mod:`lmcoinc.simulate.merge`) into ``lst_merged/``."""
    merged = night.merged_lst_file
    assert merged == night.lst_dir.parent / "lst_merged" / "dl1_LST-1.Run03265.h5"
    expected = np.concatenate([read(path, LST_KEY) for path in night.lst_files])
    assert read(merged, LST_KEY).tobytes() == expected.tobytes()
