"""The batch's cache of prepared MAGIC events, and the MAGIC source that reads it.

The parent of a batch reads and prepares the MAGIC directory once (the
duplicate removal needs every MAGIC row), checks its subarrays once, and
writes the events with their int64 ns timestamps to a Parquet file sorted by
time in small row groups. Each subrun reads the rows within
:func:`lmcoinc.offsets.magic_time_range` of its LST events (row-group
statistics skip the rest) and restores their prepared order: a filter on a
superset of every MAGIC time the coincidence can use keeps the results
identical to those on the whole directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..config import CoincidenceConfig
from ..io.atomic import atomic_file
from ..io.subarray import RawSubarray, check_same_subarrays, read_raw_subarray
from ..offsets import magic_time_range
from ..sources import load_magic
from ..timestamps import magic_ns
from ..timing import StageTimer

__all__ = ["MagicCache", "build_magic_cache"]

_T = "_lmcoinc_t_ns"
_ROW = "_lmcoinc_row"
_ROW_GROUP = 16_384


@dataclass(frozen=True)
class MagicCache:
    """A MAGIC source reading the time slice of each subrun from the batch cache.

    Attributes
    ----------
    path : pathlib.Path
        The Parquet cache.
    root : pathlib.Path
        The MAGIC directory it was made from.
    magic_files : tuple of pathlib.Path
        The MAGIC files used.
    range_ns : (int, int)
        First and last timestamp of the cached events.
    """

    path: Path
    root: Path
    magic_files: tuple[Path, ...]
    range_ns: tuple[int, int]

    def events(
        self, t_lst: np.ndarray, config: CoincidenceConfig, timer: StageTimer
    ) -> pl.DataFrame:
        """The cached events within the time range that can matter to ``t_lst``, in order."""
        lo, hi = magic_time_range(
            int(t_lst.min()), int(t_lst.max()), config.window_half_width_ns,
            config.offset_search_range_ns,
        )
        with timer.stage("read"):
            frame = (
                pl.scan_parquet(self.path)
                .filter(pl.col(_T).is_between(lo, hi, closed="both"))
                .collect()
            )
        return frame.sort(_ROW).drop(_ROW, _T)

    def time_range(self) -> tuple[int, int]:
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


def build_magic_cache(
    magic_dir: Path, path: Path, config: CoincidenceConfig
) -> MagicCache:
    """Read and prepare the MAGIC directory, check its subarrays, write the cache.

    Raises
    ------
    NoMagicEventsError, InvalidFileError
        As :func:`lmcoinc.sources.load_magic` and
        :func:`lmcoinc.io.subarray.check_same_subarrays`.
    """
    magic, files = load_magic(magic_dir, config)
    check_same_subarrays(files)
    t = magic_ns(magic["time_sec"].to_numpy(), magic["time_nanosec"].to_numpy())
    frame = (
        magic.with_columns(pl.Series(_T, t, dtype=pl.Int64))
        .with_row_index(_ROW)
        .sort(_T, maintain_order=True)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as temp:
        frame.write_parquet(temp, compression="lz4", statistics=True, row_group_size=_ROW_GROUP)
    return MagicCache(path, Path(magic_dir), tuple(files), (int(t.min()), int(t.max())))
