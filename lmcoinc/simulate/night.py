"""Simulate a night: consecutive LST-1 subruns and the MAGIC run that covers them.

Built on :func:`lmcoinc.simulate.simulate`, which writes one LST-1 subrun
and the MAGIC files of the same time interval per call. Subrun ``i``
is one call with the LST subrun starting ``i * subrun_s`` after the run
start and the MAGIC data covering exactly the same interval (plus a margin
before the first and after the last subrun). The shower streams of
consecutive calls are independent Poisson streams over disjoint intervals,
i.e. together one continuous Poisson stream (dead time is not carried over
a boundary). The MAGIC files of call ``i`` become the MAGIC subrun ``i + 1``
of one MAGIC run, with the event ids renumbered to run on across the run;
the LST clock phase depends on the run number only, so it is the same for all
subruns, as in real data. The MAGIC clock (offset, drift) is one clock over
the night: its drift counts from the start of the night's MAGIC data, and
its steps (``clock_steps``) may fall anywhere, inside a subrun or between two.

Each subrun's truth goes to ``truth/<LST file stem>/`` (MAGIC ids as
renumbered); ``merged=True`` also writes the LST run as one merged file.
Calls run in parallel worker processes when ``processes > 1``.
"""

from __future__ import annotations

import multiprocessing
import shutil
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .config import SimulationConfig
from .livetime import LiveTime
from .lst_writer import LST_IMAGES_KEY, LST_PARAMETERS_KEY
from .magic_writer import MAGIC_IMAGES_KEY, MAGIC_PARAMETERS_KEY
from .merge import merge_lst_files, merged_lst_name
from .subrun import SimulatedFiles, simulate

__all__ = ["NightFiles", "simulate_night"]


@dataclass(frozen=True)
class NightFiles:
    """Paths and ground truth of a simulated night.

    Attributes
    ----------
    lst_dir : pathlib.Path
        Directory of the LST-1 subrun files ``dl1_LST-1.Run{obs:05}.{subrun:04}.h5``.
    lst_files : list of pathlib.Path
        The LST-1 subrun files in subrun order.
    magic_dir : pathlib.Path
        Directory of the MAGIC files ``dl1_M{1,2}.Run{obs:08}.{subrun:03}.h5``.
    magic_files : list of pathlib.Path
        The MAGIC files in sorted name order.
    true_offset_ns : int
        The simulated clock offset (MAGIC minus LST).
    n_common : list of int
        Per LST subrun, the number of showers findable by a correct coincidence.
    true_pairs, truth_files : list of pathlib.Path
        Per LST subrun, ``truth/<LST file stem>/true_pairs.parquet`` and
        ``truth.json`` (see :class:`lmcoinc.simulate.SimulatedFiles`).
    live_times : list of LiveTime
        Per LST subrun, the true live times and rates.
    merged_lst_file : pathlib.Path or None
        ``lst_merged/dl1_LST-1.Run{obs:05}.h5`` with ``merged=True``.
    """

    lst_dir: Path
    lst_files: list[Path]
    magic_dir: Path
    magic_files: list[Path]
    true_offset_ns: int
    n_common: list[int]
    true_pairs: list[Path]
    truth_files: list[Path]
    live_times: list[LiveTime]
    merged_lst_file: Path | None = None


def _simulate_chunk(args: tuple) -> tuple[int, SimulatedFiles, int]:
    """Simulate subrun ``i`` into its own directory (runs in a worker process).

    Returns ``i``, the files and the largest MAGIC event id.
    """
    import tables

    i, directory, config = args
    files = simulate(directory, config)
    max_id = 0
    for path in files.magic_files:
        with tables.open_file(str(path), mode="r") as handle:
            if MAGIC_PARAMETERS_KEY in handle:
                ids = handle.get_node(MAGIC_PARAMETERS_KEY).col("event_id")
                max_id = max(max_id, int(ids.max()) if len(ids) else 0)
    return i, files, max_id


def _shift_event_ids(path: Path, keys: tuple[str, ...], shift: int) -> None:
    """Add ``shift`` to the event ids of the tables ``keys`` of a file, in place."""
    import tables

    if shift == 0:
        return
    with tables.open_file(str(path), mode="a") as handle:
        for key in keys:
            if key in handle and handle.get_node(key).nrows:
                table = handle.get_node(key)
                table.modify_column(colname="event_id", column=table.col("event_id") + shift)


