"""Where the MAGIC events of a subrun come from: a directory, or the batch's cache.

A :class:`MagicSource` gives the prepared MAGIC events within a time range
(at least those: a directory gives all its events, as the reference reads
them), the time range of all its events (for messages), its files (for the
images) and its subarray (for the output). Sources know nothing of the
configuration: the caller gives the time range and the telescope ids in use.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Protocol

from ..errors import NoMagicEventsError
from ..utils.timer import StageTimer
from .magic import MagicFiles, check_tel_ids
from .magic_events import MagicEvents, scan_magic
from .subarray import RawSubarray, check_same_subarrays

__all__ = ["MagicDirectory", "MagicSource", "load_magic"]


class MagicSource(Protocol):
    """The MAGIC side of a subrun's coincidence."""

    #: The directory of the MAGIC files (errors about files under it are MAGIC input errors).
    root: Path

    def events(self, time_range: tuple[int, int], timer: StageTimer) -> MagicEvents:
        """Prepared MAGIC events, in their prepared order: at least those whose time (int64
        ns) lies within ``time_range`` (both ends included)."""

    def time_range(self) -> tuple[int, int] | None:
        """First and last timestamp (int64 ns) of all the source's events (None: no event)."""

    def files(self) -> list[Path]:
        """The MAGIC files whose events are used."""

    def subarray(self) -> RawSubarray:
        """The MAGIC subarray (the same in all files)."""


def load_magic(directory: MagicFiles, tel_ids: Collection[int],
               timer: StageTimer | None = None, name: Path | None = None) -> MagicEvents:
    """Read and prepare (first pass) the MAGIC files of a directory (or some files;
    ``name``: the directory that errors name, default ``directory``).

    Raises
    ------
    NoMagicEventsError
        If the files hold no event.
    InvalidFileError
        If the directory or a file is invalid, or a tel_id is not in ``tel_ids``.
    """
    timer = timer or StageTimer()
    if name is None:
        name = Path(directory) if isinstance(directory, str | Path) else Path.cwd()
    with timer.stage("read"):
        magic = scan_magic(directory)
    if magic.height == 0 and magic.total_rows == 0:
        raise NoMagicEventsError(f"{name}: no MAGIC events in the DL1 files")
    check_tel_ids(magic.keys["tel_id"].unique().to_list(), tel_ids, name)
    return magic


class MagicDirectory:
    """All MAGIC events of a directory, read when first asked for (``lmcoinc run``).

    Parameters
    ----------
    directory : path or sequence of paths
        Directory of the MAGIC ``dl1_*.h5`` files, or the files themselves
        (then :attr:`root` is their common directory).
    tel_ids : collection of int
        The telescope ids in use (the config's ``mc_tel_ids``): events of others are an
        error.
    """

    def __init__(self, directory: MagicFiles, tel_ids: Collection[int]) -> None:
        self.source: MagicFiles
        if isinstance(directory, str | Path):
            self.source = self.root = Path(directory)
        else:
            self.source = [Path(p) for p in directory]
            self.root = Path(os.path.commonpath([p.absolute().parent for p in self.source])
                             if self.source else Path.cwd())
        self.tel_ids = tuple(tel_ids)
        self._events: MagicEvents | None = None

    def events(self, time_range: tuple[int, int], timer: StageTimer) -> MagicEvents:
        """All prepared events of the directory (the reference's input), whatever the range."""
        if self._events is None:
            self._events = load_magic(self.source, self.tel_ids, timer, self.root)
        return self._events

    def time_range(self) -> tuple[int, int] | None:
        """First and last timestamp of the events read (None: no event)."""
        if self._events is None:
            raise RuntimeError("MAGIC events not read yet")
        t = self._events.t_ns
        return (int(t.min()), int(t.max())) if len(t) else None

    def files(self) -> list[Path]:
        """The files with a parameter table."""
        return self._events.files if self._events is not None else []

    def subarray(self) -> RawSubarray:
        """The subarray of the files, checked to be the same in all (as read with the tables)."""
        if self._events is None:
            raise RuntimeError("MAGIC events not read yet")
        return check_same_subarrays(self._events.subarrays or self.files())
