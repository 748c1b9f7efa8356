"""Where the MAGIC events of a subrun come from: a directory, or the batch's cache.

A :class:`MagicSource` gives the prepared MAGIC events that can matter to
an LST-1 subrun, the time range of all its events (for messages), its files
(for the images) and its subarray (for the output).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from .config import CoincidenceConfig
from .errors import InvalidFileError, NoMagicEventsError
from .io.magic_events import MagicEvents, scan_magic
from .io.subarray import RawSubarray, check_same_subarrays
from .offsets import magic_time_range
from .timing import StageTimer

__all__ = ["MagicDirectory", "MagicSource", "load_magic", "useful_magic_range"]


def useful_magic_range(t_lst: np.ndarray, config: CoincidenceConfig) -> tuple[int, int]:
    """The MAGIC times (ns, both included) that can matter to the coincidence of ``t_lst``.

    :func:`lmcoinc.offsets.magic_time_range` for the config's offsets
    (``config.offset_search_range_ns``); every source gives at least the
    MAGIC events within it.
    """
    return magic_time_range(int(t_lst.min()), int(t_lst.max()), config.window_half_width_ns,
                            config.offset_search_range_ns)


class MagicSource(Protocol):
    """The MAGIC side of a subrun's coincidence."""

    #: The directory of the MAGIC files (errors about files under it are MAGIC input errors).
    root: Path

    def events(
        self, t_lst: np.ndarray, config: CoincidenceConfig, timer: StageTimer
    ) -> MagicEvents:
        """Prepared MAGIC events, in their prepared order, that can matter to ``t_lst``."""

    def time_range(self) -> tuple[int, int] | None:
        """First and last timestamp (int64 ns) of all the source's events (None: no event)."""

    def files(self) -> list[Path]:
        """The MAGIC files whose events are used."""

    def subarray(self) -> RawSubarray:
        """The MAGIC subarray (the same in all files)."""


def load_magic(
    directory: Path, config: CoincidenceConfig, timer: StageTimer | None = None
) -> MagicEvents:
    """Read and prepare (first pass) the MAGIC files of a directory.

    Raises
    ------
    NoMagicEventsError
        If the files hold no event.
    InvalidFileError
        If the directory or a file is invalid, or a tel_id is not in the config.
    """
    timer = timer or StageTimer()
    with timer.stage("read"):
        magic = scan_magic(directory)
    if magic.height == 0 and magic.total_rows == 0:
        raise NoMagicEventsError(f"{directory}: no MAGIC events in the DL1 files")
    unknown = sorted(set(magic.keys["tel_id"].unique().to_list()) - set(config.tel_names))
    if unknown:
        raise InvalidFileError(directory, f"MAGIC tel_id {unknown} not in the config's mc_tel_ids")
    return magic


class MagicDirectory:
    """All MAGIC events of a directory, read when first asked for (``lmcoinc run``).

    Parameters
    ----------
    directory : path
        Directory of the MAGIC ``dl1_*.h5`` files.
    """

    def __init__(self, directory: str | Path) -> None:
        self.root = Path(directory)
        self._events: MagicEvents | None = None

    def events(
        self, t_lst: np.ndarray, config: CoincidenceConfig, timer: StageTimer
    ) -> MagicEvents:
        """All prepared events of the directory (the reference's input)."""
        if self._events is None:
            self._events = load_magic(self.root, config, timer)
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
        """The subarray of the files, checked to be the same in all."""
        return check_same_subarrays(self.files())
