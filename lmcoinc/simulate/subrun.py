"""One simulated LST-1 subrun and the MAGIC files of the same time interval."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .clocks import clock_reference_ns, clock_steps_truth
from .config import SimulationConfig, validate
from .events import simulate_events
from .libraries import prepare_libraries
from .livetime import LiveTime, live_time
from .lst import lst_columns
from .lst_writer import write_lst_file
from .magic import magic_columns
from .magic_writer import write_magic_files
from .truth import count_common, true_pairs, write_truth

__all__ = ["SimulatedFiles", "simulate"]


@dataclass(frozen=True)
class SimulatedFiles:
    """Paths and ground truth of a simulation.

    Attributes
    ----------
    lst_file : pathlib.Path
        The LST-1 DL1 subrun file, e.g. ``OUT/dl1_LST-1.Run03265.0040.h5``.
    magic_dir : pathlib.Path
        Directory ``OUT/magic`` holding the MAGIC DL1 files.
    magic_files : list of pathlib.Path
        The MAGIC DL1 files ``dl1_M{1,2}.Run{obs_id:08}.{subrun:03}.h5`` in sorted order.
    true_offset_ns : int
        The simulated clock offset (MAGIC minus LST) in ns.
    n_common : int
        Number of showers with a usable LST-1 shower row (event_type 32, finite
        intensity, time_gradient, alt_tel and az_tel, unique event id) and a
        row in at least one MAGIC file: the pairs a correct coincidence search
        can find (besides accidental ones).
    true_pairs : pathlib.Path
        ``OUT/truth/true_pairs.parquet``: one row per usable LST-1 row and MAGIC
        row of the same shower (see :mod:`lmcoinc.simulate.truth`).
    truth_file : pathlib.Path
        ``OUT/truth/truth.json``: clock, counts, live time and the config.
    live_time : LiveTime
        True live times and rates.
    """

    lst_file: Path
    magic_dir: Path
    magic_files: list[Path]
    true_offset_ns: int
    n_common: int
    true_pairs: Path
    truth_file: Path
    live_time: LiveTime


def simulate(out_dir: Path | str, config: SimulationConfig = SimulationConfig()) -> SimulatedFiles:
    """Simulate one LST-1 DL1 subrun file and the overlapping MAGIC DL1 subrun files.

    Parameters
    ----------
    out_dir : pathlib.Path or str
        Output directory (created if needed). The LST file is written into it,
        the MAGIC files into its subdirectory ``magic``, the truth into
        ``truth``. Existing files of the same names are replaced, stale MAGIC
        files of the same MAGIC run are removed.
    config : SimulationConfig
        Simulation parameters.

    Returns
    -------
    SimulatedFiles
        Paths of the written files and the ground truth.

    Raises
    ------
    ValueError
        If the configuration is inconsistent (non-positive durations or
        rates, rates not compatible with the dead times, empty MAGIC window).
    MissingPackageError
        If ctapipe or lstchain (the ``simulate`` extra) is not installed.
    """
    validate(config)
    prepare_libraries()
    out = Path(out_dir)
    magic_dir = out / "magic"
    magic_dir.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(config.seed)
    stream = simulate_events(config, rng)
    lst = lst_columns(stream, config, rng)
    magic_cols = magic_columns(stream, config, rng)

    from lstchain.paths import run_to_dl1_filename

    lst_file = out / run_to_dl1_filename(1, config.lst_obs_id, config.lst_subrun)
    write_lst_file(lst_file, lst.columns, config.lst_subarray, rng if config.images else None)

    for stale in magic_dir.glob(f"dl1_M[12].Run{config.magic_obs_id:08}.*.h5"):
        stale.unlink()
    magic_files = sorted(write_magic_files(magic_dir, magic_cols, stream, config, rng))

    pairs = true_pairs(stream, lst, magic_cols)
    live = live_time(stream, config)
    extra = {
        "lst_file": lst_file.name,
        "magic_files": [p.name for p in magic_files],
        "clock_reference_unix_ns": clock_reference_ns(config, stream.t0_ns),
        "clock_steps": clock_steps_truth(config, stream.t0_ns),
    }
    pairs_path, truth_path = write_truth(out / "truth", pairs, live, config, extra)
    return SimulatedFiles(
        lst_file=lst_file,
        magic_dir=magic_dir,
        magic_files=magic_files,
        true_offset_ns=int(config.true_offset_ns),
        n_common=count_common(pairs),
        true_pairs=pairs_path,
        truth_file=truth_path,
        live_time=live,
    )
