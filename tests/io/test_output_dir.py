"""The output directory: created if needed and checked writable before any computation."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from lmcoinc.errors import OutputError
from lmcoinc.io.output_dir import check_output_dir

NOBODY = 65534



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
