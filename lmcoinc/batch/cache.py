"""The batch's cache of prepared MAGIC events, and the MAGIC source that reads it.

The parent of a batch reads the MAGIC directory once: first the ids and
times of every file (the duplicate removal needs every MAGIC row), then,
one file at a time, all columns of that file's prepared events, written to
a Parquet run sorted by time in small row groups. Its memory follows the
ids of the night and the largest file. Each subrun reads the rows within
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
from ..errors import InvalidFileError, NoMagicEventsError
from ..io.atomic import atomic_file
from ..io.magic import arrange_magic, invalid_magic_times, iter_magic_files, read_magic_rows
from ..io.magic_events import MagicEvents
from ..io.subarray import RawSubarray, check_same_subarrays, read_raw_subarray
from ..memory import release_free_memory
from ..sources import useful_magic_range
from ..timestamps import magic_ns
from ..timing import StageTimer

__all__ = ["CacheRun", "MagicCache", "build_magic_cache"]

_T = "_lmcoinc_t_ns"
_ROW_GROUP = 16_384
_KEY_COLUMNS = ("obs_id", "event_id", "tel_id", "time_sec", "time_nanosec")


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
        lo, hi = useful_magic_range(t_lst, config)
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


def _repeated_keys(magic_dir: Path) -> tuple[pl.DataFrame, list]:
    """Keys (obs_id, event_id, tel_id) that occur more than once among all MAGIC files, and
    (path, schema) of each file with a parameter table (their times are checked here).

    A key can repeat only among files that share an (obs_id, tel_id): the files
    are compared in such groups (a MAGIC run of one telescope), so that memory
    holds the ids of one group, not of the night.

    Raises
    ------
    NoMagicEventsError, InvalidFileError
        No event in the files; a file is invalid.
    """
    files, runs = [], []
    for found in iter_magic_files(magic_dir, columns=_KEY_COLUMNS):
        files.append((found.path, found.schema))
        runs.append(set(found.frame.select("obs_id", "tel_id").unique().iter_rows()))
    if not any(runs):
        raise NoMagicEventsError(f"{magic_dir}: no MAGIC events in the DL1 files")
    repeated = [pl.DataFrame(schema={"obs_id": pl.Int64, "event_id": pl.Int64,
                                     "tel_id": pl.Int64})]
    for group in _sharing(runs):
        (obs_id, tel_id), *others = set().union(*(runs[i] for i in group))
        # one MAGIC run of one telescope (the usual case): the event ids alone tell
        columns = ["event_id"] if not others else ["obs_id", "event_id", "tel_id"]
        keys = {c: np.concatenate([read_magic_rows(files[i][0], slice(None), [c])[c].to_numpy()
                                   for i in group]) for c in columns}
        rows = _repeated_rows(*keys.values())
        found = pl.DataFrame({c: values[rows] for c, values in keys.items()})
        if not others:
            found = found.select(obs_id=pl.lit(obs_id), event_id="event_id",
                                 tel_id=pl.lit(tel_id))
        repeated.append(found.unique())
    return pl.concat(repeated, how="vertical_relaxed"), files


def _repeated_rows(*columns: np.ndarray) -> np.ndarray:
    """Rows whose values in ``columns`` occur more than once (one sort, no hash table)."""
    order = np.lexsort(columns[::-1])
    same = np.ones(max(len(order) - 1, 0), dtype=bool)
    for column in columns:
        ordered = column[order]
        same &= ordered[1:] == ordered[:-1]
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    return np.sort(order[repeated])


def _sharing(keys: list[set]) -> list[list[int]]:
    """Groups of the indices whose key sets are linked by common keys (empty sets left out)."""
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict = {}
    for i, found in enumerate(keys):
        for key in found:
            parent[root(i)] = root(first.setdefault(key, i))
    groups: dict[int, list[int]] = {}
    for i, found in enumerate(keys):
        if found:
            groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def build_magic_cache(magic_dir: Path, directory: Path, config: CoincidenceConfig) -> MagicCache:
    """Prepare the MAGIC directory as :func:`lmcoinc.io.magic.prepare_magic` does, one file at a
    time, check its subarrays, and write the cache runs.

    Memory holds the ids of all events (for the repeated ones, which are all
    dropped) and one file at a time.

    Raises
    ------
    NoMagicEventsError, InvalidFileError
        As :func:`lmcoinc.sources.load_magic` and
        :func:`lmcoinc.io.subarray.check_same_subarrays`.
    """
    repeated, files = _repeated_keys(magic_dir)
    release_free_memory()
    paths = [path for path, _ in files]
    check_same_subarrays(paths)
    schema = pl.concat([pl.DataFrame(schema=s) for _, s in files], how="vertical_relaxed").schema
    repeated = repeated.cast({c: schema[c] for c in repeated.columns})
    directory.mkdir(parents=True, exist_ok=True)
    runs, t_min, t_max = [], [], []
    for index, path in enumerate(paths):
        raw = read_magic_rows(path, slice(None)).cast(schema)
        raw = raw.join(repeated, on=["obs_id", "event_id", "tel_id"], how="anti",
                       maintain_order="left")
        frame = arrange_magic(raw.filter(~invalid_magic_times(raw)))
        unknown = set(frame["tel_id"].unique().to_list()) - set(config.tel_names)
        if unknown:
            raise InvalidFileError(
                magic_dir, f"MAGIC tel_id {sorted(unknown)} not in the config's mc_tel_ids"
            )
        if frame.height == 0:
            continue
        t = magic_ns(frame["time_sec"].to_numpy(), frame["time_nanosec"].to_numpy())
        run = directory / f"run-{index:05}.parquet"
        with atomic_file(run) as temp:
            frame.with_columns(pl.Series(_T, t, dtype=pl.Int64)).sort(_T, maintain_order=True) \
                .write_parquet(temp, compression="lz4", statistics=True, row_group_size=_ROW_GROUP)
        runs.append(CacheRun(run, int(t.min()), int(t.max())))
        t_min, t_max = [*t_min, int(t.min())], [*t_max, int(t.max())]
    if not runs:  # no event passed the cuts: an empty run keeps the schema
        run = directory / "run-empty.parquet"
        arrange_magic(pl.DataFrame(schema=schema)).with_columns(
            pl.lit(0, pl.Int64).alias(_T)).clear().write_parquet(run)
        runs.append(CacheRun(run, 0, -1))
    time_range = (min(t_min), max(t_max)) if t_min else None
    return MagicCache(tuple(runs), Path(magic_dir), tuple(paths), time_range)