def _lst_ids(path: Path) -> tuple[int, int]:
    """First and last event id of an LST-1 file (0, -1 without events)."""
    import tables

    with tables.open_file(str(path), mode="r") as handle:
        if LST_PARAMETERS_KEY not in handle or not handle.get_node(LST_PARAMETERS_KEY).nrows:
            return 0, -1
        ids = handle.get_node(LST_PARAMETERS_KEY).col("event_id")
        return int(ids.min()), int(ids.max())


def simulate_night(
    out_dir: str | Path,
    n_subruns: int = 3,
    subrun_s: float = 10.0,
    *,
    seed: int = 0,
    true_offset_ns: int = -3200,
    lst_obs_id: int = 3265,
    first_subrun: int = 0,
    magic_obs_id: int = 5093711,
    start_unix_s: float = 1_700_000_000.0,
    lst_rate_hz: float = 5000.0,
    magic_stereo_rate_hz: float = 250.0,
    magic_margin_s: float = 1.0,
    drift_ns_per_s: float = 0.0,
    geometric_delay: bool = False,
    pointing_schedule: tuple[tuple[float, float, float], ...] = (),
    clock_steps: tuple[tuple[float, float], ...] = (),
    subrun_settings: Mapping[int, Mapping[str, Any]] | None = None,
    merged: bool = False,
    processes: int = 1,
) -> NightFiles:
    """Write ``n_subruns`` consecutive LST-1 subruns and one MAGIC run covering them.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Output directory: the LST files go to ``out_dir/lst``, the MAGIC files
        to ``out_dir/magic``, the truth to ``out_dir/truth`` (all replaced if present).
    n_subruns : int
        Number of LST-1 subruns (at most 999: MAGIC subrun numbers have 3 digits).
    subrun_s : float
        Length of one LST-1 subrun (and of one MAGIC subrun file) in seconds.
    seed : int
        Base random seed; subrun ``i`` uses ``seed * 100_003 + i``.
    lst_obs_id, first_subrun, magic_obs_id : int
        LST-1 run number, number of the first subrun, MAGIC run number.
    start_unix_s : float
        Start of the first LST subrun (UNIX seconds, UTC).
    true_offset_ns, lst_rate_hz, magic_stereo_rate_hz
        As in :class:`lmcoinc.simulate.SimulationConfig`.
    magic_margin_s : float
        MAGIC data start this long before the first and end this long after
        the last LST subrun.
    drift_ns_per_s, geometric_delay, pointing_schedule, clock_steps
        As in :class:`lmcoinc.simulate.SimulationConfig` (steps anywhere in the
        night); offset and drift hold at and from the night's MAGIC data start.
    subrun_settings : mapping, optional
        Subrun index (0-based) → :class:`SimulationConfig` fields that differ
        for that subrun, e.g. ``{4: {"magic_stereo_rate_hz": 2.0}}`` (a subrun
        with a handful of coincidences) or ``{4: {"magic_start_delay_s":
        9.5}}`` (MAGIC data in its last 0.5 s only).
    merged : bool
        Also write the LST subruns merged into ``out_dir/lst_merged``.
    processes : int
        Number of worker processes for the simulation.

    Returns
    -------
    NightFiles
        The written files and the truth.
    """
    base = SimulationConfig(
        duration_s=float(subrun_s),
        true_offset_ns=int(true_offset_ns),
        lst_rate_hz=lst_rate_hz,
        magic_stereo_rate_hz=magic_stereo_rate_hz,
        magic_subrun_s=float(subrun_s) + 2 * magic_margin_s + 1.0,  # one file per call
        lst_obs_id=lst_obs_id,
        magic_obs_id=magic_obs_id,
        drift_ns_per_s=drift_ns_per_s,
        clock_reference_unix_s=start_unix_s - magic_margin_s,
        geometric_delay=geometric_delay,
        pointing_schedule=tuple(tuple(segment) for segment in pointing_schedule),
        clock_steps=tuple((float(t), float(size)) for t, size in clock_steps),
    )
    configs = _subrun_configs(
        base, n_subruns, seed, first_subrun, start_unix_s, magic_margin_s, subrun_settings or {}
    )
    return _write_night(Path(out_dir), configs, merged, processes)


def _write_night(
    out: Path, configs: list[SimulationConfig], merged: bool, processes: int
) -> NightFiles:
    """Simulate each subrun's config into a work directory, then assemble the night."""
    lst_dir, _, _, merged_dir, work = _fresh_dirs(
        out, "lst", "magic", "truth", "lst_merged", ".chunks"
    )
    jobs = [(i, str(work / f"{i:04}"), config) for i, config in enumerate(configs)]
    night = _assemble(_run(jobs, processes), out, configs[0].magic_obs_id)
    shutil.rmtree(work, ignore_errors=True)
    if not merged:
        merged_dir.rmdir()
        return night
    merged_file = merged_dir / merged_lst_name(configs[0].lst_obs_id)
    return replace(night, merged_lst_file=merge_lst_files(night.lst_files, merged_file))


