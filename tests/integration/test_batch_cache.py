"""The MAGIC cache of a batch: only the MAGIC files its subruns need are read; a subrun beyond
the cache reads the MAGIC directory as run does."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from lmcoinc.batch import run_batch
from lmcoinc.batch.cache import build_magic_cache
from lmcoinc.batch.overlap import lst_window
from lmcoinc.config import load_config
from lmcoinc.errors import InvalidFileError
from lmcoinc.io.lst import LST_PARAMETERS_KEY
from lmcoinc.io.magic import MAGIC_PARAMETERS_KEY
from lmcoinc.io.magic_cache import OutsideCache
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.io.spans import EDGE_ROWS, magic_time_span
from lmcoinc.pipeline import process_subrun
from lmcoinc.utils.timer import StageTimer

from ..helpers.badinputs import MAGIC_FILTERS, drop_column, modify_column
from ..helpers.compare import assert_same_outputs
from .test_batch import NAMES

CONFIG = load_config(None)


@pytest.fixture(scope="module")
def two_nights(night, tmp_path_factory):
    """The night's MAGIC files, and those of another MAGIC run a day later that cannot be
    read (their intensity column is missing)."""
    magic = tmp_path_factory.mktemp("two-nights")
    for path in night.magic_files:
        shutil.copy(path, magic)
        other = magic / path.name.replace(".Run05093711.", ".Run05093799.")
        shutil.copy(path, other)
        modify_column(other, MAGIC_PARAMETERS_KEY, "time_sec", lambda t: t.__iadd__(86_400))
        drop_column(other, MAGIC_PARAMETERS_KEY, "intensity", MAGIC_FILTERS)
    return magic


def test_the_other_night_is_not_read(night, two_nights, run_outputs, tmp_path):
    assert len(list(two_nights.glob("*.Run05093711.*"))) == len(night.magic_files)
    cache = build_magic_cache(two_nights, tmp_path / "cache", CONFIG.tel_names, None,
                              lst_window(night.lst_files, CONFIG))
    assert [p.name for p in cache.magic_files] == [p.name for p in night.magic_files]
    result = run_batch(night.lst_dir, two_nights, tmp_path / "out", jobs=2)
    assert result.summary["status"].to_list() == ["ok"] * 3
    assert_same_outputs(tmp_path / "out", run_outputs(), NAMES)
    # run reads every file of the directory: the other night's is an error there
    with pytest.raises(InvalidFileError, match="lacks column"):
        process_subrun(night.lst_files[0], MagicDirectory(two_nights, CONFIG.tel_names),
                       tmp_path / "run", CONFIG)


def test_a_range_beyond_the_cache_is_refused(night, tmp_path):
    window = [magic_time_span(night.magic_files[0])]  # the first file's times
    cache = build_magic_cache(night.magic_dir, tmp_path / "cache", CONFIG.tel_names, None,
                              window)
    assert cache.window == window  # not every MAGIC file was needed
    assert len(cache.magic_files) < len(night.magic_files)
    inside = (window[0][0], window[0][1])
    assert cache.events(inside, StageTimer()).height
    with pytest.raises(OutsideCache):
        cache.events((inside[0], inside[1] + 1), StageTimer())


def test_subrun_whose_edges_mislead_reads_the_directory(night, tmp_path, caplog):
    """An LST file whose first and last rows say less than its times (they are not shower
    events, and their times are those of the middle): its subrun finds its MAGIC range
    beyond the cache and reads the directory, with run's outputs."""
    lst = tmp_path / "lst"
    lst.mkdir()
    path = lst / night.lst_files[1].name
    shutil.copy(night.lst_files[1], path)

    def middle_at_the_edges(values: np.ndarray) -> None:
        middle = values[len(values) // 2]
        values[:EDGE_ROWS] = middle
        values[-EDGE_ROWS:] = middle

    modify_column(path, LST_PARAMETERS_KEY, "dragon_time", middle_at_the_edges)
    modify_column(path, LST_PARAMETERS_KEY, "event_type",
                  lambda t: t.__setitem__(np.r_[:EDGE_ROWS, -EDGE_ROWS:0], 0))
    window = lst_window([path], CONFIG)
    assert window[0][1] - window[0][0] < 3 * 10**9  # the middle, not the 2 s of the subrun
    with caplog.at_level(logging.INFO, logger="lmcoinc"):
        result = run_batch(lst, night.magic_dir, tmp_path / "out", jobs=1, night=False)
    assert result.summary["status"].to_list() == ["ok"]
    assert "the MAGIC directory is read" in caplog.text
    process_subrun(path, MagicDirectory(night.magic_dir, CONFIG.tel_names), tmp_path / "run",
                   CONFIG)
    assert_same_outputs(tmp_path / "out", tmp_path / "run", [NAMES[1]])
