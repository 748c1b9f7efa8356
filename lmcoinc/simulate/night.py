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
subruns, as in real data.

Calls run in parallel worker processes when ``processes > 1``.
"""

from __future__ import annotations

import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from .config import SimulationConfig
from .magic_writer import MAGIC_PARAMETERS_KEY
from .subrun import simulate

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
    """

    lst_dir: Path
    lst_files: list[Path]
    magic_dir: Path
    magic_files: list[Path]
    true_offset_ns: int
    n_common: list[int]


def _simulate_chunk(args: tuple) -> tuple[int, str, list[str], int, int]:
    """Simulate subrun ``i`` into its own directory (runs in a worker process)."""
    import tables

    i, directory, config = args
    files = simulate(directory, config)
    max_id = 0
    for path in files.magic_files:
        with tables.open_file(str(path), mode="r") as handle:
            if MAGIC_PARAMETERS_KEY in handle:
                ids = handle.get_node(MAGIC_PARAMETERS_KEY).col("event_id")
                max_id = max(max_id, int(ids.max()) if len(ids) else 0)
    return i, str(files.lst_file), [str(p) for p in files.magic_files], max_id, files.n_common


def _shift_event_ids(path: Path, shift: int) -> None:
    """Add ``shift`` to the MAGIC event ids of a file, in place."""
    import tables

    if shift == 0:
        return
    with tables.open_file(str(path), mode="a") as handle:
        if MAGIC_PARAMETERS_KEY not in handle:
            return
        table = handle.get_node(MAGIC_PARAMETERS_KEY)
        if table.nrows:
            table.modify_column(colname="event_id", column=table.col("event_id") + shift)


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
    processes: int = 1,
) -> NightFiles:
    """Write ``n_subruns`` consecutive LST-1 subruns and one MAGIC run covering them.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Output directory: the LST files go to ``out_dir/lst``, the MAGIC files
        to ``out_dir/magic`` (both replaced if present).
    n_subruns : int
        Number of LST-1 subruns (at most 999: MAGIC subrun numbers have 3 digits).
    subrun_s : float
        Length of one LST-1 subrun (and of one MAGIC subrun file) in seconds.
    seed : int
        Base random seed; subrun ``i`` uses ``seed * 100_003 + i``.
    true_offset_ns : int
        MAGIC clock minus LST clock.
    lst_obs_id, first_subrun : int
        LST-1 run number and number of the first subrun.
    magic_obs_id : int
        MAGIC run number.
    start_unix_s : float
        Start of the first LST subrun (UNIX seconds, UTC).
    lst_rate_hz, magic_stereo_rate_hz : float
        Trigger rates, as in :class:`lmcoinc.simulate.SimulationConfig`.
    magic_margin_s : float
        MAGIC data start this long before the first and end this long after
        the last LST subrun.
    processes : int
        Number of worker processes for the simulation.

    Returns
    -------
    NightFiles
        The written files.
    """
    if not 1 <= n_subruns <= 999:
        raise ValueError("n_subruns must be between 1 and 999")
    if not subrun_s > 0:
        raise ValueError("subrun_s must be positive")
    lst_dir, magic_dir, work = _fresh_dirs(Path(out_dir), "lst", "magic", ".chunks")
    base = SimulationConfig(
        duration_s=float(subrun_s),
        true_offset_ns=int(true_offset_ns),
        lst_rate_hz=lst_rate_hz,
        magic_stereo_rate_hz=magic_stereo_rate_hz,
        magic_subrun_s=float(subrun_s) + 2 * magic_margin_s + 1.0,  # one file per call
        lst_obs_id=lst_obs_id,
        magic_obs_id=magic_obs_id,
    )
    configs = _subrun_configs(base, n_subruns, seed, first_subrun, start_unix_s, magic_margin_s)
    jobs = [(i, str(work / f"{i:04}"), config) for i, config in enumerate(configs)]
    done = _run(jobs, processes)
    lst_files, magic_files, n_common = _assemble(done, lst_dir, magic_dir, magic_obs_id)
    shutil.rmtree(work, ignore_errors=True)
    return NightFiles(
        lst_dir=lst_dir,
        lst_files=lst_files,
        magic_dir=magic_dir,
        magic_files=sorted(magic_files),
        true_offset_ns=int(true_offset_ns),
        n_common=n_common,
    )


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
) -> list[SimulationConfig]:
    """The config of each subrun: consecutive LST subruns, MAGIC margins at both ends."""
    configs = []
    for i in range(n_subruns):
        configs.append(
            replace(
                base,
                seed=seed * 100_003 + i,
                magic_start_delay_s=-magic_margin_s if i == 0 else 0.0,
                magic_extra_s=magic_margin_s if i == n_subruns - 1 else 0.0,
                lst_subrun=first_subrun + i,
                start_unix_s=start_unix_s + i * base.duration_s,
            )
        )
    return configs


def _run(jobs: list[tuple], processes: int) -> list[tuple[int, str, list[str], int, int]]:
    """Results of :func:`_simulate_chunk` for each job, in subrun order."""
    if processes > 1:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
            done = list(pool.map(_simulate_chunk, jobs))
    else:
        done = [_simulate_chunk(job) for job in jobs]
    return sorted(done)


def _assemble(
    done: list[tuple[int, str, list[str], int, int]],
    lst_dir: Path,
    magic_dir: Path,
    magic_obs_id: int,
) -> tuple[list[Path], list[Path], list[int]]:
    """Move the chunks' files into place, MAGIC event ids running on across the run."""
    lst_files, magic_files, n_common = [], [], []
    shift = 0
    for i, lst_file, chunk_magic, max_id, common in done:
        lst_target = lst_dir / Path(lst_file).name
        Path(lst_file).replace(lst_target)
        lst_files.append(lst_target)
        n_common.append(common)
        for path in map(Path, chunk_magic):
            tel = path.name.split(".")[0]  # dl1_M1 / dl1_M2
            target = magic_dir / f"{tel}.Run{magic_obs_id:08}.{i + 1:03}.h5"
            path.replace(target)
            _shift_event_ids(target, shift)
            magic_files.append(target)
        shift += max_id
    return lst_files, magic_files, n_common
