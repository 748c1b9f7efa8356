"""io/magic_events: the first pass over the MAGIC files against the definition (prepare_magic on
the whole concatenated tables), and all columns of any events read again on demand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from lmcoinc.io.magic import MAGIC_PARAMETERS_KEY, iter_magic_files, prepare_magic
from lmcoinc.io.magic_events import MagicEvents, scan_magic
from lmcoinc.io.timestamps import magic_ns

from ..helpers.badinputs import remove_node
from ..helpers.magicfiles import damaged_copy


@pytest.fixture(scope="module", params=["as simulated", "damaged"])
def directory(request, magic_subruns, tmp_path_factory):
    if request.param == "as simulated":
        return magic_subruns.magic_dir
    target = tmp_path_factory.mktemp("magic") / "magic"
    damaged_copy(magic_subruns.magic_dir, target)
    return target


def _definition(directory) -> tuple[pl.DataFrame, int]:
    raw = pl.concat([f.frame for f in iter_magic_files(directory)], how="vertical_relaxed")
    return prepare_magic(raw), raw.height


def test_first_pass_is_the_definition(directory):
    want, n_raw = _definition(directory)
    events = scan_magic(directory)
    assert events.height == want.height and events.total_rows == n_raw
    assert events.columns == want.columns
    assert events.keys.equals(want.select("obs_id_magic", "event_id_magic", "tel_id"))
    np.testing.assert_array_equal(events.t_ns, magic_ns(want["time_sec"].to_numpy(),
                                                        want["time_nanosec"].to_numpy()))
    for name in ("intensity", "pointing_alt", "pointing_az", "time_diff"):
        np.testing.assert_array_equal(getattr(events, name), want[name].to_numpy())
    files = [f.path for f in iter_magic_files(directory)]
    assert events.files == files
    assert [s.path for s in events.subarrays] == files
    assert events.frame is None  # the other columns stay in the files


def test_rows_read_again_from_the_files(directory):
    want, _ = _definition(directory)
    events = scan_magic(directory)
    assert events.rows(np.arange(events.height)).equals(want)
    rng = np.random.default_rng(6)
    positions = rng.integers(0, events.height, 300)  # any order, repeats
    columns = ["length", "obs_id_magic", "time_nanosec", "tel_id", "intensity"]
    assert events.rows(positions, columns).equals(want[positions].select(columns))
    empty = events.rows(np.empty(0, np.int64))
    assert empty.height == 0 and empty.schema == want.schema


def test_events_in_memory(directory):
    want, _ = _definition(directory)
    events = MagicEvents.from_frame(want, files=["a.h5"])
    assert events.frame is want and events.files == ["a.h5"]
    assert events.total_rows == want.height and events.columns == want.columns
    positions = np.array([5, 1, 5, 0])
    assert events.rows(positions).equals(want[positions])
    assert events.rows(positions, ["event_id_magic"]).equals(
        want[positions].select("event_id_magic"))
    without = MagicEvents.from_frame(want.drop("time_diff"), files=[])
    assert without.time_diff is None


def test_files_without_events(magic_subruns, tmp_path):
    target = tmp_path / "magic"
    damaged_copy(magic_subruns.magic_dir, target)
    for path in target.glob("dl1_*.h5"):
        if "M2.Run05093711.003" not in path.name:  # already without table
            remove_node(path, MAGIC_PARAMETERS_KEY)
    events = scan_magic(target)
    assert (events.height, events.total_rows, events.files) == (0, 0, [])
    assert events.rows(np.empty(0, np.int64)).height == 0
