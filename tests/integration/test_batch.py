"""Tests of lmcoinc batch: identity with lmcoinc run per subrun, summary, resume, failures, Dask."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from lmcoinc.batch import find_lst_files, run_batch, subrun_ids
from lmcoinc.batch.cache import build_magic_cache
from lmcoinc.cli import app
from lmcoinc.clock.scan import magic_time_range
from lmcoinc.config import load_config
from lmcoinc.errors import EXIT_SUBRUNS_FAILED, InvalidFileError, NoCoincidenceError
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pairing import offset_model
from lmcoinc.pairing.telescope import TelescopeSkipped, coincide_telescope
from lmcoinc.pipeline import process_subrun
from lmcoinc.utils.timer import StageTimer

from ..helpers.badinputs import MAGIC_FILTERS, drop_column, modify_column
from ..helpers.compare import assert_same_outputs

#: The telescopes of the default config (MAGIC files with others are an error).
TEL_NAMES = load_config(None).tel_names

NAMES = ["dl1_MAGIC_LST-1.Run03265.0000.h5", "dl1_MAGIC_LST-1.Run03265.0001.h5",
         "dl1_MAGIC_LST-1.Run03265.0002.h5"]


@pytest.fixture(scope="module")
def reference(run_outputs):
    """Outputs of `lmcoinc run` on each subrun with the whole MAGIC directory."""
    return run_outputs()


@pytest.fixture(scope="module")
def parallel(night, tmp_path_factory):
    """`lmcoinc batch -j 2` on the night."""
    out = tmp_path_factory.mktemp("batch-j2")
    return out, run_batch(night.lst_dir, night.magic_dir, out, jobs=2)


def _assert_same_outputs(out: Path, reference: Path, names=NAMES) -> None:
    assert_same_outputs(out, reference, names)


def test_file_discovery(night, tmp_path):
    assert find_lst_files(night.lst_dir) == night.lst_files
    assert subrun_ids("dl1_LST-1.Run03265.0040.h5") == (3265, 40)
    assert subrun_ids("whatever.h5") == (None, None)
    with pytest.raises(InvalidFileError, match="no LST-1 DL1 subrun files"):
        find_lst_files(tmp_path)


def test_parallel_identical_to_run(parallel, reference):
    out, result = parallel
    assert result.exit_code == 0
    assert sorted(p.name for p in out.glob("*.h5")) == NAMES
    _assert_same_outputs(out, reference)


def test_in_process_identical_to_run(night, reference, tmp_path):
    result = run_batch(night.lst_dir, night.magic_dir, tmp_path, jobs=1)
    assert result.exit_code == 0
    _assert_same_outputs(tmp_path, reference)


def test_summary(parallel, reference):
    out, result = parallel
    summary = result.summary
    assert summary.equals(pl.read_parquet(out / "summary.parquet"))
    assert summary["lst_file"].to_list() == [p.name.replace("MAGIC_", "") for p in
                                             map(Path, NAMES)]
    assert summary["obs_id"].to_list() == [3265] * 3
    assert summary["subrun"].to_list() == [0, 1, 2]
    assert summary["status"].to_list() == ["ok"] * 3
    assert summary["exit_code"].to_list() == [0] * 3
    assert summary["error"].null_count() == 3
    for row, name in zip(summary.iter_rows(named=True), NAMES, strict=True):
        feature = pl.read_parquet(reference / name.replace(".h5", ".feature.parquet"))
        for tel_id, coincidence_id in ((2, 12), (3, 13)):
            expected = feature.filter(pl.col("coincidence_id") == coincidence_id).row(0, named=True)
            assert row[f"offset_us_tel{tel_id}"] == pytest.approx(expected["average_offset"])
            assert row[f"offset_us_tel{tel_id}"] == pytest.approx(-3.2, abs=0.05)
            assert row[f"n_coincidence_tel{tel_id}"] == expected["n_coincidence"]
            assert row[f"n_events_magic_tel{tel_id}"] == expected["n_events_magic"]
            assert row[f"fraction_tel{tel_id}"] == pytest.approx(
                expected["n_coincidence"] / expected["n_events_magic"])
            assert row[f"accidental_tel{tel_id}"] == expected["accidental"]
        assert row["effective_time_s"] == feature["effective_time_s"][0]
        assert 0.9 * 2.0 < row["effective_time_s"] < 2.0  # 2 s subruns, a few % dead
        assert row["n_lst_events"] > 1000
        assert row["seconds"] > 0
        assert 0 < row["max_rss_mb"] < 1024


def test_resume_and_overwrite(night, tmp_path):
    first = run_batch(night.lst_dir, night.magic_dir, tmp_path)
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.parquet")
              if p.name not in ("summary.parquet", "night.parquet")}
    second = run_batch(night.lst_dir, night.magic_dir, tmp_path)
    assert second.exit_code == 0
    assert second.summary["status"].to_list() == ["skipped"] * 3
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes  # nothing rewritten
    # the skipped rows keep the results of the run that made the outputs
    columns = [c for c in first.summary.columns if c.startswith(("offset", "n_", "fraction"))]
    assert second.summary.select(columns).equals(first.summary.select(columns))
    # a removed output makes its subrun incomplete
    (tmp_path / NAMES[1]).unlink()
    third = run_batch(night.lst_dir, night.magic_dir, tmp_path)
    assert third.summary["status"].to_list() == ["skipped", "ok", "skipped"]
    forced = run_batch(night.lst_dir, night.magic_dir, tmp_path, overwrite=True)
    assert forced.summary["status"].to_list() == ["ok"] * 3
    # another config is another computation
    config = tmp_path / "fixed.yaml"
    config.write_text(_fixed_range_config())
    changed = run_batch(night.lst_dir, night.magic_dir, tmp_path, load_config(config))
    assert changed.summary["status"].to_list() == ["ok"] * 3


def _fixed_range_config() -> str:
    from lmcoinc.config import default_config_text

    text = default_config_text().replace("pre_offset_search: true", "pre_offset_search: false")
    assert "pre_offset_search: false" in text
    return text


def test_fixed_range_identical_to_run(night, run_outputs, tmp_path):
    config = tmp_path / "fixed.yaml"
    config.write_text(_fixed_range_config())
    reference = run_outputs("fixed", config)
    result = run_batch(night.lst_dir, night.magic_dir, tmp_path / "out", load_config(config))
    assert result.summary["status"].to_list() == ["ok"] * 3
    _assert_same_outputs(tmp_path / "out", reference)


def test_partial_magic_coverage_identical_to_run(night, tmp_path):
    """MAGIC files of the last subrun only: no coincidence for the first LST subrun."""
    magic = tmp_path / "magic"
    magic.mkdir()
    for path in night.magic_files:
        if path.name.endswith(".003.h5"):
            shutil.copy(path, magic)
    reference = tmp_path / "ref"
    expected, errors = {}, {}
    for lst_file in night.lst_files:
        try:
            process_subrun(lst_file, MagicDirectory(magic, TEL_NAMES), reference, load_config(None))
            expected[lst_file.name] = "ok"
        except NoCoincidenceError as err:
            expected[lst_file.name], errors[lst_file.name] = "no_coincidence", str(err)
    result = run_batch(night.lst_dir, magic, tmp_path / "out")
    assert result.exit_code == 0
    summary = result.summary
    assert dict(zip(summary["lst_file"], summary["status"], strict=True)) == expected
    assert expected[night.lst_files[0].name] == "no_coincidence"
    assert expected[night.lst_files[2].name] == "ok"
    first = summary.row(0, named=True)
    assert first["exit_code"] == 3 and "no time overlap" in first["error"]
    assert first["error"] == errors[first["lst_file"]]  # the message of `lmcoinc run`
    made = sorted(p.name for p in reference.glob("*.h5"))
    assert sorted(p.name for p in (tmp_path / "out").glob("*.h5")) == made
    _assert_same_outputs(tmp_path / "out", reference, made)
    # no_coincidence is a complete outcome: skipped when resumed
    again = run_batch(night.lst_dir, magic, tmp_path / "out")
    assert again.summary["status"].to_list() == ["skipped"] * 3


def _batch_as_run(night, magic: Path, tmp_path: Path) -> Path:
    """`run` on every subrun with ``magic``, and `batch` (in-process) with it: the same outputs.
    Returns the directory of run's outputs."""
    reference = tmp_path / "ref"
    for lst_file in night.lst_files:
        process_subrun(lst_file, MagicDirectory(magic, TEL_NAMES), reference, load_config(None))
    result = run_batch(night.lst_dir, magic, tmp_path / "out", jobs=1)
    assert result.summary["status"].to_list() == ["ok"] * 3
    _assert_same_outputs(tmp_path / "out", reference)
    return reference


