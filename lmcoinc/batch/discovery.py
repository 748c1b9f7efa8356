"""The LST-1 subrun files of a night and their run and subrun numbers."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InvalidFileError

__all__ = ["LST_GLOB", "find_lst_files", "subrun_ids"]

#: Glob of the LST-1 subrun files in ``--lst-dir``.
LST_GLOB = "dl1_LST-1*.h5"
_RUN_RE = re.compile(r"Run(\d+)\.(\d+)")


def subrun_ids(path: str | Path) -> tuple[int | None, int | None]:
    """LST obs_id and subrun from a file name like ``dl1_LST-1.Run03265.0040.h5``."""
    found = _RUN_RE.search(Path(path).name)
    if found is None:
        return None, None
    return int(found.group(1)), int(found.group(2))


def find_lst_files(lst_dir: str | Path) -> list[Path]:
    """The LST-1 subrun files (``dl1_LST-1*.h5``) of a directory, in name order.

    Raises
    ------
    InvalidFileError
        If the directory does not exist, holds no such file, or two files
        have the same run and subrun.
    """
    lst_dir = Path(lst_dir)
    if not lst_dir.is_dir():
        raise InvalidFileError(lst_dir, "LST directory not found")
    files = sorted(p for p in lst_dir.glob(LST_GLOB) if p.is_file())
    if not files:
        raise InvalidFileError(lst_dir, f"no LST-1 DL1 subrun files ({LST_GLOB})")
    seen: dict[tuple[int, int], Path] = {}
    for path in files:
        obs_id, subrun = subrun_ids(path)
        if obs_id is None:
            continue
        other = seen.setdefault((obs_id, subrun), path)
        if other != path:
            raise InvalidFileError(
                lst_dir, f"two files of LST run {obs_id} subrun {subrun}: {other.name} and "
                f"{path.name}"
            )
    return files
