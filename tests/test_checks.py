"""checks: the output directory and the time overlap, before any computation.

The overlap check is compared with a brute-force statement of the window:
a MAGIC time ``t`` can pair when ``lo + o - w <= t <= hi + o + w`` for the
LST-1 time range ``[lo, hi]``, the half width ``w`` and an offset ``o``
that the coincidence tries (only 0 with the pre-offset search, whose
window is the LST range widened by ``w``; every scanned offset otherwise).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from lmcoinc.checks import check_output_dir, check_time_overlap
from lmcoinc.config import CoincidenceConfig, load_config
from lmcoinc.errors import NoCoincidenceError, OutputError

T0 = 1_700_000_000 * 10**9
TEL_IDS = load_config(None).tel_ids
NOBODY = 65534

# --- check_output_dir ------------------------------------------------------------------


def test_creates_nested_directories_and_leaves_nothing(tmp_path):
    out = tmp_path / "a" / "b" / "c"
    check_output_dir(out, [out / "x.h5"])
    assert out.is_dir()
    assert list(out.iterdir()) == []
    check_output_dir(out)  # an existing directory is fine
    (out / "x.h5").write_text("")  # as is an existing output file (replaced later)
    check_output_dir(out, [out / "x.h5"])
    assert [p.name for p in out.iterdir()] == ["x.h5"]


@pytest.mark.parametrize("depth", [1, 3])
def test_a_file_in_the_way(tmp_path, depth):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = blocker.joinpath(*["sub"] * depth)
    with pytest.raises(OutputError) as err:
        check_output_dir(out)
    assert str(err.value) == f"{out}: cannot create output directory: {blocker} is not a directory"
    assert blocker.is_file()


def test_output_directory_is_a_file(tmp_path):
    out = tmp_path / "out"
    out.write_text("")
    with pytest.raises(OutputError) as err:
        check_output_dir(out)
    assert str(err.value) == f"{out}: output path exists and is not a directory"


def test_output_name_taken_by_a_directory(tmp_path):
    (tmp_path / "b.h5").mkdir()
    outputs = [tmp_path / "a.h5", tmp_path / "b.h5"]
    with pytest.raises(OutputError) as err:
        check_output_dir(tmp_path, outputs)
    assert str(err.value) == f"{outputs[1]}: output file name is taken by a directory"


def _check_unprivileged(directory: Path, readonly: Path) -> str:
    """``check_output_dir(directory)`` as a user that file permissions apply to (root
    drops to nobody in a child process): "ok", the OutputError message, or
    "unenforced" if that user can write in ``readonly`` all the same."""
    if os.geteuid() != 0:
        return _check_or_message(directory, readonly)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, check, report, exit without any cleanup
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write, _check_or_message(directory, readonly).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read().decode()
    os.waitpid(pid, 0)
    return answer


def _check_or_message(directory: Path, readonly: Path) -> str:
    try:
        (readonly / "probe").mkdir()
    except PermissionError:
        pass
    else:
        (readonly / "probe").rmdir()
        return "unenforced"
    try:
        check_output_dir(directory)
    except OutputError as err:
        return str(err)
    return "ok"


@pytest.fixture
def readonly():
    """A directory that only root may write, in one that everyone may read (removed after)."""
    base = Path(tempfile.mkdtemp(prefix="lmcoinc-readonly-"))
    base.chmod(0o755)
    ro = base / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    yield ro
    ro.chmod(0o755)
    shutil.rmtree(base)


@pytest.mark.parametrize("where", ["itself", "parent"])
def test_unwritable_directory(readonly, where):
    out = readonly if where == "itself" else readonly / "new" / "out"
    answer = _check_unprivileged(out, readonly)
    if answer == "unenforced":
        pytest.skip("file permissions are not enforced here")
    if where == "itself":
        assert answer == f"{out}: output directory is not writable (Permission denied)"
    else:
        assert answer == f"{out}: cannot create output directory (Permission denied)"
    assert stat.S_IMODE(readonly.stat().st_mode) == 0o555
    assert list(readonly.iterdir()) == []


# --- check_time_overlap ----------------------------------------------------------------


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
        check_time_overlap(t_lst, t_magic, magic_range, config, Path("lst.h5"), Path("magic"))
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
        check_time_overlap(t_lst, t_magic, (int(t_magic[0]), int(t_magic[-1])), config,
                           lst_file, magic_dir)
    shift = "" if pre_offset_search else " shifted by the scanned offsets -10 to -0.1 us"
    assert str(err.value) == (
        f"no time overlap between the LST-1 file {lst_file.name} "
        f"({_utc(t_lst[0])} to {_utc(t_lst[1])} UTC{shift}) and the MAGIC files in "
        f"{magic_dir} ({_utc(t_magic[0])} to {_utc(t_magic[-1])} UTC)"
    )
    assert _utc(t_lst[0]) == "2023-11-14T22:13:20.001234"


def test_no_lst_events_no_check():
    t_magic = T0 + np.arange(3)
    check_time_overlap(np.array([], dtype=np.int64), t_magic, (T0, T0 + 2), _config(True),
                       Path("lst.h5"), Path("magic"))
