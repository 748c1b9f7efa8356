"""The batch's cache of prepared MAGIC events, and the MAGIC source that reads it.

Each MAGIC file is read once, checked, and its events with a valid time
written to a Parquet run sorted by time in small row groups (by the batch's
worker processes: :mod:`.cache_runs`); then the parent finds the ids that
occur more than once (all their rows are dropped), reading them back from
the runs one MAGIC run of one telescope at a time. Memory follows the
largest file, not the night. Each subrun reads
the rows within :func:`lmcoinc.offsets.magic_time_range` of its LST events
from the runs that overlap it (row-group statistics skip the rest), without
the repeated ids, and restores their prepared order: a filter on a superset
of every MAGIC time the coincidence can use keeps the results identical to
those on the whole directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..columns import MAGIC_INDEX
from ..config import CoincidenceConfig
from ..errors import InvalidFileError, NoMagicEventsError
from ..io.magic import arrange_magic, find_magic_files
from ..io.magic_events import MagicEvents
from ..io.subarray import RawSubarray, check_same_subarrays
from ..sources import useful_magic_range
from ..timing import StageTimer
from .cache_runs import TIME_COLUMN as _T
from .cache_runs import CacheRun, PreparedFile, prepare_files

__all__ = ["CacheRun", "MagicCache", "build_magic_cache"]


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
    schema : dict
        The columns of the prepared events and their types over all files.
    repeated : polars.DataFrame
        The ids (obs_id_magic, event_id_magic, tel_id) found more than once in the
        MAGIC files: their rows are dropped as they are read.
    raw_subarray : RawSubarray
        The subarray of the files (the same in all), read once for every subrun.
    """

    runs: tuple[CacheRun, ...]
    root: Path
    magic_files: tuple[Path, ...]
    range_ns: tuple[int, int] | None
    schema: dict[str, pl.DataType]
    repeated: pl.DataFrame
    raw_subarray: RawSubarray

    def events(
        self, t_lst: np.ndarray, config: CoincidenceConfig, timer: StageTimer
    ) -> MagicEvents:
        """The cached events within the time range that can matter to ``t_lst``, in order."""
        lo, hi = useful_magic_range(t_lst, config)
        paths = [run.path for run in self.runs if run.t_max >= lo and run.t_min <= hi]
        with timer.stage("read"):
            frame = self._scan(paths or [self.runs[0].path]).filter(
                pl.col(_T).is_between(lo, hi, closed="both")).collect()
        frame = frame.sort(*MAGIC_INDEX).drop(_T)  # the prepared order (the ids are unique)
        return MagicEvents.from_frame(frame, self.magic_files)

    def _scan(self, paths: list[Path]) -> pl.LazyFrame:
        """The runs' events in the types of all files, without the repeated ids."""
        frame = pl.concat([pl.scan_parquet(p).cast(self.schema) for p in paths])
        if self.repeated.height:
            frame = frame.join(self.repeated.lazy(), on=MAGIC_INDEX, how="anti",
                               maintain_order="left")
        return frame

    def time_range(self) -> tuple[int, int] | None:
        """First and last timestamp of all cached events."""
        return self.range_ns

    def files(self) -> list[Path]:
        """The MAGIC files used."""
        return list(self.magic_files)

    def subarray(self) -> RawSubarray:
        """The subarray of the files (the parent checked that all are the same)."""
        return self.raw_subarray


