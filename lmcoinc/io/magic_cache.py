"""The MAGIC source of a batch: prepared MAGIC events read back from its cache runs.

A cache run (:class:`CacheRun`) is an uncompressed Arrow IPC file holding
the prepared events of one MAGIC file with a valid time, sorted by their
int64 ns time (column :data:`TIME_COLUMN`); ``lmcoinc batch`` writes them
once per night (:mod:`lmcoinc.batch.cache_runs`, :mod:`lmcoinc.batch.cache`).
A :class:`MagicCache` gives each subrun the rows within the offset model's
``magic_range`` of its LST events from the runs that overlap it (kept by
each process for its next subruns, sliced by binary search on time),
without the ids repeated in the MAGIC files, in their prepared order: a
filter on a superset of every MAGIC time the coincidence can use keeps the
results identical to those on the whole directory. A range beyond the times
of which the cache holds every event (its :data:`Window`) raises
:class:`OutsideCache`.
"""

from __future__ import annotations

import pickle
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import polars as pl

from ..utils.timer import StageTimer
from .magic import MAGIC_INDEX
from .magic_events import MagicEvents
from .subarray import RawSubarray

__all__ = ["TIME_COLUMN", "CacheRun", "MagicCache", "OutsideCache", "Window", "forget_caches",
           "within"]

#: The int64 ns timestamp column of the cache runs.
TIME_COLUMN = "_lmcoinc_t_ns"
#: Merged time intervals (ns, both ends included), sorted; None: all times.
Window = list[tuple[int, int]] | None


def within(window: Window, time_range: tuple[int, int]) -> bool:
    """Whether ``time_range`` lies within one interval of the window."""
    lo, hi = time_range
    return window is None or any(a <= lo and hi <= b for a, b in window)


@dataclass(frozen=True)
class CacheRun:
    """One Arrow IPC file of the cache: the prepared events of one MAGIC file (``source``;
    None: a run with no event), by time."""

    path: Path
    t_min: int
    t_max: int
    source: Path | None = None


class OutsideCache(Exception):  # noqa: N818 - not an error: the subrun reads the directory
    """A subrun's MAGIC time range reaches beyond the times the cache holds all events of."""


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
    window : list of (int, int) or None
        The times (ns) of which the cache holds every event of the directory (None: all).
    token : str
        Unique to this cache: a process that has unpickled it once reuses it for every
        task of the batch (:meth:`__reduce__`).
    """

    runs: tuple[CacheRun, ...]
    root: Path
    magic_files: tuple[Path, ...]
    range_ns: tuple[int, int] | None
    schema: dict[str, pl.DataType]
    repeated: pl.DataFrame
    raw_subarray: RawSubarray
    window: Window = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __reduce__(self) -> tuple:
        """Pickled as its fields pickled once (bytes), unpickled once per process: each task
        of a batch carries the cache, a worker decodes it for the first only."""
        if self.token not in _PICKLED:
            _PICKLED.clear()
            _PICKLED[self.token] = pickle.dumps(
                tuple(getattr(self, f.name) for f in fields(self)), pickle.HIGHEST_PROTOCOL)
        return _cache_of, (self.token, _PICKLED[self.token])

    def events(self, time_range: tuple[int, int], timer: StageTimer) -> MagicEvents:
        """The cached events within ``time_range`` (ns, both included), in prepared order;
        their :attr:`~.MagicEvents.files` are the MAGIC files of the runs that overlap it.

        Raises
        ------
        OutsideCache
            If the range reaches beyond the cache's :attr:`window`.
        """
        if not within(self.window, time_range):
            raise OutsideCache(f"MAGIC times {time_range} beyond the cache's {self.window}")
        lo, hi = time_range
        with timer.stage("read"):
            runs = [run for run in self.runs if run.t_max >= lo and run.t_min <= hi]
            used = [run.path for run in runs]
            parts = [_slice(self._run(path), lo, hi) for path in used]
            for path in [kept for kept in _RUNS if kept not in used]:
                del _RUNS[path]  # a later subrun of this process shares this one's runs only
            frame = pl.concat(parts) if parts else pl.DataFrame(schema=self.schema)
            if self.repeated.height:
                frame = frame.join(self.repeated, on=MAGIC_INDEX, how="anti")
        # the prepared order (the ids are unique)
        order = np.lexsort([frame[c].to_numpy() for c in reversed(MAGIC_INDEX)])
        frame = frame.drop(TIME_COLUMN)
        # the frame stays in time order: the events' rows in it, gathered when asked for
        rows = order if np.any(order[1:] < order[:-1]) else None
        sources = [run.source for run in runs if run.source is not None]
        return MagicEvents.from_frame(frame, sources, rows)

    def _run(self, path: Path) -> pl.DataFrame:
        """A cache run in the types of all files, kept for the next subrun of this process
        (consecutive subruns share the runs at their boundary)."""
        found = _RUNS.pop(path, None)
        if found is None:
            found = pl.read_ipc(path)
            if found.schema != self.schema:
                found = found.cast(self.schema)
        _RUNS[path] = found
        while len(_RUNS) > 1 and sum(r.estimated_size() for r in _RUNS.values()) > _KEPT_BYTES:
            _RUNS.pop(next(iter(_RUNS)))
        return found

    def time_range(self) -> tuple[int, int] | None:
        """First and last timestamp of all cached events."""
        return self.range_ns

    def files(self) -> list[Path]:
        """The MAGIC files of the cache (a subrun's events name those they come from)."""
        return list(self.magic_files)

    def subarray(self) -> RawSubarray:
        """The subarray of the files (the parent checked that all are the same)."""
        return self.raw_subarray

#: The last cache pickled, and unpickled, by this process (token → fields pickled, cache).
_PICKLED: dict[str, bytes] = {}
_UNPICKLED: dict[str, MagicCache] = {}


def _cache_of(token: str, state: bytes) -> MagicCache:
    """The cache of ``token``, unpickled from ``state`` the first time."""
    if token not in _UNPICKLED:
        _UNPICKLED.clear()
        _UNPICKLED[token] = MagicCache(*pickle.loads(state))
    return _UNPICKLED[token]


#: The cache runs of the last subrun of this process (path → events), at most
#: :data:`_KEPT_BYTES`.
_RUNS: dict[Path, pl.DataFrame] = {}
_KEPT_BYTES = 48 * 2**20


def forget_caches() -> None:
    """Drop what this process keeps of the caches it read (their runs, their pickles)."""
    _RUNS.clear()
    _PICKLED.clear()
    _UNPICKLED.clear()


def _slice(run: pl.DataFrame, lo: int, hi: int) -> pl.DataFrame:
    """The rows of a cache run with a time within [lo, hi] (binary search: it is sorted)."""
    t = run[TIME_COLUMN].to_numpy()
    first, end = int(np.searchsorted(t, lo, side="left")), int(np.searchsorted(t, hi, "right"))
    return run.slice(first, end - first)
