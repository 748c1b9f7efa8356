"""batch/worker_check: what a worker answers when it sees, or does not see, the batch's
directories and the token file the batch wrote (run here, as a worker would run it)."""

from __future__ import annotations

import os
import socket

import pytest

from lmcoinc.batch.worker_check import check_directories, worker_problem


@pytest.fixture
def dirs(tmp_path):
    lst, out = tmp_path / "lst", tmp_path / "out"
    (out / ".lmcoinc").mkdir(parents=True)
    lst.mkdir()
    return lst, out / ".lmcoinc"


def test_the_token_file_lives_within_the_block_only(dirs):
    _, state = dirs
    with check_directories(state, "abc123") as path:
        assert path == state / "worker-check-abc123"
        assert path.read_text() == "abc123"
    assert list(state.iterdir()) == []
    with pytest.raises(RuntimeError), check_directories(state, "abc123"):
        raise RuntimeError("the batch stops")
    assert list(state.iterdir()) == []


def test_a_worker_that_sees_everything(dirs):
    lst, state = dirs
    with check_directories(state, "abc123") as path:
        assert worker_problem([str(lst), str(state.parent)], str(path), "abc123") is None
        assert list(state.iterdir()) == [path]  # what it wrote beside it is gone


def test_a_missing_directory_is_named_with_the_worker(dirs, tmp_path):
    lst, state = dirs
    with check_directories(state, "abc123") as path:
        problem = worker_problem([str(lst), str(tmp_path / "elsewhere")], str(path), "abc123")
    assert problem == (f"{tmp_path / 'elsewhere'}: not found by the Dask worker on "
                       f"{socket.gethostname()} (pid {os.getpid()})")


@pytest.mark.parametrize("content", [None, "another batch's token"])
def test_a_directory_of_the_same_name_elsewhere(dirs, content):
    """The directories exist, but not the token file the batch wrote: another file system."""
    lst, state = dirs
    token_file = state / "worker-check-abc123"
    if content is not None:
        token_file.write_text(content)
    problem = worker_problem([str(lst)], str(token_file), "abc123")
    assert problem.startswith(f"{state}: the Dask worker on {socket.gethostname()}")
    assert problem.endswith("does not see the file the batch wrote there")


def test_a_directory_the_worker_cannot_write_to(dirs):
    lst, state = dirs
    with check_directories(state, "abc123") as path:
        (state / f"{path.name}.{os.getpid()}").mkdir()  # its own file cannot be made there
        problem = worker_problem([str(lst)], str(path), "abc123")
    assert problem.startswith(f"{state}: the Dask worker on {socket.gethostname()}")
    assert problem.endswith("cannot write there (Is a directory)")
