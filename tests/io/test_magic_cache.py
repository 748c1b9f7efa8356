"""io/magic_cache: the MAGIC source of a batch. A time slice of the cache runs is the events
within it, without the repeated ids, in prepared order: on hand-made runs against that
definition, and on a night's cache against the directory's events filtered the same way."""

from __future__ import annotations

import pickle

import numpy as np
import polars as pl
import pytest

from lmcoinc.batch.cache import build_magic_cache
from lmcoinc.config import load_config
from lmcoinc.io import magic_cache
from lmcoinc.io.magic import MAGIC_INDEX, find_magic_files
from lmcoinc.io.magic_cache import (
    TIME_COLUMN,
    CacheRun,
    MagicCache,
    OutsideCache,
    forget_caches,
    within,
)
from lmcoinc.io.timestamps import magic_ns
from lmcoinc.utils.timer import StageTimer

from ..helpers.magicfiles import assert_slices_equal, directory_events

TEL_NAMES = load_config(None).tel_names
SCHEMA = {"obs_id_magic": pl.Int64, "event_id_magic": pl.Int64, "tel_id": pl.Int64,
          "time_sec": pl.Int64, "time_nanosec": pl.Int64, "intensity": pl.Float64,
          "pointing_alt": pl.Float64, "pointing_az": pl.Float64, TIME_COLUMN: pl.Int64}


def test_within_a_window():
    window = [(0, 10), (20, 30)]
    assert within(window, (0, 10)) and within(window, (21, 29))
    assert not within(window, (5, 25))  # across the gap
    assert not within(window, (-1, 3)) and not within(window, (29, 31))
    assert within(None, (-(10**18), 10**18))  # None: every time


def _events(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Prepared MAGIC events of two telescopes, ids repeated now and then, times on the
    100 ns grid; the runs' time column."""
    sec = 1_700_000_000 + rng.integers(0, 20, n)
    nsec = rng.integers(0, 10**7, n) * 100
    frame = pl.DataFrame({
        "obs_id_magic": rng.choice([5093711, 5093712], n), "event_id_magic": rng.integers(0, n, n),
        "tel_id": rng.choice([2, 3], n), "time_sec": sec, "time_nanosec": nsec,
        "intensity": rng.exponential(100.0, n), "pointing_alt": np.full(n, 1.2),
        "pointing_az": np.full(n, 3.1)})
    return frame.with_columns(pl.Series(TIME_COLUMN, magic_ns(sec, nsec)))


def _hand_made(tmp_path, frame: pl.DataFrame, n_runs: int, window=None) -> MagicCache:
    """The events split into ``n_runs`` runs written as the batch writes them (each sorted by
    time, overlapping one another), the first with Float32 intensities."""
    runs = []
    for index, part in enumerate(np.array_split(np.arange(frame.height), n_runs)):
        run = frame[part].sort(TIME_COLUMN, maintain_order=True)
        if index == 0:
            run = run.with_columns(pl.col("intensity").cast(pl.Float32))
        path = tmp_path / f"run-{index}.arrow"
        run.write_ipc(path)
        t = run[TIME_COLUMN]
        runs.append(CacheRun(path, int(t.min()), int(t.max())))
    repeated = frame.filter(pl.len().over(MAGIC_INDEX) > 1).select(MAGIC_INDEX).unique()
    t = frame[TIME_COLUMN]
    return MagicCache(tuple(runs), tmp_path, (tmp_path / "dl1_M1.h5",), (t.min(), t.max()),
                      SCHEMA, repeated, None, window)


@pytest.mark.parametrize("seed", range(8))
def test_a_slice_is_the_events_within_it(tmp_path, seed):
    rng = np.random.default_rng(seed)
    frame = _events(rng, int(rng.integers(50, 400)))
    frame = frame.with_columns(pl.col("intensity").cast(pl.Float32).cast(pl.Float64))
    cache = _hand_made(tmp_path, frame, int(rng.integers(1, 4)))
    forget_caches()
    t = frame[TIME_COLUMN].to_numpy()
    for _ in range(5):
        lo, hi = np.sort(rng.choice(t, 2))
        lo, hi = int(lo) + int(rng.integers(-1, 2)), int(hi) + int(rng.integers(-1, 2))
        found = cache.events((lo, hi), StageTimer())
        expected = (frame.filter(pl.col(TIME_COLUMN).is_between(lo, hi)
                                 & (pl.len().over(MAGIC_INDEX) == 1))
                    .sort(MAGIC_INDEX).drop(TIME_COLUMN))
        assert found.rows(np.arange(found.height)).equals(expected)
        assert found.keys.equals(expected.select("obs_id_magic", "event_id_magic", "tel_id"))
        np.testing.assert_array_equal(found.intensity, expected["intensity"].to_numpy())
        np.testing.assert_array_equal(found.t_ns, magic_ns(expected["time_sec"].to_numpy(),
                                                           expected["time_nanosec"].to_numpy()))
    assert cache.events((int(t.max()) + 1, int(t.max()) + 10), StageTimer()).height == 0


def test_a_range_beyond_the_window_is_outside_the_cache(tmp_path):
    frame = _events(np.random.default_rng(1), 100)
    t = np.sort(frame[TIME_COLUMN].to_numpy())
    window = [(int(t[10]), int(t[50]))]
    cache = _hand_made(tmp_path, frame, 2, window)
    assert cache.events((int(t[10]), int(t[50])), StageTimer()).height > 0
    with pytest.raises(OutsideCache, match="beyond the cache's"):
        cache.events((int(t[10]), int(t[51])), StageTimer())


@pytest.fixture(scope="module")
def night_cache(night, tmp_path_factory):
    return build_magic_cache(night.magic_dir, tmp_path_factory.mktemp("cache"), TEL_NAMES)


def test_slices_are_the_directory_filtered(night, night_cache):
    source, frame, t_ns = directory_events(night.magic_dir)
    assert night_cache.time_range() == source.time_range() == (int(t_ns.min()), int(t_ns.max()))
    assert night_cache.files() == find_magic_files(night.magic_dir)
    assert night_cache.subarray().same_as(source.subarray())
    first, last = night_cache.time_range()
    third = (last - first) // 3
    inner = np.sort(t_ns)[[100, -100]]
    assert_slices_equal(night_cache, frame, t_ns, [
        (first, last),  # all
        (first + third, last - third),  # across MAGIC subrun files
        (int(inner[0]), int(inner[1])),  # both ends on events: included
        (int(inner[0]) + 1, int(inner[1]) - 1),  # just inside: the events at the ends left out
        (first - 10**9, first - 1),  # before every event: none
    ])
    empty = night_cache.events((last + 1, last + 10**9), StageTimer())
    assert empty.height == 0 and empty.frame.columns == frame.columns


def test_a_cache_is_unpickled_once_per_process(night, tmp_path):
    """Every task carries the batch's cache: pickled once, decoded once per process; another
    cache (another batch) is decoded anew."""
    first = build_magic_cache(night.magic_dir, tmp_path / "a", TEL_NAMES)
    second = build_magic_cache(night.magic_dir, tmp_path / "b", TEL_NAMES)
    data = pickle.dumps(first)
    magic_cache._UNPICKLED.clear()
    got = pickle.loads(data)
    assert got is not first and got.token == first.token
    assert got.runs == first.runs and got.repeated.equals(first.repeated)
    assert got.schema == first.schema and got.window == first.window
    assert pickle.loads(pickle.dumps(first)) is got  # not decoded again
    other = pickle.loads(pickle.dumps(second))
    assert other.token == second.token and other.runs == second.runs