def _fresh_dirs(out: Path, *names: str) -> list[Path]:
    """Empty directories ``out/name`` (replaced if present)."""
    dirs = [out / name for name in names]
    for directory in dirs:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    return dirs


def _subrun_configs(
    base: SimulationConfig,
    n_subruns: int,
    seed: int,
    first_subrun: int,
    start_unix_s: float,
    magic_margin_s: float,
    settings: Mapping[int, Mapping[str, Any]],
) -> list[SimulationConfig]:
    """The config of each subrun: consecutive LST subruns, MAGIC margins at both ends."""
    if not 1 <= n_subruns <= 999:
        raise ValueError("n_subruns must be between 1 and 999")
    if not base.duration_s > 0:
        raise ValueError("subrun_s must be positive")
    configs = []
    for i in range(n_subruns):
        config = replace(
            base,
            seed=seed * 100_003 + i,
            magic_start_delay_s=-magic_margin_s if i == 0 else 0.0,
            magic_extra_s=magic_margin_s if i == n_subruns - 1 else 0.0,
            lst_subrun=first_subrun + i,
            start_unix_s=start_unix_s + i * base.duration_s,
        )
        configs.append(replace(config, **settings.get(i, {})))
    return configs


def _run(jobs: list[tuple], processes: int) -> list[tuple[int, SimulatedFiles, int]]:
    """Results of :func:`_simulate_chunk` for each job, in subrun order."""
    if processes > 1:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
            done = list(pool.map(_simulate_chunk, jobs))
    else:
        done = [_simulate_chunk(job) for job in jobs]
    return sorted(done, key=lambda item: item[0])


def _assemble(
    done: list[tuple[int, SimulatedFiles, int]], out: Path, magic_obs_id: int
) -> NightFiles:
    """Move the chunks' files into place, the LST-1 and MAGIC event ids running on across
    their runs (as in real data: a subrun's ids follow the previous subrun's)."""
    lst_files, magic_files, truth_dirs = [], [], []
    shift, next_lst_id = 0, None
    for i, files, max_id in done:
        lst_files.append(out / "lst" / files.lst_file.name)
        files.lst_file.replace(lst_files[-1])
        first, last = _lst_ids(lst_files[-1])
        lst_shift = 0 if next_lst_id is None else next_lst_id - first
        _shift_event_ids(lst_files[-1], (LST_PARAMETERS_KEY, LST_IMAGES_KEY), lst_shift)
        next_lst_id = last + lst_shift + 1
        names = []
        for path in files.magic_files:
            tel = path.name.split(".")[0]  # dl1_M1 / dl1_M2
            target = out / "magic" / f"{tel}.Run{magic_obs_id:08}.{i + 1:03}.h5"
            path.replace(target)
            _shift_event_ids(target, (MAGIC_PARAMETERS_KEY, MAGIC_IMAGES_KEY), shift)
            magic_files.append(target)
            names.append(target.name)
        truth_dirs.append(out / "truth" / files.lst_file.stem)
        files.true_pairs.parent.replace(truth_dirs[-1])
        _renumber_truth(truth_dirs[-1], shift, lst_shift, names)
        shift += max_id
    return NightFiles(
        lst_dir=out / "lst",
        lst_files=lst_files,
        magic_dir=out / "magic",
        magic_files=sorted(magic_files),
        true_offset_ns=done[0][1].true_offset_ns,
        n_common=[files.n_common for _, files, _ in done],
        true_pairs=[d / "true_pairs.parquet" for d in truth_dirs],
        truth_files=[d / "truth.json" for d in truth_dirs],
        live_times=[files.live_time for _, files, _ in done],
    )


def _renumber_truth(
    directory: Path, shift: int, lst_shift: int, magic_files: list[str]
) -> None:
    """The truth of a chunk with the night's event ids and MAGIC file names."""
    import json

    import polars as pl

    path = directory / "true_pairs.parquet"
    pairs = pl.read_parquet(path)
    pairs.with_columns(pl.col("event_id_magic") + shift,
                       pl.col("event_id_lst") + lst_shift).write_parquet(path)
    truth_path = directory / "truth.json"
    truth = json.loads(truth_path.read_text())
    truth["magic_files"] = magic_files
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
