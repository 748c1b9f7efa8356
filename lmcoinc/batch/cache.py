"""The batch's cache of prepared MAGIC events, read by :class:`lmcoinc.io.magic_cache.MagicCache`.

The MAGIC files whose times overlap what the batch's LST subruns can use
(:mod:`.overlap`) are each read once, checked, and their events with a
valid time written to an Arrow IPC run sorted by time (by the batch's
worker processes: :mod:`.cache_runs`); then the parent finds the ids that
occur more than once (all their rows are dropped): each file tells its own,
and the ids of files whose event ids overlap are read back from their runs.
Memory follows the largest file, not the night. :func:`build_magic_cache`
gives the MAGIC source of the batch's subruns, which takes the slice of each
(:mod:`lmcoinc.io.magic_cache`; a range outside the times the cache covers
raises :class:`~lmcoinc.io.magic_cache.OutsideCache`: the subrun then reads
the directory as ``run`` does).
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from ..config import CoincidenceConfig
from ..errors import MagicInputError, NoMagicEventsError, input_roles
from ..io.magic import MAGIC_INDEX, arrange_magic, check_tel_ids, find_magic_files
from ..io.magic_cache import TIME_COLUMN, CacheRun, MagicCache, Window, forget_caches
from ..io.subarray import check_same_subarrays
from .cache_runs import PreparedFile, prepare_files
from .overlap import lst_window, select_magic_files
from .records import STATE_DIR
from .workers import WorkerPool

__all__ = ["batch_cache", "build_magic_cache"]


def _repeated_ids(written: list[PreparedFile]) -> pl.DataFrame:
    """Ids (obs_id_magic, event_id_magic, tel_id) that occur more than once among all files.

    Each file says those it holds more than once. Across files, an id can
    repeat only between files whose event ids of the same MAGIC run and
    telescope overlap (the subrun files of a run hold consecutive ones): only
    those files' ids are read back from their cache runs, one cluster of
    overlapping files at a time.
    """
    found = [pl.DataFrame(schema=dict.fromkeys(MAGIC_INDEX, pl.Int64))]
    found += [w.repeated for w in written]
    spans: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for index, w in enumerate(written):
        for key, (first, last) in w.id_ranges.items():
            spans.setdefault(key, []).append((first, last, index))
    for (obs_id, tel_id), ranges in spans.items():
        for cluster in _overlapping(ranges):
            ids = np.concatenate([_event_ids(written[i], obs_id, tel_id) for i in cluster])
            values, counts = np.unique(ids, return_counts=True)
            again = values[counts > 1]
            found.append(pl.DataFrame({"obs_id_magic": np.full(len(again), obs_id),
                                       "event_id_magic": again,
                                       "tel_id": np.full(len(again), tel_id)}).cast(pl.Int64))
    return pl.concat(found).unique()


def _overlapping(ranges: list[tuple[int, int, int]]) -> list[list[int]]:
    """The clusters of two or more items whose (first, last) ranges overlap, one another in
    a chain; ``ranges``: (first, last, item)."""
    clusters, current, reach = [], [], None
    for first, last, item in sorted(ranges):
        if reach is not None and first <= reach:
            current.append(item)
            reach = max(reach, last)
        else:
            clusters.append(current)
            current, reach = [item], last
    clusters.append(current)
    return [c for c in clusters if len(c) > 1]


def _event_ids(written: PreparedFile, obs_id: int, tel_id: int) -> np.ndarray:
    """The event ids of one MAGIC run and telescope in a file (its valid and invalid times)."""
    parts = [written.invalid_ids]
    if written.run is not None:
        parts.append(pl.read_ipc(written.run.path, columns=list(MAGIC_INDEX)))
    ids = pl.concat([p.cast(pl.Int64) for p in parts])
    return ids.filter((pl.col("obs_id_magic") == obs_id) & (pl.col("tel_id") == tel_id))[
        "event_id_magic"].to_numpy()


@contextmanager
def batch_cache(magic_dir: Path, output_dir: Path, config: CoincidenceConfig,
                pool: WorkerPool | None, lst_files: list[Path], removals: ExitStack | None = None
                ) -> Iterator[MagicCache]:
    """The MAGIC cache of a batch's LST files, in the state directory of ``output_dir``,
    built by the pool's workers (:func:`build_magic_cache`); removed at the end (in a
    thread that ``removals`` waits for as it closes, if given: the kernel unlinks its files
    while the batch writes its summary)."""
    cache_dir = output_dir / STATE_DIR / "cache" / f"magic-{uuid.uuid4().hex[:8]}"
    try:
        window = lst_window(lst_files, config)
        with input_roles({magic_dir: MagicInputError}):
            cache = build_magic_cache(magic_dir, cache_dir, config.tel_names, pool, window)
        yield cache
    finally:
        forget_caches()
        if removals is None:
            shutil.rmtree(cache_dir, ignore_errors=True)
        else:
            removal = threading.Thread(target=shutil.rmtree, args=(cache_dir,),
                                       kwargs={"ignore_errors": True}, name="lmcoinc-cache-rm")
            removal.start()
            removals.callback(removal.join)


def build_magic_cache(
    magic_dir: Path, directory: Path, tel_ids: Collection[int], pool: WorkerPool | None = None,
    window: Window = None,
) -> MagicCache:
    """Prepare the MAGIC files of a directory that overlap ``window`` as
    :func:`lmcoinc.io.magic.prepare_magic` does, one file at a time, check their subarrays,
    and write the cache runs.

    Each file is read once, by the workers of ``pool`` (else in this process:
    :mod:`.cache_runs`); memory holds one file per process, and the ids of
    one MAGIC run of one telescope while the repeated ids (all dropped) are found.
    Events of telescopes not in ``tel_ids`` (the config's ids in use) are an error.
    ``window`` (:func:`.overlap.lst_window`; None: all times) chooses the files
    (:func:`.overlap.select_magic_files`).

    Raises
    ------
    NoMagicEventsError, InvalidFileError
        As :func:`lmcoinc.io.magic_source.load_magic` and
        :func:`lmcoinc.io.subarray.check_same_subarrays`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = find_magic_files(magic_dir)
    chosen = select_magic_files(files, window)
    written = prepare_files(chosen, directory, pool)
    paths = [w.path for w in written]
    if not any(w.runs_of for w in written):
        raise NoMagicEventsError(f"{magic_dir}: no MAGIC events in the DL1 files")
    subarray = check_same_subarrays([w.subarray for w in written])
    schemas = {tuple(w.schema.items()): w.schema for w in written}  # each distinct one once
    schema = pl.concat([pl.DataFrame(schema=s) for s in schemas.values()],
                       how="vertical_relaxed").schema
    prepared = dict(arrange_magic(pl.DataFrame(schema=schema)).schema) | {TIME_COLUMN: pl.Int64}
    repeated = _repeated_ids(written).cast({c: prepared[c] for c in MAGIC_INDEX})
    runs = [w.run for w in written if w.run is not None]
    _check_tel_ids(written, runs, repeated, tel_ids, magic_dir)
    if not runs:  # no event passed the cuts: an empty run keeps the schema
        run = directory / "run-empty.arrow"
        pl.DataFrame(schema=prepared).write_ipc(run)
        runs.append(CacheRun(run, 0, -1))
    bounds = [(r.t_min, r.t_max) for r in runs if r.t_max >= r.t_min]
    time_range = (min(b[0] for b in bounds), max(b[1] for b in bounds)) if bounds else None
    return MagicCache(tuple(runs), Path(magic_dir), tuple(paths), time_range, prepared, repeated,
                      subarray, None if len(chosen) == len(files) else window)


def _check_tel_ids(written: list[PreparedFile], runs: list[CacheRun], repeated: pl.DataFrame,
                   tel_ids: Collection[int], magic_dir: Path) -> None:
    """Reject telescopes that are not in use among the events that are kept."""
    unknown = set().union(*(w.tel_ids for w in written)) - set(tel_ids)
    if not unknown:
        return
    kept = (pl.concat([pl.scan_ipc(r.path).select(MAGIC_INDEX) for r in runs])
            .filter(pl.col("tel_id").is_in(sorted(unknown)))
            .join(repeated.lazy(), on=MAGIC_INDEX, how="anti").select("tel_id").unique()
            .collect()) if runs else pl.DataFrame({"tel_id": []})
    check_tel_ids(kept["tel_id"].to_list(), tel_ids, magic_dir)
