"""The batch's MAGIC cache as it is built: the repeated MAGIC ids against their definition on
all rows, the telescopes in use, a directory without events (its slices: tests/io/
test_magic_cache.py)."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest

from lmcoinc.batch.cache import _repeated_ids, build_magic_cache
from lmcoinc.batch.cache_runs import PreparedFile, _ids
from lmcoinc.config import load_config
from lmcoinc.errors import InvalidFileError, NoMagicEventsError
from lmcoinc.io.magic import MAGIC_INDEX, MAGIC_PARAMETERS_KEY
from lmcoinc.io.magic_cache import TIME_COLUMN, CacheRun

from ..helpers.badinputs import remove_node
from ..helpers.magicfiles import assert_slices_equal, directory_events

TEL_NAMES = load_config(None).tel_names


def test_repeated_ids_are_dropped(night, tmp_path):
    import tables

    magic = tmp_path / "magic"
    shutil.copytree(night.magic_dir, magic)
    first, second = sorted(magic.glob("dl1_M1.*.h5"))[:2]
    with tables.open_file(str(first)) as src:
        row = src.get_node(MAGIC_PARAMETERS_KEY)[100:101]
    with tables.open_file(str(second), mode="a") as dst:
        dst.get_node(MAGIC_PARAMETERS_KEY).append(row)  # the same (obs, event, tel) in two files
    cache = build_magic_cache(magic, tmp_path / "cache", TEL_NAMES)
    key = (int(row["obs_id"][0]), int(row["event_id"][0]), int(row["tel_id"][0]))
    assert cache.repeated.rows() == [key]
    _, frame, t_ns = directory_events(magic)
    assert key not in frame.select(MAGIC_INDEX).rows()  # run drops all its rows too
    assert_slices_equal(cache, frame, t_ns, [cache.time_range()])


def test_telescope_not_in_use(night, tmp_path):
    message = r"MAGIC tel_id \[3\] not in the config's mc_tel_ids"
    with pytest.raises(InvalidFileError, match=message):
        build_magic_cache(night.magic_dir, tmp_path, [2])


def test_no_event(night, tmp_path):
    magic = tmp_path / "magic"
    shutil.copytree(night.magic_dir, magic)
    for path in magic.glob("*.h5"):
        remove_node(path, MAGIC_PARAMETERS_KEY)
    with pytest.raises(NoMagicEventsError, match=f"{magic}: no MAGIC events in the DL1 files"):
        build_magic_cache(magic, tmp_path / "cache", TEL_NAMES)


def _prepared(path, obs, event, tel, invalid) -> PreparedFile:
    """A prepared file of these ids (``invalid``: those with an invalid time)."""
    ids = pl.DataFrame({"obs_id_magic": obs, "event_id_magic": event, "tel_id": tel})
    valid = ids.filter(pl.Series(~invalid))
    run = None
    if valid.height:
        valid.with_columns(pl.lit(0, pl.Int64).alias(TIME_COLUMN)).write_ipc(path)
        run = CacheRun(path, 0, 0)
    ranges, repeated = _ids(obs, event, tel)
    return PreparedFile(path, run, ranges, repeated, ids.filter(pl.Series(invalid)),
                        set(np.unique(tel).tolist()), pl.Schema(), (), None)


@pytest.mark.parametrize("seed", range(25))
def test_repeated_ids_are_those_of_all_rows(seed, tmp_path):
    """Files of two runs and telescopes, consecutive or overlapping event ids, repeats within
    and across files, some with invalid times: the ids that occur more than once."""
    rng = np.random.default_rng(seed)
    files, rows = [], []
    start = 0
    for index in range(int(rng.integers(1, 7))):
        n = int(rng.integers(1, 40))
        start += int(rng.integers(-15, 30))  # sometimes overlapping the previous file
        event = start + rng.integers(0, 40, n)
        obs = rng.choice([5093711, 5093712], n, p=[0.9, 0.1])
        tel = rng.choice([2, 3], n)
        invalid = rng.random(n) < 0.1
        files.append(_prepared(tmp_path / f"run-{index}.arrow", obs, event, tel, invalid))
        rows.append(pl.DataFrame({"obs_id_magic": obs, "event_id_magic": event, "tel_id": tel}))
        start += 40
    every = pl.concat(rows)
    want = every.filter(pl.len().over(MAGIC_INDEX) > 1).unique().sort(MAGIC_INDEX)
    got = _repeated_ids(files).sort(MAGIC_INDEX)
    assert got.equals(want.cast(pl.Int64))
