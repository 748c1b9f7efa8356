"""The time overlap check before the pairing, against a brute-force statement of the window.

A MAGIC time ``t`` can pair when ``lo + o - w <= t <= hi + o + w`` for the
LST-1 time range ``[lo, hi]``, the half width ``w`` and an offset ``o``
that the coincidence tries (only 0 with the pre-offset search, whose
window is the LST range widened by ``w``; every scanned offset otherwise).
The window checked is the offset model's (:meth:`overlap_window`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from lmcoinc.config import CoincidenceConfig, load_config
from lmcoinc.errors import NoCoincidenceError
from lmcoinc.pairing import offset_model
from lmcoinc.quality.checks import check_time_overlap

T0 = 1_700_000_000 * 10**9
TEL_IDS = load_config(None).tel_ids


def _searched(t_lst, config: CoincidenceConfig):
    """The offset model's window of the LST times (None when t_lst is empty)."""
    if len(t_lst) == 0:
        return None
    return offset_model(config).overlap_window(int(np.min(t_lst)), int(np.max(t_lst)))

def _config(pre_offset_search: bool, w: int = 300, start: int = -10_000, stop: int = 0):
    return CoincidenceConfig(
        tel_ids=TEL_IDS, window_half_width_ns=w, pre_offset_search=pre_offset_search,
        offset_start_ns=start, offset_stop_ns=stop,
    )


def brute_force_overlap(t_lst, t_magic, config: CoincidenceConfig) -> bool:
    """Whether some MAGIC time lies in the window of the LST range at some tried offset."""
    lo, hi = min(int(t) for t in t_lst), max(int(t) for t in t_lst)
    w = config.window_half_width_ns
    if config.pre_offset_search:
        offsets = [0]
    else:
        offsets = list(range(config.offset_start_ns, config.offset_stop_ns, 100))
    return any(lo + o - w <= int(t) <= hi + o + w for t in t_magic for o in offsets)


def _overlap(t_lst, t_magic, config) -> bool:
    """check_time_overlap as a bool (False: it raised NoCoincidenceError)."""
    t_lst, t_magic = np.asarray(t_lst, dtype=np.int64), np.asarray(t_magic, dtype=np.int64)
    magic_range = (int(t_magic.min()), int(t_magic.max())) if len(t_magic) else (0, 0)
    try:
        check_time_overlap(t_lst, t_magic, magic_range, _searched(t_lst, config), Path("lst.h5"),
                           Path("magic"))
    except NoCoincidenceError:
        return False
    return True


def test_window_edges_pre_offset_search():
    t_lst = T0 + np.array([5_000, 0, 2_000_000, 7])  # unsorted: its range counts
    lo, hi = T0, T0 + 2_000_000
    config = _config(True, w=300)
    assert _overlap(t_lst, [lo - 300], config)
    assert _overlap(t_lst, [hi + 300], config)
    assert _overlap(t_lst, [lo + 1_000_000], config)  # between LST events: in the range
    assert not _overlap(t_lst, [lo - 301, hi + 301], config)
    assert not _overlap(t_lst, [], config)


def test_window_edges_fixed_scan_range():
    """Without the pre-offset search the window moves with the scanned offsets."""
    t_lst = T0 + np.array([0, 2_000_000])
    lo, hi = T0, T0 + 2_000_000
    config = _config(False, w=300, start=-10_000, stop=0)  # offsets -10 us ... -0.1 us
    assert _overlap(t_lst, [lo - 10_000 - 300], config)
    assert _overlap(t_lst, [hi - 100 + 300], config)
    assert not _overlap(t_lst, [lo - 10_000 - 301], config)
    assert not _overlap(t_lst, [hi - 100 + 301], config)
    assert not _overlap(t_lst, [hi + 300], config)  # inside the pre-offset search's window
    assert _overlap(t_lst, [hi + 300], _config(True, w=300))
    shifted = _config(False, w=300, start=76_000_000, stop=76_001_000)
    assert _overlap(t_lst, [hi + 76_000_900 + 300], shifted)
    assert not _overlap(t_lst, [hi + 300], shifted)
    assert _overlap(t_lst, [], _config(False, start=0, stop=0))  # nothing scanned: no check


@pytest.mark.parametrize("pre_offset_search", [True, False])
def test_overlap_matches_brute_force(pre_offset_search):
    rng = np.random.default_rng(17 + pre_offset_search)
    outcomes = set()
    for _ in range(400):
        w = int(rng.choice([50, 100, 300, 1000]))
        start = int(rng.integers(-30_000, 30_000))
        config = _config(pre_offset_search, w, start, start + int(rng.integers(1, 200)) * 100)
        t_lst = T0 + rng.integers(0, int(rng.choice([1, 10**4, 10**8])), rng.integers(1, 20))
        edges = [t_lst.min() - w, t_lst.max() + w, t_lst.min() + start, t_lst.max() + start]
        near = rng.choice(edges, size=rng.integers(1, 6)) + rng.integers(-40_000, 40_000, 1)
        t_magic = np.sort(near + rng.integers(-3, 4, len(near)))
        want = brute_force_overlap(t_lst, t_magic, config)
        assert _overlap(rng.permutation(t_lst), t_magic, config) == want, (t_lst, t_magic, config)
        outcomes.add(want)
    assert outcomes == {True, False}


def _utc(ns: int) -> str:
    return (datetime(1970, 1, 1) + timedelta(microseconds=int(ns) // 1000)).isoformat(
        timespec="microseconds"
    )


@pytest.mark.parametrize("pre_offset_search", [True, False])
def test_no_overlap_message(pre_offset_search):
    t_lst = T0 + np.array([1_234_567, 3_000_000_000])
    t_magic = T0 + 3600 * 10**9 + np.array([0, 987_654_321, 5_000_000_000])
    config = _config(pre_offset_search)
    lst_file, magic_dir = Path("/data/dl1_LST-1.Run03265.0040.h5"), Path("/data/magic")
    with pytest.raises(NoCoincidenceError) as err:
        check_time_overlap(t_lst, t_magic, (int(t_magic[0]), int(t_magic[-1])),
                           _searched(t_lst, config), lst_file, magic_dir)
    shift = "" if pre_offset_search else " shifted by the scanned offsets -10 to -0.1 us"
    assert str(err.value) == (
        f"no time overlap between the LST-1 file {lst_file.name} "
        f"({_utc(t_lst[0])} to {_utc(t_lst[1])} UTC{shift}) and the MAGIC files in "
        f"{magic_dir} ({_utc(t_magic[0])} to {_utc(t_magic[-1])} UTC)"
    )
    assert _utc(t_lst[0]) == "2023-11-14T22:13:20.001234"


def test_no_lst_events_no_check():
    t_magic = T0 + np.arange(3)
    check_time_overlap(np.array([], dtype=np.int64), t_magic, (T0, T0 + 2), None,
                       Path("lst.h5"), Path("magic"))
