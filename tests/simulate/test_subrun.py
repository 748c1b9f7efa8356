"""One simulated subrun (lmcoinc.simulate.subrun): its files, their naming, determinism, and
the true offset visible in them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tables

from lmcoinc.simulate import SimulatedFiles, SimulationConfig, simulate

from ..helpers.simread import LST_KEY, MAGIC_KEY, SMALL, lst_ns, magic_rows, read


def _magic(files: SimulatedFiles, tel: str) -> np.ndarray:
    return magic_rows(files.magic_files, tel)


def test_file_naming(small_run: SimulatedFiles) -> None:
    assert small_run.lst_file.name == "dl1_LST-1.Run03265.0040.h5"
    assert small_run.magic_dir == small_run.lst_file.parent / "magic"
    # MAGIC window: 1 s before to 1 s after the 2 s LST subrun = 4 s -> 3 subruns of 1.5 s
    names = [p.name for p in small_run.magic_files]
    expected = [f"dl1_M{t}.Run05093711.{k:03}.h5" for t in (1, 2) for k in (1, 2, 3)]
    assert names == expected
    assert all(p.parent == small_run.magic_dir and p.exists() for p in small_run.magic_files)
    assert small_run.true_offset_ns == -3200


def test_deterministic(tmp_path: Path, small_run: SimulatedFiles) -> None:
    again = simulate(tmp_path / "again", SMALL)
    assert again.n_common == small_run.n_common
    pairs = [(small_run.lst_file, again.lst_file, LST_KEY)]
    pairs += [
        (a, b, MAGIC_KEY) for a, b in zip(small_run.magic_files, again.magic_files, strict=True)
    ]
    for a, b, key in pairs:
        ta, tb = read(a, key), read(b, key)
        assert ta.dtype == tb.dtype
        assert ta.tobytes() == tb.tobytes(), (a.name, key)
    other = simulate(tmp_path / "other", SimulationConfig(duration_s=2.0, seed=8))
    assert read(other.lst_file, LST_KEY).tobytes() != read(small_run.lst_file, LST_KEY).tobytes()


def test_real_compression_filters(small_run: SimulatedFiles) -> None:
    with tables.open_file(small_run.lst_file) as f:
        filters = f.get_node(LST_KEY).filters
        assert filters.complib == "blosc:zstd"
        assert filters.fletcher32
        assert filters.complevel == 1  # lstchain.io.io.HDF5_ZSTD_FILTERS
    for path in small_run.magic_files:
        with tables.open_file(path) as f:
            filters = f.get_node(MAGIC_KEY).filters
            assert filters.complib == "blosc:zstd"
            assert filters.fletcher32
            assert filters.complevel == 5  # ctapipe HDF5TableWriter default


def test_true_offset_visible(small_run: SimulatedFiles) -> None:
    df = pd.read_hdf(small_run.lst_file, key="dl1/event/telescope/parameters/LST_LSTCam")
    df = df[df["event_type"] == 32]
    t_lst = np.sort(lst_ns(df["dragon_time"].to_numpy()))
    offset = small_run.true_offset_ns
    matched_ids = set()
    for tel in ("M1", "M2"):
        m = _magic(small_run, tel)
        t_m = m["time_sec"] * 10**9 + m["time_nanosec"]
        inside = (t_m - offset >= t_lst[0] - 300) & (t_m - offset <= t_lst[-1] + 300)
        t_m, ids = t_m[inside], m["event_id"][inside]

        def residual(off: int, t_m: np.ndarray = t_m) -> np.ndarray:
            j = np.clip(np.searchsorted(t_lst, t_m - off), 1, t_lst.size - 1)
            before, after = t_m - off - t_lst[j - 1], t_m - off - t_lst[j]
            return np.where(np.abs(before) < np.abs(after), before, after)

        res = residual(offset)
        good = np.abs(res) <= 300
        assert 0.45 < good.mean() < 0.75  # common showers
        assert abs(np.median(res[good])) < 40
        assert np.std(res[good]) < 130  # clock grids, jitter and float64 LST times
        assert (np.abs(residual(offset + 5000)) <= 300).mean() < 0.03  # accidentals only
        matched_ids |= set(ids[good])
    # every common shower is found (plus a few accidental pairs)
    assert small_run.n_common <= len(matched_ids) <= 1.05 * small_run.n_common + 5


def test_magic_starting_after_lst(tmp_path: Path) -> None:
    config = SimulationConfig(duration_s=1.0, magic_start_delay_s=0.4, magic_extra_s=0.5)
    files = simulate(tmp_path, config)
    assert [p.name for p in files.magic_files] == [
        "dl1_M1.Run05093711.001.h5",
        "dl1_M2.Run05093711.001.h5",
    ]
    m1 = _magic(files, "M1")
    t_m = m1["time_sec"] * 10**9 + m1["time_nanosec"] - config.true_offset_ns
    start = 1_700_000_000 * 10**9
    assert t_m.min() >= start + 400_000_000 - 1000
    assert 0 < files.n_common < len(m1)
