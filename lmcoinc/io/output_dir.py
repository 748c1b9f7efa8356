"""The output directory of a command: created if needed, checked writable before any work."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputError

__all__ = ["check_output_dir"]


def check_output_dir(directory: str | Path, outputs: Iterable[Path] = ()) -> None:
    """Create the output directory if needed and check that files can be created in it.

    Parameters
    ----------
    directory : path
        The output directory.
    outputs : paths
        The output files to be written there; none may be a directory.

    Raises
    ------
    OutputError
        If the directory cannot be created or written, or an output path is
        taken by a directory.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory}: output path exists and is not a directory")
    if not directory.exists():
        blocker = next((p for p in directory.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise OutputError(
                f"{directory}: cannot create output directory: {blocker} is not a directory"
            )
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(
                f"{directory}: cannot create output directory ({err.strerror or err})"
            ) from None
    # The probe's name is chosen first, so that it is removed whatever happens
    # (an interrupt may arrive between its creation and its removal).
    probe = directory / f".lmcoinc-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as err:
        raise OutputError(
            f"{directory}: output directory is not writable ({err.strerror or err})"
        ) from None
    finally:
        probe.unlink(missing_ok=True)
    for path in outputs:
        if Path(path).is_dir():
            raise OutputError(f"{path}: output file name is taken by a directory")
