"""Where the MAGIC events of a subrun come from: a directory, or the batch's cache.

A :class:`MagicSource` gives the prepared MAGIC events that can matter to
an LST-1 subrun, the time range of all its events (for messages), its files
(for the images) and its subarray (for the output).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from .config import CoincidenceConfig
from .errors import InvalidFileError, NoMagicEventsError
from .io.magic import prepare_magic, read_magic
from .io.subarray import RawSubarray, check_same_subarrays
from .offsets import magic_time_range
from .timestamps import magic_ns
from .timing import StageTimer

__all__ = ["MagicDirectory", "MagicSource", "load_magic", "useful_magic_range"]


def useful_magic_range(t_lst: np.ndarray, config: CoincidenceConfig) -> tuple[int, int]:
    """The MAGIC times (ns, both included) that can matter to the coincidence of ``t_lst``.

    :func:`lmcoinc.offsets.magic_time_range` for the config's scan; every
    source gives at least the MAGIC events within it.
    """
    scan_range = (
        None if config.pre_offset_search else (config.offset_start_ns, config.offset_stop_ns)
    )
    return magic_time_range(int(t_lst.min()), int(t_lst.max()), config.window_half_width_ns,
                            scan_range)


class MagicSource(Protocol):
    """The MAGIC side of a subrun's coincidence."""

    #: The directory of the MAGIC files (errors about files under it are MAGIC input errors).
    root: Path

    def events(
        self, t_lst: np.ndarray, config: CoincidenceConfig, timer: StageTimer
    ) -> pl.DataFrame:
        """Prepared MAGIC events, in their prepared order, that can matter to ``t_lst``."""

    def time_range(self) -> tuple[int, int]:
        """First and last timestamp (int64 ns) of all the source's events."""

    def files(self) -> list[Path]:
        """The MAGIC files whose events are used."""

    def subarray(self) -> RawSubarray:
        """The MAGIC subarray (the same in all files)."""


def load_magic(
    directory: Path, config: CoincidenceConfig, timer: StageTimer | None = None
) -> tuple[pl.DataFrame, list[Path]]:
    """Read and prepare the MAGIC files of a directory: (events, files used).

    Raises
    ------
    NoMagicEventsError
        If the files hold no event.
    InvalidFileError
        If the directory or a file is invalid, or a tel_id is not in the config.
    """
    timer = timer or StageTimer()
    with timer.stage("read"):
        data = read_magic(directory)
    if data.raw.height == 0:
        raise NoMagicEventsError(f"{directory}: no MAGIC events in the DL1 files")
    with timer.stage("prepare"):
        magic = prepare_magic(data.raw)
    unknown = sorted(set(magic["tel_id"].unique().to_list()) - set(config.tel_names))
    if unknown:
        raise InvalidFileError(directory, f"MAGIC tel_id {unknown} not in the config's mc_tel_ids")
    return magic, data.files


class MagicDirectory:
    """All MAGIC events of a directory, read when first asked for (``lmcoinc run``).

    Parameters
    ----------
    directory : path
        Directory of the MAGIC ``dl1_*.h5`` files.
    """

    def __init__(self, directory: str | Path) -> None:
        self.root = Path(directory)
        self._events: pl.DataFrame | None = None
        self._files: list[Path] = []

    def events(
        self, t_lst: np.ndarray, config: CoincidenceConfig, timer: StageTimer
    ) -> pl.DataFrame:
        """All prepared events of the directory (the reference's input)."""
        if self._events is None:
            self._events, self._files = load_magic(self.root, config, timer)
        return self._events

    def time_range(self) -> tuple[int, int]:
        """First and last timestamp of the events read."""
        if self._events is None:
            raise RuntimeError("MAGIC events not read yet")
        t = magic_ns(self._events["time_sec"].to_numpy(), self._events["time_nanosec"].to_numpy())
        return int(t.min()), int(t.max())

    def files(self) -> list[Path]:
        """The files with a parameter table."""
        return self._files

    def subarray(self) -> RawSubarray:
        """The subarray of the files, checked to be the same in all."""
        return check_same_subarrays(self._files)
