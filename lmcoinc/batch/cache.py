"""The batch's cache of prepared MAGIC events, and the MAGIC source that reads it.

The parent of a batch reads the MAGIC directory once: first the columns
that the cuts need from every file (the duplicate removal needs every MAGIC
row), then, one file at a time, all columns of that file's prepared events,
written to a Parquet run sorted by time in small row groups. Its memory
follows the largest file, not the night. Each subrun reads the rows within
:func:`lmcoinc.offsets.magic_time_range` of its LST events from the runs
that overlap it (row-group statistics skip the rest) and restores their
prepared order: a filter on a superset of every MAGIC time the coincidence
can use keeps the results identical to those on the whole directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..columns import MAGIC_INDEX
from ..config import CoincidenceConfig
from ..io.atomic import atomic_file
from ..io.magic_events import MagicEvents
from ..io.subarray import RawSubarray, check_same_subarrays, read_raw_subarray
from ..offsets import magic_time_range
from ..sources import load_magic
from ..timing import StageTimer

__all__ = ["CacheRun", "MagicCache", "build_magic_cache"]

_T = "_lmcoinc_t_ns"
_ROW_GROUP = 16_384


@dataclass(frozen=True)
class CacheRun:
    """One Parquet file of the cache: the prepared events of one MAGIC file, by time."""

    path: Path
    t_min: int
    t_max: int


@dataclass(frozen=True)
class MagicCache:
    """A MAGIC source reading the time slice of each subrun from the batch cache.

    Attributes
    ----------
    runs : tuple of CacheRun
        The cache's files.
    root : pathlib.Path
        The MAGIC directory it was made from.
    magic_files : tuple of pathlib.Path
        The MAGIC files used.
    range_ns : (int, int) or None
        First and last timestamp of the cached events (None: no event).
    """

    runs: tuple[CacheRun, ...]
    root: Path
    magic_files: tuple[Path, ...]
    range_ns: tuple[int, int] | None

    def events(
        self, t_lst: np.ndarray, config: CoincidenceConfig, timer: StageTimer
    ) -> MagicEvents:
        """The cached events within the time range that can matter to ``t_lst``, in order."""
        scan_range = (
            None if config.pre_offset_search else (config.offset_start_ns, config.offset_stop_ns)
        )
        lo, hi = magic_time_range(
            int(t_lst.min()), int(t_lst.max()), config.window_half_width_ns, scan_range
        )
        paths = [run.path for run in self.runs if run.t_max >= lo and run.t_min <= hi]
        with timer.stage("read"):
            frame = (
                pl.scan_parquet(paths or [self.runs[0].path])
                .filter(pl.col(_T).is_between(lo, hi, closed="both"))
                .collect()
            )
        frame = frame.sort(*MAGIC_INDEX).drop(_T)  # the prepared order (the ids are unique)
        return MagicEvents.from_frame(frame, self.magic_files)

    def time_range(self) -> tuple[int, int] | None:
        """First and last timestamp of all cached events."""
        return self.range_ns

    def files(self) -> list[Path]:
        """The MAGIC files used."""
        return list(self.magic_files)

    def subarray(self) -> RawSubarray:
        """The subarray of the first file (the parent checked that all are the same)."""
        found = read_raw_subarray(self.magic_files[0])
        if found is None:  # pragma: no cover - checked by build_magic_cache
            raise RuntimeError(f"{self.magic_files[0]}: no subarray")
        return found


def build_magic_cache(magic_dir: Path, directory: Path, config: CoincidenceConfig) -> MagicCache:
    """Read and prepare the MAGIC directory, check its subarrays, write the cache runs.

    Raises
    ------
    NoMagicEventsError, InvalidFileError
        As :func:`lmcoinc.sources.load_magic` and
        :func:`lmcoinc.io.subarray.check_same_subarrays`.
    """
    magic = load_magic(magic_dir, config)
    check_same_subarrays(magic.files)
    directory.mkdir(parents=True, exist_ok=True)
    runs = []
    for index in np.unique(magic.file_index).tolist():
        at = np.flatnonzero(magic.file_index == index)
        frame = magic.rows(at).with_columns(pl.Series(_T, magic.t_ns[at], dtype=pl.Int64))
        path = directory / f"run-{index:05}.parquet"
        with atomic_file(path) as temp:
            frame.sort(_T, maintain_order=True).write_parquet(
                temp, compression="lz4", statistics=True, row_group_size=_ROW_GROUP
            )
        runs.append(CacheRun(path, int(magic.t_ns[at].min()), int(magic.t_ns[at].max())))
    if not runs:  # no event passed the cuts: an empty run keeps the schema
        path = directory / "run-empty.parquet"
        empty = magic.rows(np.empty(0, np.int64)).with_columns(pl.lit(0, pl.Int64).alias(_T))
        empty.clear().write_parquet(path)
        runs.append(CacheRun(path, 0, -1))
    t = magic.t_ns
    return MagicCache(tuple(runs), Path(magic_dir), tuple(magic.files),
                      (int(t.min()), int(t.max())) if len(t) else None)
