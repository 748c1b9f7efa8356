"""Simulate LST-1 and MAGIC DL1 files in the real on-disk formats.

One stream of air showers is drawn in "true" time; MAGIC records the stereo
showers (M1 and M2 share the stereo event id), LST-1 a large fraction of the
bright ones plus LST-only triggers and interleaved calibration events. The
files are written with the very writers of the real pipelines (lstchain,
ctapipe's ``HDF5TableWriter``, magic-cta-pipe's containers), so that table
layout, dtypes, attributes and compression filters are those of real data.

Timestamps
----------
Each system reads the true shower time plus a Gaussian jitter (20 ns rms)
rounded to its 100 ns clock grid. The LST grid (``dragon_time``) has a
run-specific ns phase, as the dragon time of ``ctapipe_io_lst`` is the 1 ns UCTS
timestamp of the run's first event plus multiples of the 100 ns counter. As in
``ctapipe_io_lst`` the integer TAI nanoseconds are turned into an
``astropy.time.Time`` (``format="unix_tai"``, seconds + fraction) whose
``.unix`` float64 is stored: (almost always) the float64 nearest to the exact
UTC UNIX time, whose spacing is 238 ns at 1.7e9 s. Read it back with
``Decimal(str(x)) * 10**9`` as the reference does. ``ucts_time`` and
``tib_time`` are set equal to ``dragon_time`` (lstchain 0.12 writes 0 there;
older lstchain wrote real UCTS/TIB times). MAGIC timestamps are on the absolute
100 ns grid (``ctapipe_io_magic`` rounds ``MTime.fNanoSec`` to 1e-7 s) and
stored exactly as integer ``time_sec`` / ``time_nanosec``.

Truth
-----
Beside the files, ``truth/true_pairs.parquet`` lists the pairs a correct
coincidence can find and ``truth/truth.json`` the clock, counts and live
time; :func:`lmcoinc.simulate.truth.recall_purity` scores found pairs.

Modules
-------
``config`` parameters; ``events`` showers, triggers, dead times; ``clocks``
offset, drift, jitter; ``pointing`` pointing and geometric delay; ``lst`` /
``magic`` the table contents; ``lst_writer`` / ``magic_writer`` the files
(with ``instrument``, ``images``, ``tablewriter``); ``truth`` and
``livetime`` what a correct coincidence finds; ``subrun`` one subrun;
``night`` consecutive subruns; ``merge`` merged run files. Importing this
package costs numpy only: ctapipe, lstchain and astropy are imported when
files are written (install them with ``pip install 'lmcoinc[simulate]'``).
"""

from __future__ import annotations

from .config import SimulationConfig
from .livetime import LiveTime
from .merge import merge_lst_files
from .night import NightFiles, simulate_night
from .subrun import SimulatedFiles, simulate

__all__ = [
    "LiveTime",
    "NightFiles",
    "SimulatedFiles",
    "SimulationConfig",
    "merge_lst_files",
    "simulate",
    "simulate_night",
]
