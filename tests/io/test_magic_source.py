"""io/magic_source: the MAGIC events of a directory (``lmcoinc run``): all of them whatever the
time range, read once, telescopes checked, the subarray checked from what was read with the
tables."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lmcoinc.errors import InvalidFileError, NoMagicEventsError
from lmcoinc.io import magic_source
from lmcoinc.io.magic import MAGIC_PARAMETERS_KEY
from lmcoinc.io.magic_events import scan_magic
from lmcoinc.io.magic_source import MagicDirectory, load_magic
from lmcoinc.io.subarray import check_same_subarrays
from lmcoinc.utils.timer import StageTimer

from ..helpers.badinputs import LAYOUT_KEY, modify_column, remove_node
from ..helpers.magicfiles import damaged_copy
from ..helpers.subarrays import assert_same_tables

TEL_IDS = (1, 2, 3)


@pytest.fixture
def copy(magic_subruns, tmp_path):
    """A copy of the MAGIC directory, to change."""
    return shutil.copytree(magic_subruns.magic_dir, tmp_path / "magic")


def test_all_events_whatever_the_range_read_once(magic_subruns, monkeypatch):
    calls = []

    def counted(directory):
        calls.append(directory)
        return scan_magic(directory)

    monkeypatch.setattr(magic_source, "scan_magic", counted)
    source = MagicDirectory(str(magic_subruns.magic_dir), TEL_IDS)
    assert source.root == magic_subruns.magic_dir and source.files() == []
    timer = StageTimer()
    events = source.events((0, 1), timer)
    want = scan_magic(magic_subruns.magic_dir)
    assert events.keys.equals(want.keys) and events.height > 0
    np.testing.assert_array_equal(events.t_ns, want.t_ns)
    assert source.events((int(want.t_ns.max()) + 10**12, int(want.t_ns.max()) + 10**13),
                         timer) is events
    assert calls == [magic_subruns.magic_dir] and "read" in timer.timings
    assert source.time_range() == (int(want.t_ns.min()), int(want.t_ns.max()))
    assert source.files() == magic_subruns.magic_files


def test_nothing_known_before_reading(magic_subruns):
    source = MagicDirectory(magic_subruns.magic_dir, TEL_IDS)
    for ask in (source.time_range, source.subarray):
        with pytest.raises(RuntimeError, match="MAGIC events not read yet"):
            ask()


def test_files_of_a_damaged_directory(magic_subruns, tmp_path):
    target = tmp_path / "magic"
    damaged_copy(magic_subruns.magic_dir, target)
    source = MagicDirectory(target, TEL_IDS)
    source.events((0, 0), StageTimer())
    assert source.files() == sorted(target.glob("dl1_*.h5"))[:-1]  # not the one without table


def test_telescopes_not_in_use(magic_subruns):
    source = MagicDirectory(magic_subruns.magic_dir, (1, 2))
    with pytest.raises(InvalidFileError) as err:
        source.events((0, 0), StageTimer())
    assert (err.value.path, err.value.problem) == (
        magic_subruns.magic_dir, "MAGIC tel_id [3] not in the config's mc_tel_ids")


def test_no_events(copy):
    for path in copy.glob("dl1_*.h5"):
        remove_node(path, MAGIC_PARAMETERS_KEY)
    with pytest.raises(NoMagicEventsError) as err:
        load_magic(copy, TEL_IDS)
    assert str(err.value) == f"{copy}: no MAGIC events in the DL1 files"
    with pytest.raises(NoMagicEventsError):
        MagicDirectory(copy, TEL_IDS).events((0, 0), StageTimer())


def test_subarray_from_what_was_read_with_the_tables(magic_subruns, copy):
    want = check_same_subarrays(magic_subruns.magic_files)
    source = MagicDirectory(copy, TEL_IDS)
    source.events((0, 0), StageTimer())
    for path in copy.glob("dl1_*.h5"):  # the files are not read again
        path.write_bytes(b"")
    found = source.subarray()
    assert_same_tables(found.tables, want.tables)
    assert found.path == copy / magic_subruns.magic_files[0].name


def test_a_subarray_that_differs(copy):
    files = sorted(copy.glob("dl1_*.h5"))

    def move(x):
        x[1] += 0.5

    modify_column(files[3], LAYOUT_KEY, "pos_x", move)
    source = MagicDirectory(copy, TEL_IDS)
    source.events((0, 0), StageTimer())  # the tables are fine
    with pytest.raises(InvalidFileError) as err:
        source.subarray()
    assert str(err.value) == f"{files[3]}: subarray differs from that of {files[0]}"
