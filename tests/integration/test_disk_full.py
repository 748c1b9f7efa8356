"""Writes that fail: file-size limit (RLIMIT_FSIZE), full disk (a small tmpfs, where it
can be mounted). Every command ends with exit code 15 and one line naming the output
and the cause; no partial file is left and an earlier complete output is untouched."""

from __future__ import annotations

import contextlib
import resource
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import polars as pl
import pytest

from ..helpers.badinputs import copy_good, lst_file
from ..helpers.compare import snapshot

H5 = "dl1_MAGIC_LST-1.Run03265.0000.h5"


def _lmcoinc(*args, fsize: int | None = None) -> subprocess.CompletedProcess:
    """``python -m lmcoinc ARGS``, with files limited to ``fsize`` bytes (writes beyond
    fail with EFBIG: Python ignores SIGXFSZ)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-m", "lmcoinc", *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          preexec_fn=limit if fsize is not None else None)


def _one_error(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("lmcoinc: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def output_size(good, tmp_path_factory) -> int:
    """Size of the HDF5 output of ``lmcoinc run`` on the good input."""
    run = copy_good(good, tmp_path_factory.mktemp("size"))
    proc = _lmcoinc(*run.argv())
    assert proc.returncode == 0, proc.stderr
    return next(run.out.glob("*.h5")).stat().st_size


@pytest.mark.parametrize("where", ["small", "just_below"])
@pytest.mark.parametrize("earlier", [False, True], ids=["no_earlier_output", "earlier_output"])
def test_run_over_the_file_size_limit(good, tmp_path, output_size, where, earlier):
    """Also a limit just below the HDF5 file's size: PyTables' last writes, whose errors it
    ignores (it left a truncated file and exit code 0)."""
    run = copy_good(good, tmp_path)
    if earlier:
        assert _lmcoinc(*run.argv()).returncode == 0
    before = snapshot(run.out) if earlier else {}
    limit = 20_000 if where == "small" else output_size - 100
    proc = _lmcoinc(*run.argv(), fsize=limit)
    assert proc.returncode == 15, proc.stderr
    h5 = run.out / lst_file(run.out.parent).name.replace("LST", "MAGIC_LST")
    assert _one_error(proc) == (
        f"lmcoinc: error: {h5}: cannot write (file too large (file size limit))")
    assert (snapshot(run.out) if run.out.exists() else {}) == before


def test_convert_over_the_file_size_limit(good, tmp_path):
    target = tmp_path / "lst.parquet"
    source = lst_file(good)
    assert _lmcoinc("convert", source, target).returncode == 0
    before = target.read_bytes()
    proc = _lmcoinc("convert", source, target, fsize=20_000)
    assert proc.returncode == 15, proc.stderr
    assert _one_error(proc) == (
        f"lmcoinc: error: {target}: cannot write (file too large (file size limit))")
    assert [p.name for p in tmp_path.iterdir()] == ["lst.parquet"]
    assert target.read_bytes() == before


def test_batch_cannot_write_its_cache(night, tmp_path):
    """The batch's own files: the MAGIC cache (the largest) over the limit."""
    proc = _lmcoinc("batch", "-l", night.lst_dir, "-m", night.magic_dir, "-o", tmp_path,
                    "--no-progress", fsize=100_000)
    assert proc.returncode == 15, proc.stderr
    line = _one_error(proc)
    assert line.startswith(f"lmcoinc: error: {tmp_path}/.lmcoinc/cache/magic-")
    assert line.endswith(".arrow: cannot write (file too large (file size limit))")
    assert _files(tmp_path) == [".lmcoinc/lock"]


@contextlib.contextmanager
def _small_file_system(where: Path, size: str):
    """A tmpfs of ``size`` mounted at ``where`` (skips where mounting is not allowed)."""
    where.mkdir()
    mount = shutil.which("mount")
    proc = subprocess.run([mount or "mount", "-t", "tmpfs", "-o", f"size={size}",
                           f"lmcoinc-{uuid.uuid4().hex[:6]}", str(where)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_run_on_a_full_disk(good, tmp_path):
    run = copy_good(good, tmp_path)
    with _small_file_system(tmp_path / "fs", "64k") as fs:
        run.out = fs / "out"
        proc = _lmcoinc(*run.argv())
        assert proc.returncode == 15, proc.stderr
        assert _one_error(proc).endswith(": cannot write (no space left on device)")
        assert _files(fs) == []


def test_batch_on_a_full_disk(night, tmp_path):
    """Room for the MAGIC cache, not for the outputs of a subrun: every subrun fails
    with exit code 15 in the summary, and the batch with 4 (some failed)."""
    with _small_file_system(tmp_path / "fs", "1200k") as fs:
        proc = _lmcoinc("batch", "-l", night.lst_dir, "-m", night.magic_dir, "-o", fs,
                        "--no-progress", "-j", "2")
        assert proc.returncode == 4, proc.stderr
        summary = pl.read_parquet(fs / "summary.parquet")
        assert summary["status"].to_list() == ["failed"] * 3
        assert summary["exit_code"].to_list() == [15] * 3
        for error, name in zip(summary["error"], summary["lst_file"], strict=True):
            assert error.endswith(": cannot write (no space left on device)")
            assert name.replace("LST", "MAGIC_LST")[:-3] in error
        assert _files(fs) == [".lmcoinc/lock", "night.parquet", "summary.parquet"]