def _repeated_ids(written: list[PreparedFile]) -> pl.DataFrame:
    """Ids (obs_id_magic, event_id_magic, tel_id) that occur more than once among all files.

    An id can repeat only among files that share an (obs_id, tel_id): the files
    are compared in such groups (a MAGIC run of one telescope), their ids read
    back from the cache runs, so that memory holds the ids of one group, not of
    the night.
    """
    repeated = [pl.DataFrame(schema=dict.fromkeys(MAGIC_INDEX, pl.Int64))]
    for group in _sharing([w.runs_of for w in written]):
        (obs_id, tel_id), *others = set().union(*(written[i].runs_of for i in group))
        # one MAGIC run of one telescope (the usual case): the event ids alone tell
        columns = ["event_id_magic"] if not others else list(MAGIC_INDEX)
        ids = [pl.read_parquet(w.run.path, columns=columns).cast(pl.Int64)
               for w in (written[i] for i in group) if w.run is not None]
        ids += [written[i].invalid_ids.select(columns).cast(pl.Int64) for i in group]
        keys = pl.concat(ids)
        found = keys[_repeated_rows(*(keys[c].to_numpy() for c in columns))]
        if not others:
            found = found.select(obs_id_magic=pl.lit(obs_id, pl.Int64), event_id_magic=columns[0],
                                 tel_id=pl.lit(tel_id, pl.Int64))
        repeated.append(found.unique())
    return pl.concat(repeated)


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


def build_magic_cache(
    magic_dir: Path, directory: Path, config: CoincidenceConfig, jobs: int = 1
) -> MagicCache:
    """Prepare the MAGIC directory as :func:`lmcoinc.io.magic.prepare_magic` does, one file at a
    time, check its subarrays, and write the cache runs.

    Each file is read once, by ``jobs`` worker processes
    (:mod:`.cache_runs`); memory holds one file per process, and the ids of
    one MAGIC run of one telescope while the repeated ids (all dropped) are found.

    Raises
    ------
    NoMagicEventsError, InvalidFileError
        As :func:`lmcoinc.sources.load_magic` and
        :func:`lmcoinc.io.subarray.check_same_subarrays`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = prepare_files(find_magic_files(magic_dir), directory, jobs)
    paths = [w.path for w in written]
    if not any(w.runs_of for w in written):
        raise NoMagicEventsError(f"{magic_dir}: no MAGIC events in the DL1 files")
    subarray = check_same_subarrays(paths)
    schema = pl.concat([pl.DataFrame(schema=w.schema) for w in written],
                       how="vertical_relaxed").schema
    prepared = dict(arrange_magic(pl.DataFrame(schema=schema)).schema) | {_T: pl.Int64}
    repeated = _repeated_ids(written).cast({c: prepared[c] for c in MAGIC_INDEX})
    runs = [w.run for w in written if w.run is not None]
    _check_tel_ids(written, runs, repeated, config, magic_dir)
    if not runs:  # no event passed the cuts: an empty run keeps the schema
        run = directory / "run-empty.parquet"
        pl.DataFrame(schema=prepared).write_parquet(run)
        runs.append(CacheRun(run, 0, -1))
    bounds = [(r.t_min, r.t_max) for r in runs if r.t_max >= r.t_min]
    time_range = (min(b[0] for b in bounds), max(b[1] for b in bounds)) if bounds else None
    return MagicCache(tuple(runs), Path(magic_dir), tuple(paths), time_range, prepared, repeated,
                      subarray)


def _check_tel_ids(written: list[PreparedFile], runs: list[CacheRun], repeated: pl.DataFrame,
                   config: CoincidenceConfig, magic_dir: Path) -> None:
    """Reject telescopes that are not in the config among the events that are kept."""
    unknown = set().union(*(w.tel_ids for w in written)) - set(config.tel_names)
    if not unknown:
        return
    kept = (pl.concat([pl.scan_parquet(r.path).select(MAGIC_INDEX) for r in runs])
            .filter(pl.col("tel_id").is_in(sorted(unknown)))
            .join(repeated.lazy(), on=MAGIC_INDEX, how="anti").select("tel_id").unique()
            .collect()) if runs else pl.DataFrame({"tel_id": []})
    if kept.height:
        raise InvalidFileError(
            magic_dir, f"MAGIC tel_id {sorted(kept['tel_id'].to_list())} not in the config's "
            "mc_tel_ids")
