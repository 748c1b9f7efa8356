"""Does a Dask worker see the batch's directories? One small task tells, before any subrun.

The batch writes a file with a random token in its output directory's state
directory; a worker must find the input and output directories, read that
file with that token (the same file system, not a directory of the same
name elsewhere) and write beside it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["check_directories", "worker_problem"]


@contextmanager
def check_directories(state_dir: Path, token: str) -> Iterator[Path]:
    """Within the block, the file ``state_dir/worker-check-TOKEN`` holds ``token``."""
    path = state_dir / f"worker-check-{token}"
    path.write_text(token)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def worker_problem(directories: list[str], token_file: str, token: str) -> str | None:
    """Run on a worker: None when it sees every directory and the token file and can write
    beside it; else what it does not see, naming the worker's host."""
    where = f"Dask worker on {socket.gethostname()} (pid {os.getpid()})"
    for directory in directories:
        if not os.path.isdir(directory):
            return f"{directory}: not found by the {where}"
    try:
        found = Path(token_file).read_text()
    except OSError:
        found = None
    if found != token:
        return (f"{Path(token_file).parent}: the {where} does not see the file the batch "
                "wrote there")
    written = Path(f"{token_file}.{os.getpid()}")
    try:
        written.write_text(token)
        written.unlink()
    except OSError as err:
        return f"{written.parent}: the {where} cannot write there ({err.strerror})"
    return None