def test_repeated_magic_ids_dropped_as_run_does(night, run_outputs, tmp_path):
    """A MAGIC event written in two files: both rows are dropped, by run and by batch (whose
    cache finds repeated ids one MAGIC run at a time)."""
    import tables

    magic = tmp_path / "magic"
    shutil.copytree(night.magic_dir, magic)
    first, second = sorted(magic.glob("dl1_M1.*.h5"))[:2]
    with tables.open_file(str(first)) as src:
        table = src.get_node("/events/parameters")
        row = table[table.nrows // 2 : table.nrows // 2 + 1]  # within the first LST subrun
    with tables.open_file(str(second), mode="a") as dst:
        dst.get_node("/events/parameters").append(row)  # the same (obs, event, tel) again
    reference = _batch_as_run(night, magic, tmp_path)
    def rows_of_the_event(directory):
        events = pl.concat([pl.read_parquet(p) for p in directory.glob("*.events.parquet")])
        return events.filter((pl.col("event_id_magic") == int(row["event_id"][0]))
                             & (pl.col("tel_id") == 2)).height

    assert rows_of_the_event(run_outputs()) == 1  # in the output without the copy
    assert rows_of_the_event(reference) == 0


def test_magic_files_of_different_types_as_run_does(night, tmp_path):
    """MAGIC files whose intensity is float32 among float64 ones: batch's cache reads every
    file in the types of all files, as run does, whatever subset a subrun needs."""
    import tables

    magic = tmp_path / "magic"
    shutil.copytree(night.magic_dir, magic)
    for path in (sorted(magic.glob(f"dl1_M{n}.*.h5"))[0] for n in (1, 2)):  # the first ones
        with tables.open_file(str(path), mode="a") as handle:
            table = handle.get_node("/events/parameters")
            rows, filters = table.read(), table.filters
            dtype = [(n, np.float32 if n == "intensity" else rows.dtype[n])
                     for n in rows.dtype.names]
            handle.remove_node(table)
            handle.create_table("/events", "parameters", obj=rows.astype(dtype), filters=filters)
    _batch_as_run(night, magic, tmp_path)
    # a time slice of the float32 files alone is read in the types of all files
    config = load_config(None)
    cache = build_magic_cache(magic, tmp_path / "cache", config.tel_names)
    first = cache.range_ns[0]
    events = cache.events(offset_model(config).magic_range(first, first), StageTimer())
    assert events.height and events.frame.schema["intensity"] == pl.Float64


def test_magic_telescope_not_in_the_config(night, tmp_path):
    """MAGIC events of a telescope that the config does not name: an error, as in run."""
    config = tmp_path / "config.yaml"
    text = (Path(__file__).parents[2] / "configs" / "config.yaml").read_text()
    config.write_text(text.replace("MAGIC-II: 3", "MAGIC-II: 4"))
    argv = ["-l", str(night.lst_dir), "-m", str(night.magic_dir), "-c", str(config)]
    proc = CliRunner().invoke(app, ["batch", *argv, "-o", str(tmp_path / "o"), "--no-progress"])
    message = "MAGIC tel_id [3] not in the config's mc_tel_ids"
    assert proc.exit_code == 14 and message in proc.output, proc.output
    proc = CliRunner().invoke(app, ["run", "-l", str(night.lst_files[0]), *argv[2:],
                                    "-o", str(tmp_path / "r")])
    assert proc.exit_code == 14 and message in proc.output, proc.output


def test_magic_cache_workers_tell_what_one_process_tells(night, tmp_path):
    """The MAGIC cache made by worker processes (-j 2) warns and fails as one process does, in
    file order: invalid times in one file, a missing column in a later one."""
    import subprocess
    import sys

    magic = tmp_path / "magic"
    shutil.copytree(night.magic_dir, magic)
    files = sorted(magic.glob("dl1_M*.h5"))
    modify_column(files[1], "/events/parameters", "time_sec", lambda t: t.__setitem__(slice(3), 0))
    drop_column(files[4], "/events/parameters", "intensity", MAGIC_FILTERS)

    def stderr(jobs: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-m", "lmcoinc", "batch", "-l", str(night.lst_dir),
                               "-m", str(magic), "-o", str(tmp_path / f"out{jobs}"), "-j", jobs,
                               "--no-progress"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 14, proc.stderr
        return [line for line in proc.stderr.splitlines() if str(magic) in line]

    told = stderr("1")
    assert len(told) == 2 and str(files[1]) in told[0] and "3 of" in told[0]
    assert told[1] == (f"lmcoinc: error: {files[4]}: /events/parameters lacks column(s) "
                       "intensity")
    assert stderr("2") == told


def _processes_with(environment_entry: bytes) -> list[int]:
    """The processes whose environment holds this entry (``NAME=value``)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if environment_entry in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux's /proc")
def test_parallel_batch_leaves_no_process_and_no_temporary_file(night, tmp_path):
    """``batch -j 2`` from the console: its workers and their fork server end with it, and the
    temporary directory of ``multiprocessing`` is removed (the console skips the teardown)."""
    import subprocess
    import sys
    import time

    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.run([sys.executable, "-m", "lmcoinc", "batch", "-l", str(night.lst_dir),
                           "-m", str(night.magic_dir), "-o", str(tmp_path / "out"), "-j", "2",
                           "--no-progress", "-q"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(temp)})
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "out").glob("*.h5"))) == 3
    assert list(temp.iterdir()) == []
    deadline = time.monotonic() + 10
    while (left := _processes_with(f"TMPDIR={temp}".encode())) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []


def test_corrupt_subrun_fails_alone(night, tmp_path):
    lst = tmp_path / "lst"
    shutil.copytree(night.lst_dir, lst)
    bad = lst / night.lst_files[1].name
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # truncated
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["batch", "-l", str(lst), "-m", str(night.magic_dir), "-o", str(out), "-j", "2",
            "--no-progress"]
    proc = runner.invoke(app, args)
    assert proc.exit_code == EXIT_SUBRUNS_FAILED, proc.output
    assert "1 failed" in proc.output and "2 ok" in proc.output
    summary = pl.read_parquet(out / "summary.parquet")
    assert summary["status"].to_list() == ["ok", "failed", "ok"]
    failed = summary.row(1, named=True)
    assert failed["exit_code"] == 13
    assert bad.name in failed["error"] and "\n" not in failed["error"]
    assert not (out / NAMES[1]).exists()
    assert not any((out / "parquet").rglob("lst_subrun=1/*"))
    # repaired: the failed subrun is retried, the others are skipped
    shutil.copy(night.lst_files[1], bad)
    proc = runner.invoke(app, args)
    assert proc.exit_code == 0, proc.output
    summary = pl.read_parquet(out / "summary.parquet")
    assert summary["status"].to_list() == ["skipped", "ok", "skipped"]


def test_fatal_errors(night, tmp_path):
    runner = CliRunner()
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = runner.invoke(app, ["batch", "-l", str(empty), "-m", str(night.magic_dir),
                               "-o", str(tmp_path / "o")])
    assert proc.exit_code == 13 and "no LST-1 DL1 subrun files" in proc.output
    proc = runner.invoke(app, ["batch", "-l", str(night.lst_dir), "-m", str(empty),
                               "-o", str(tmp_path / "o")])
    assert proc.exit_code == 14 and "no MAGIC DL1 files" in proc.output
    lst = tmp_path / "lst"
    shutil.copytree(night.lst_dir, lst)
    shutil.copy(night.lst_files[1], lst / "dl1_LST-1.Run3265.001.h5")  # the same, unpadded
    proc = runner.invoke(app, ["batch", "-l", str(lst), "-m", str(night.magic_dir),
                               "-o", str(tmp_path / "o")])
    assert proc.exit_code == 13 and "two files of LST run 3265 subrun 1" in proc.output


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("pre_offset_search", [True, False])
def test_magic_subset_gives_identical_telescope_results(seed, pre_offset_search):
    """Randomized: the coincidence on the time subset equals that on all MAGIC events."""
    rng = np.random.default_rng(seed)
    config = load_config(None)
    from dataclasses import replace

    config = replace(config, pre_offset_search=pre_offset_search,
                     window_half_width_ns=int(rng.choice([300, 1000, 5000])),
                     offset_start_ns=int(rng.integers(-200_000, 0)) // 100 * 100,
                     offset_stop_ns=int(rng.integers(0, 200_000)) // 100 * 100)
    span = int(rng.choice([20_000, 1_000_000, 50_000_000]))
    n_lst = int(rng.integers(1, 400))
    t_lst = np.sort(rng.integers(0, span, n_lst)) // 100 * 100
    moved = rng.random(n_lst) < 0.1  # event-id order is not quite time order
    t_lst[moved] += rng.integers(-span // 10, span // 10, int(moved.sum())) // 100 * 100
    offset = int(rng.choice([-3_200, -76_039_300, 118_800, 0]))
    t_magic = np.concatenate([t_lst[rng.random(n_lst) < 0.3] + offset,
                              rng.integers(-3 * span, 4 * span, int(rng.integers(0, 600)))])
    t_magic = np.sort(t_magic)
    i_lst, i_magic = rng.pareto(1.5, n_lst), rng.pareto(1.5, len(t_magic))
    scan_range = None if pre_offset_search else (config.offset_start_ns, config.offset_stop_ns)
    lo, hi = magic_time_range(int(t_lst.min()), int(t_lst.max()), config.window_half_width_ns,
                              scan_range)
    keep = np.flatnonzero((t_magic >= lo) & (t_magic <= hi))
    kwargs = {
        "window_ns": config.window_half_width_ns,
        "pre_offset_search_events": 100 if pre_offset_search else None,
        "offset_range_ns": (config.offset_start_ns, config.offset_stop_ns),
    }
    try:
        whole = coincide_telescope(t_lst, i_lst, t_magic, i_magic, **kwargs)
    except TelescopeSkipped:
        with pytest.raises(TelescopeSkipped):
            coincide_telescope(t_lst, i_lst, t_magic[keep], i_magic[keep], **kwargs)
        return
    part = coincide_telescope(t_lst, i_lst, t_magic[keep], i_magic[keep], **kwargs)
    assert whole.pre_offset_ns == part.pre_offset_ns
    assert whole.average_offset_ns == part.average_offset_ns
    np.testing.assert_array_equal(whole.offsets_ns, part.offsets_ns)
    np.testing.assert_array_equal(whole.counts, part.counts)
    np.testing.assert_array_equal(whole.candidates, keep[part.candidates])
    np.testing.assert_array_equal(whole.idx_lst, part.idx_lst)
    np.testing.assert_array_equal(whole.idx_magic, part.idx_magic)


def test_dask_local_cluster_identical(night, reference, tmp_path):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        result = run_batch(night.lst_dir, night.magic_dir, tmp_path,
                           dask_scheduler=cluster.scheduler_address)
    assert result.exit_code == 0
    assert result.summary["status"].to_list() == ["ok"] * 3
    _assert_same_outputs(tmp_path, reference)
