"""Simulate LST-1 and MAGIC DL1 subrun files in the real on-disk formats.

One stream of air showers is drawn in "true" time. MAGIC records the stereo
showers (M1 and M2 share the stereo event id), LST-1 records a large fraction
of the bright ones plus many LST-only triggers and its interleaved calibration
events. Each system applies its own (non-paralysable) dead time and its own
clock: the MAGIC clock runs ``true_offset_ns`` ahead of the LST clock, i.e.
``t_MAGIC = t_LST + true_offset_ns`` for the same shower.

The files are written with the very writers of the real pipelines, so that the
table layout, column dtypes, column/table attributes and compression filters
are those of real data:

* LST-1: as ``lstchain_data_r0_to_dl1`` of lstchain 0.12 does it — global
  metadata in the root attributes, ``SubarrayDescription.to_hdf`` of
  ``LSTEventSource.create_subarray(tel_id=1)``, and a ctapipe
  ``HDF5TableWriter`` (group ``dl1/event``, ``HDF5_ZSTD_FILTERS``, lstchain's
  ``setup_writer`` column exclusions) writing
  ``[EventIndexContainer, DL1ParametersContainer]`` rows to
  ``/dl1/event/telescope/parameters/LST_LSTCam`` (and optionally the images to
  ``/dl1/event/telescope/image/LST_LSTCam``).
* MAGIC: as magic-cta-pipe's ``magic_calib_to_dl1`` does it — a ctapipe
  ``HDF5TableWriter(group_name="events", add_prefix=True)`` writing
  ``(RealEventInfoContainer, hillas, timing, leakage, concentration)`` rows to
  ``/events/parameters`` (optionally ``/events/dl1/image``), then the
  "MAGIC-LST-Array" ``SubarrayDescription``.

To stay fast, the writers are only used for a first, real (template) row that
creates each table with its schema and attributes; the table is then truncated
and all simulated rows are appended at once as a structured array with the same
dtype.

Content
-------
LST-1: showers (``event_type`` 32, ~1 % of them with a failed parametrization:
NaN intensity and/or time_gradient), interleaved pedestal (2) and flat-field (0)
events at 100 Hz each, consecutive event ids with one id given to two
consecutive shower triggers. MAGIC: stereo showers at the configured rate;
~5 % of them lost by the cleaning in one telescope (row absent from that file).
Image parameters follow plausible distributions (power-law intensities, shapes
growing with intensity); the LST intensity of a shower seen by MAGIC grows with
its MAGIC intensity, and the brighter a MAGIC shower the likelier LST-1 triggers.

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
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SimulationConfig", "SimulatedFiles", "simulate"]

#: PyTables path of the LST-1 DL1 parameters table
LST_PARAMETERS_KEY = "/dl1/event/telescope/parameters/LST_LSTCam"
#: PyTables path of the LST-1 DL1 image table
LST_IMAGES_KEY = "/dl1/event/telescope/image/LST_LSTCam"
#: PyTables path of the MAGIC DL1 parameters table
MAGIC_PARAMETERS_KEY = "/events/parameters"
#: PyTables path of the MAGIC DL1 image table
MAGIC_IMAGES_KEY = "/events/dl1/image"

# --- ctapipe EventType values used by lstchain's event_type column ---------
_EVENT_TYPE_FLATFIELD = 0
_EVENT_TYPE_PEDESTAL = 2
_EVENT_TYPE_SHOWER = 32
# --- LST TIB trigger bits (ctapipe_io_lst.constants.TriggerBits) -----------
_TIB_MONO = 1
_TIB_CALIBRATION = 4
_TIB_PEDESTAL = 32

_LST_N_PIXELS = 1855
_MAGIC_N_PIXELS = 1039
_LST_FOCAL_LENGTH_M = 28.0  # equivalent focal length used by lstchain for deg <-> m
_MAGIC_FOCAL_LENGTH_M = 17 * 1.0713  # effective focal length of ctapipe_io_magic's CameraFrame
_MAGIC_TELS = (2, 3)  # tel_id of MAGIC-I and MAGIC-II in the MAGIC-LST-Array
_MAGIC_TELS_WITH_TRIGGER = 2**2 + 2**3  # stereo trigger [M1, M2] encoded as magic_calib_to_dl1

_LST_INTERLEAVED_RATE_HZ = 100.0  # pedestal and flat-field, each
_MAGIC_INTERLEAVED_RATE_HZ = 25.0  # pedestal and calibration, each (dead time, time_diff only)
_LST_JITTER_NS = 20.0
_MAGIC_JITTER_NS = 20.0
_CLOCK_GRID_NS = 100
_INTEGRAL_INDEX = 1.7  # integral index of the shower size distribution (power law)
_MAGIC_IMAGE_LOSS = 0.05  # fraction of stereo events without image in one telescope
_LST_FAILED_FRACTION = 0.01  # fraction of shower rows with failed parametrization
_CHUNK_ROWS = 100_000
_IMAGE_CHUNK_ROWS = 1_000


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of a simulated LST-1 subrun with the overlapping MAGIC data.

    Attributes
    ----------
    duration_s : float
        Length of the LST-1 subrun in seconds.
    true_offset_ns : int
        MAGIC clock minus LST clock: ``t_MAGIC = t_LST + true_offset_ns``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same config gives identical tables.
    lst_rate_hz : float
        Total LST-1 trigger rate after dead time (showers and interleaved events).
    magic_stereo_rate_hz : float
        MAGIC stereo shower trigger rate after dead time.
    lst_dead_time_ns : int
        LST-1 dead time after each accepted trigger.
    magic_dead_time_ns : int
        MAGIC dead time after each accepted trigger.
    magic_start_delay_s : float
        Start of the MAGIC data relative to the LST subrun start (negative:
        MAGIC starts before the LST subrun, positive: after LST began).
    magic_extra_s : float
        MAGIC data continue this long after the LST subrun end.
    magic_subrun_s : float
        Length of one MAGIC subrun file.
    lst_obs_id : int
        LST-1 run number.
    lst_subrun : int
        LST-1 subrun number.
    magic_obs_id : int
        MAGIC run number.
    start_unix_s : float
        LST subrun start in UNIX seconds (UTC).
    images : bool
        Also write the DL1 images (small runs only).
    lst_subarray : bool
        Write the subarray description to the LST file; ``False`` mimics old
        lstchain (< 0.10) files: only the optics table is written.
    """

    duration_s: float = 10.0
    true_offset_ns: int = -3200
    seed: int = 0
    lst_rate_hz: float = 5000.0
    magic_stereo_rate_hz: float = 250.0
    lst_dead_time_ns: int = 7600
    magic_dead_time_ns: int = 26000
    magic_start_delay_s: float = -1.0
    magic_extra_s: float = 1.0
    magic_subrun_s: float = 4.0
    lst_obs_id: int = 3265
    lst_subrun: int = 40
    magic_obs_id: int = 5093711
    start_unix_s: float = 1700000000.0
    images: bool = False
    lst_subarray: bool = True


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
        intensity and time_gradient, unique event id) and a row in at least one
        MAGIC file: the pairs a correct coincidence search can find (besides
        accidental ones).
    """

    lst_file: Path
    magic_dir: Path
    magic_files: list[Path]
    true_offset_ns: int
    n_common: int


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------
def simulate(out_dir: Path | str, config: SimulationConfig = SimulationConfig()) -> SimulatedFiles:
    """Simulate one LST-1 DL1 subrun file and the overlapping MAGIC DL1 subrun files.

    Parameters
    ----------
    out_dir : pathlib.Path or str
        Output directory (created if needed). The LST file is written into it,
        the MAGIC files into its subdirectory ``magic``. Existing files of the
        same names are replaced, stale MAGIC files of the same MAGIC run are removed.
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
    """
    _validate(config)
    out = Path(out_dir)
    magic_dir = out / "magic"
    magic_dir.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(config.seed)
    sim = _simulate_events(config, rng)
    lst_cols = _lst_columns(sim, config, rng)
    magic_cols = _magic_columns(sim, config, rng)

    from lstchain.paths import run_to_dl1_filename

    lst_file = out / run_to_dl1_filename(1, config.lst_obs_id, config.lst_subrun)
    _write_lst_file(lst_file, lst_cols, config, rng if config.images else None)

    for stale in magic_dir.glob(f"dl1_M[12].Run{config.magic_obs_id:08}.*.h5"):
        stale.unlink()
    magic_files = _write_magic_files(magic_dir, magic_cols, sim, config, rng)

    return SimulatedFiles(
        lst_file=lst_file,
        magic_dir=magic_dir,
        magic_files=sorted(magic_files),
        true_offset_ns=int(config.true_offset_ns),
        n_common=int(sim["n_common"]),
    )


def _validate(config: SimulationConfig) -> None:
    if not config.duration_s > 0:
        raise ValueError("duration_s must be positive")
    if not config.magic_subrun_s > 0:
        raise ValueError("magic_subrun_s must be positive")
    if config.lst_rate_hz < 0 or config.magic_stereo_rate_hz < 0:
        raise ValueError("trigger rates must not be negative")
    if config.lst_dead_time_ns < 0 or config.magic_dead_time_ns < 0:
        raise ValueError("dead times must not be negative")
    if config.lst_rate_hz * config.lst_dead_time_ns * 1e-9 >= 1:
        raise ValueError("lst_rate_hz is not reachable with lst_dead_time_ns")
    magic_total = config.magic_stereo_rate_hz + 2 * _MAGIC_INTERLEAVED_RATE_HZ
    if magic_total * config.magic_dead_time_ns * 1e-9 >= 1:
        raise ValueError("magic_stereo_rate_hz is not reachable with magic_dead_time_ns")
    if config.duration_s + config.magic_extra_s <= config.magic_start_delay_s:
        raise ValueError("the MAGIC data window is empty")


# ---------------------------------------------------------------------------
# event stream
# ---------------------------------------------------------------------------
def _ns(seconds: float) -> int:
    """Seconds (float) to integer nanoseconds through the shortest decimal repr."""
    return int((Decimal(repr(float(seconds))) * 10**9).to_integral_value())


def _dead_time_mask(t: np.ndarray, dead_ns: int) -> np.ndarray:
    """Accepted triggers of a sorted time series with a non-paralysable dead time.

    A trigger is dropped when it falls within ``dead_ns`` of the previous
    *accepted* trigger. Only triggers closer than ``dead_ns`` to their raw
    predecessor can be dropped, so the loop runs over those few only.
    """
    keep = np.ones(t.size, dtype=bool)
    if t.size < 2 or dead_ns <= 0:
        return keep
    close = (np.flatnonzero(np.diff(t) < dead_ns) + 1).tolist()
    times = t.tolist()
    ref = None  # time of the last accepted trigger before the current one
    prev = -2
    for i in close:
        if i - 1 != prev or keep[prev]:
            ref = times[i - 1]
        if times[i] - ref < dead_ns:
            keep[i] = False
        prev = i
    return keep


def _periodic(rng: np.random.Generator, rate_hz: float, lo: int, hi: int) -> np.ndarray:
    """Periodic trigger times (int64 ns) in [lo, hi) with a random phase."""
    period = int(round(1e9 / rate_hz))
    phase = int(rng.integers(0, period))
    return np.arange(lo + phase, hi, period, dtype=np.int64)


def _grid(t: np.ndarray, phase_ns: int = 0) -> np.ndarray:
    """Round float ns times to the 100 ns clock grid ``phase_ns + k * 100`` (int64)."""
    k = np.rint((t - phase_ns) / _CLOCK_GRID_NS).astype(np.int64)
    return k * _CLOCK_GRID_NS + phase_ns


def _lst_clock_phase(t0_ns: int, obs_id: int) -> int:
    """Phase (ns, relative to ``t0_ns``) of the LST-1 100 ns clock grid of a run.

    ``ctapipe_io_lst`` computes the dragon time as the UCTS (White Rabbit, 1 ns)
    timestamp of the run's first event plus multiples of the 100 ns counter, so
    the grid has a run-specific ns phase (drawn from the run number here).
    """
    phase_abs = int(np.random.default_rng(obs_id).integers(0, _CLOCK_GRID_NS))
    return (phase_abs - t0_ns) % _CLOCK_GRID_NS


def _lst_trigger_probability(log_size: np.ndarray) -> np.ndarray:
    """Probability that LST-1 also triggers on a MAGIC stereo shower (bright ones favoured)."""
    return 0.93 / (1.0 + np.exp(-(log_size - 0.12) / 0.07))


def _simulate_events(config: SimulationConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Draw the shower stream and the triggers of both systems (times in ns from the LST start)."""
    dur = _ns(config.duration_s)
    m_lo = _ns(config.magic_start_delay_s)
    m_hi = dur + _ns(config.magic_extra_s)
    t_lo, t_hi = min(0, m_lo), max(dur, m_hi)

    # MAGIC stereo showers (raw, before dead time) over the whole window
    tau_m = config.magic_dead_time_ns * 1e-9
    r_m_tot = config.magic_stereo_rate_hz + 2 * _MAGIC_INTERLEAVED_RATE_HZ
    lam_m_tot = r_m_tot / (1.0 - r_m_tot * tau_m)
    lam_m = lam_m_tot * config.magic_stereo_rate_hz / r_m_tot
    n_sh = int(rng.poisson(lam_m * (t_hi - t_lo) * 1e-9))
    sh_t = np.sort(rng.integers(t_lo, t_hi, n_sh, dtype=np.int64))
    sh_log_size = rng.exponential(1.0 / (_INTEGRAL_INDEX * math.log(10)), n_sh)
    p_lst = _lst_trigger_probability(sh_log_size)
    sh_lst = rng.random(n_sh) < p_lst

    # LST raw triggers: common showers, LST-only showers, interleaved events
    tau_l = config.lst_dead_time_ns * 1e-9
    lam_l = config.lst_rate_hz / (1.0 - config.lst_rate_hz * tau_l)
    lam_common = lam_m * float(p_lst.mean()) if n_sh else 0.0
    lam_only = max(lam_l - lam_common - 2 * _LST_INTERLEAVED_RATE_HZ, 0.0)
    n_only = int(rng.poisson(lam_only * dur * 1e-9))
    only_t = rng.integers(0, dur, n_only, dtype=np.int64)
    ped_t = _periodic(rng, _LST_INTERLEAVED_RATE_HZ, 0, dur)
    ff_t = _periodic(rng, _LST_INTERLEAVED_RATE_HZ, 0, dur)
    common_idx = np.flatnonzero(sh_lst & (sh_t >= 0) & (sh_t < dur))

    # kind: 0 common shower, 1 LST-only shower, 2 pedestal, 3 flat-field
    l_t = np.concatenate([sh_t[common_idx], only_t, ped_t, ff_t])
    l_kind = np.concatenate(
        [
            np.zeros(common_idx.size, np.int8),
            np.ones(n_only, np.int8),
            np.full(ped_t.size, 2, np.int8),
            np.full(ff_t.size, 3, np.int8),
        ]
    )
    l_shower = np.concatenate([common_idx, np.full(l_t.size - common_idx.size, -1)])
    order = np.argsort(l_t, kind="stable")
    l_t, l_kind, l_shower = l_t[order], l_kind[order], l_shower[order]
    keep = _dead_time_mask(l_t, config.lst_dead_time_ns)
    l_t, l_kind, l_shower = l_t[keep], l_kind[keep], l_shower[keep]

    # MAGIC triggers: showers in the MAGIC window plus interleaved events
    in_m = np.flatnonzero((sh_t >= m_lo) & (sh_t < m_hi))
    mped_t = _periodic(rng, _MAGIC_INTERLEAVED_RATE_HZ, m_lo, m_hi)
    mcal_t = _periodic(rng, _MAGIC_INTERLEAVED_RATE_HZ, m_lo, m_hi)
    m_t = np.concatenate([sh_t[in_m], mped_t, mcal_t])
    m_shower = np.concatenate([in_m, np.full(mped_t.size + mcal_t.size, -1)])
    order = np.argsort(m_t, kind="stable")
    m_t, m_shower = m_t[order], m_shower[order]
    keep = _dead_time_mask(m_t, config.magic_dead_time_ns)
    m_t, m_shower = m_t[keep], m_shower[keep]

    # clocks: 100 ns grids with a small jitter; MAGIC carries the offset
    t0_ns = _ns(config.start_unix_s) // _CLOCK_GRID_NS * _CLOCK_GRID_NS
    l_phase = _lst_clock_phase(t0_ns, config.lst_obs_id)
    l_stamp = _grid(l_t + rng.normal(0.0, _LST_JITTER_NS, l_t.size), l_phase)
    m_stamp_all = _grid(m_t + config.true_offset_ns + rng.normal(0.0, _MAGIC_JITTER_NS, m_t.size))
    # MRawEvtHeader.fTimeDiff: time since the previous event of any type
    m_diff_all = np.diff(m_stamp_all, prepend=m_stamp_all[:1]) * 1e-9
    cosmic = m_shower >= 0
    m_stamp, m_diff, m_sh = m_stamp_all[cosmic], m_diff_all[cosmic], m_shower[cosmic]

    # image lost by the cleaning in one telescope (row absent from that file)
    n_m = m_sh.size
    lost = np.zeros(n_m, np.int8)
    lose = rng.random(n_m) < _MAGIC_IMAGE_LOSS
    lost[lose] = rng.integers(1, 3, int(lose.sum()))

    return {
        "t0_ns": t0_ns,
        "magic_lo": m_lo,
        "magic_hi": m_hi,
        "sh_log_size": sh_log_size,
        "l_true": l_t,
        "l_stamp": l_stamp,
        "l_kind": l_kind,
        "l_shower": l_shower,
        "m_true": m_t[cosmic],
        "m_stamp": m_stamp,
        "m_diff": m_diff,
        "m_shower": m_sh,
        "m_lost": lost,
    }


# ---------------------------------------------------------------------------
# column contents
# ---------------------------------------------------------------------------
def _pointing(t_ns: np.ndarray, alt_shift: float, az_shift: float) -> tuple[np.ndarray, ...]:
    """Telescope pointing (alt, az in rad) tracking a source around alt 1.2 rad."""
    t_s = t_ns * 1e-9
    alt = 1.2 + 2.5e-5 * t_s + alt_shift
    az = 3.3 + 8.0e-5 * t_s + az_shift
    return alt, az


def _shower_shapes(
    rng: np.random.Generator, intensity: np.ndarray, r_max_m: float
) -> dict[str, np.ndarray]:
    """Hillas-like image parameters drawn around plausible values for the given intensities.

    Returns x, y, r (m), phi, psi (rad), length, width and uncertainties
    (deg, angular), skewness, kurtosis, leakage, concentration, n_pixels,
    n_islands.
    """
    n = intensity.size
    lg = np.log10(intensity)
    length = 10 ** rng.normal(np.log10(0.10) + 0.15 * (lg - 2.0), 0.12)
    wl = np.clip(rng.beta(2.5, 3.0, n), 0.08, 1.0)
    width = length * wl
    rad = r_max_m * np.sqrt(rng.random(n))
    ang = rng.uniform(-np.pi, np.pi, n)
    x, y = rad * np.cos(ang), rad * np.sin(ang)
    edge = np.clip((rad / r_max_m - 0.7) / 0.3, 0.0, 1.0)
    leak1 = np.where(rng.random(n) < 0.1 + 0.8 * edge, rng.beta(0.8, 6.0, n) * (0.2 + edge), 0.0)
    leak2 = np.minimum(leak1 + np.where(leak1 > 0, rng.beta(1.0, 5.0, n) * 0.3, 0.0), 1.0)
    n_pixels = np.round(4 + 1.5 * intensity**0.55 * rng.lognormal(0.0, 0.15, n)).astype(np.int64)
    pix1 = np.where(leak1 > 0, np.ceil(leak1 * n_pixels) / n_pixels, 0.0)
    pix2 = np.where(leak2 > 0, np.minimum(np.ceil(leak2 * n_pixels * 1.5) / n_pixels, 1.0), 0.0)
    conc_pixel = np.clip(0.22 * (intensity / 50.0) ** -0.2 * rng.lognormal(0.0, 0.3, n), 0.01, 0.8)
    conc_cog = np.clip(conc_pixel * rng.uniform(1.5, 2.6, n), 0.0, 1.0)
    conc_core = np.clip(rng.beta(5.0, 4.0, n) * 0.9, 0.05, 0.95)
    return {
        "x": x,
        "y": y,
        "r": rad,
        "phi": np.arctan2(y, x),
        "psi": rng.uniform(-np.pi / 2, np.pi / 2, n),
        "length": length,
        "width": width,
        "length_uncertainty": length * rng.uniform(0.5, 1.5, n) / np.sqrt(intensity),
        "width_uncertainty": width * rng.uniform(0.5, 1.5, n) / np.sqrt(intensity),
        "skewness": rng.normal(0.0, 0.35, n),
        "kurtosis": 1.8 + rng.gamma(2.0, 0.4, n),
        "leakage_intensity_width_1": leak1,
        "leakage_intensity_width_2": leak2,
        "leakage_pixels_width_1": pix1,
        "leakage_pixels_width_2": pix2,
        "concentration_cog": conc_cog,
        "concentration_core": conc_core,
        "concentration_pixel": conc_pixel,
        "n_pixels": n_pixels,
        "n_islands": 1 + rng.poisson(0.3, n).astype(np.int64),
    }


def _lst_columns(
    sim: dict[str, Any], config: SimulationConfig, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Column arrays of the LST-1 parameters table (one row per accepted trigger)."""
    kind, shower = sim["l_kind"], sim["l_shower"]
    n = kind.size
    is_sh = kind <= 1
    n_sh = int(is_sh.sum())

    # intensities: common showers from the shower size, LST-only from a power law
    intensity = np.full(n, np.nan)
    common = kind == 0
    intensity[common] = (
        120.0 * 10 ** sim["sh_log_size"][shower[common]] * 10 ** rng.normal(0.0, 0.25, common.sum())
    )
    only = kind == 1
    e = rng.exponential(1.0 / (_INTEGRAL_INDEX * math.log(10)), only.sum())
    intensity[only] = 35.0 * 10**e * 10 ** rng.normal(0.0, 0.1, only.sum())
    intensity[is_sh] = np.minimum(intensity[is_sh], 3e5)

    cols: dict[str, np.ndarray] = {}
    shapes = _shower_shapes(rng, intensity[is_sh], r_max_m=0.95)
    float_names = [k for k in shapes if k not in ("n_pixels", "n_islands")]
    for name in float_names:
        cols[name] = np.full(n, np.nan)
        cols[name][is_sh] = shapes[name]
    for name in ("n_pixels", "n_islands"):
        cols[name] = np.full(n, -1, np.int64)
        cols[name][is_sh] = shapes[name]
    time_gradient = np.full(n, np.nan)
    intercept = np.full(n, np.nan)
    time_gradient[is_sh] = rng.normal(0.0, 5.0, n_sh)
    intercept[is_sh] = rng.normal(19.0, 2.0, n_sh)

    # flat-field events: the whole camera, uniformly illuminated
    ff = np.flatnonzero(kind == 3)
    nff = ff.size
    intensity[ff] = rng.normal(_LST_N_PIXELS * 80.0, 2000.0, nff)
    ff_vals = {
        "x": rng.normal(0.0, 0.004, nff),
        "y": rng.normal(0.0, 0.004, nff),
        "length": rng.normal(1.02, 0.005, nff),
        "width": rng.normal(0.99, 0.005, nff),
        "length_uncertainty": np.full(nff, 1e-3),
        "width_uncertainty": np.full(nff, 1e-3),
        "psi": rng.uniform(-np.pi / 2, np.pi / 2, nff),
        "skewness": rng.normal(0.0, 0.01, nff),
        "kurtosis": rng.normal(2.1, 0.01, nff),
        "leakage_intensity_width_1": rng.normal(0.118, 0.002, nff),
        "leakage_intensity_width_2": rng.normal(0.228, 0.002, nff),
        "leakage_pixels_width_1": np.full(nff, 0.1181),
        "leakage_pixels_width_2": np.full(nff, 0.2275),
        "concentration_cog": rng.normal(0.0023, 0.0001, nff),
        "concentration_core": rng.normal(0.33, 0.005, nff),
        "concentration_pixel": rng.normal(0.0007, 0.00005, nff),
    }
    ff_vals["r"] = np.hypot(ff_vals["x"], ff_vals["y"])
    ff_vals["phi"] = np.arctan2(ff_vals["y"], ff_vals["x"])
    for name, val in ff_vals.items():
        cols[name][ff] = val
    cols["n_pixels"][ff] = _LST_N_PIXELS - rng.poisson(4, nff)
    cols["n_islands"][ff] = 1
    time_gradient[ff] = rng.normal(0.0, 0.2, nff)
    intercept[ff] = rng.normal(19.0, 0.3, nff)

    # pedestal events: mostly nothing survives the cleaning, sometimes a small NSB island
    ped = np.flatnonzero(kind == 2)
    island = ped[rng.random(ped.size) < 0.15]
    ni = island.size
    intensity[island] = rng.uniform(12.0, 40.0, ni)
    small = _shower_shapes(rng, intensity[island], r_max_m=1.0)
    for name in float_names:
        cols[name][island] = small[name]
    cols["n_pixels"][island] = rng.integers(3, 7, ni)
    cols["n_islands"][island] = 1
    time_gradient[island] = rng.normal(0.0, 20.0, ni)
    intercept[island] = rng.uniform(5.0, 35.0, ni)

    # failed parametrization of faint showers: ~70 % nothing survives, ~30 % no timing fit
    sh_idx = np.flatnonzero(is_sh)
    faint = sh_idx[intensity[sh_idx] < np.median(intensity[sh_idx])] if n_sh else sh_idx
    fail = faint[rng.random(faint.size) < 2 * _LST_FAILED_FRACTION]
    no_pix = fail[rng.random(fail.size) < 0.7]
    for name in float_names:
        cols[name][no_pix] = np.nan
    intensity[no_pix] = np.nan
    cols["n_pixels"][no_pix] = -1
    cols["n_islands"][no_pix] = -1
    time_gradient[fail] = np.nan
    intercept[fail] = np.nan

    cols["intensity"] = intensity
    cols["log_intensity"] = np.log10(intensity)
    cols["wl"] = cols["width"] / cols["length"]
    cols["time_gradient"] = time_gradient
    cols["intercept"] = intercept
    for name in ("leakage_intensity_width_1", "leakage_intensity_width_2"):
        cols[name] = cols[name].astype(np.float32)

    # event ids: consecutive, with one id repeated by two consecutive shower triggers
    first_id = config.lst_subrun * int(round(config.lst_rate_hz * config.duration_s)) + 1
    event_id = first_id + np.arange(n, dtype=np.int64)
    pairs = np.flatnonzero(is_sh[1:] & is_sh[:-1]) + 1
    pairs = pairs[(pairs > n // 10) & (pairs < n - n // 10)]
    dup = int(pairs[rng.integers(0, pairs.size)]) if pairs.size else -1
    if dup > 0:
        event_id[dup:] -= 1
    cols["obs_id"] = np.full(n, config.lst_obs_id, np.int64)
    cols["event_id"] = event_id

    # timestamps and pointing
    time = _lst_unix_times(sim["t0_ns"] + sim["l_stamp"])
    cols["dragon_time"] = time
    cols["ucts_time"] = time
    cols["tib_time"] = time
    cols["trigger_time"] = time
    alt, az = _pointing(sim["l_true"], 1.5e-5, -2.0e-5)
    cols["alt_tel"] = alt
    cols["az_tel"] = az
    cols["sin_az_tel"] = np.sin(az)
    event_type = np.full(n, _EVENT_TYPE_SHOWER, np.int64)
    event_type[kind == 2] = _EVENT_TYPE_PEDESTAL
    event_type[kind == 3] = _EVENT_TYPE_FLATFIELD
    cols["event_type"] = event_type
    trig = np.full(n, _TIB_MONO, np.uint8)
    trig[kind == 2] = _TIB_PEDESTAL
    trig[kind == 3] = _TIB_CALIBRATION
    cols["trigger_type"] = trig
    cols["ucts_trigger_type"] = trig.copy()

    # ground truth: usable LST rows of common showers
    usable = (
        common
        & np.isfinite(intensity)
        & np.isfinite(time_gradient)
        & ~np.isin(np.arange(n), [dup - 1, dup])
    )
    sim["lst_usable_showers"] = shower[usable]
    sim["lst_dup_rows"] = (dup - 1, dup)
    return cols


def _lst_unix_times(utc_ns: np.ndarray) -> np.ndarray:
    """UNIX float64 seconds as ``ctapipe_io_lst`` computes ``event.trigger.time.unix``.

    The integer UTC ns are shifted to TAI, split into seconds and fraction,
    turned into ``Time(sec, frac, format="unix_tai")`` and read back as ``.unix``.
    """
    from astropy.time import Time

    if utc_ns.size == 0:
        return np.zeros(0)
    t_ref = Time(int(utc_ns[0] // 10**9), format="unix")
    leap_s = int(round(float(t_ref.unix_tai - t_ref.unix)))
    tai_ns = utc_ns + leap_s * 10**9
    seconds, nanoseconds = np.divmod(tai_ns, 10**9)
    t = Time(seconds.astype(np.float64), nanoseconds.astype(np.float64) / 1e9, format="unix_tai")
    return np.asarray(t.unix, dtype=np.float64)


def _magic_columns(
    sim: dict[str, Any], config: SimulationConfig, rng: np.random.Generator
) -> dict[int, dict[str, np.ndarray]]:
    """Column arrays of the MAGIC parameters tables, per tel_id (2: M1, 3: M2)."""
    sh = sim["m_shower"]
    n = sh.size
    event_id = np.arange(1, n + 1, dtype=np.int64)
    abs_ns = sim["t0_ns"] + sim["m_stamp"]
    time_sec, time_nanosec = np.divmod(abs_ns, 10**9)
    log_size = sim["sh_log_size"][sh]
    out: dict[int, dict[str, np.ndarray]] = {}
    for i_tel, tel_id in enumerate(_MAGIC_TELS):
        gain = (80.0, 85.0)[i_tel]
        intensity = gain * 10**log_size * 10 ** rng.normal(0.0, 0.12, n)
        shapes = _shower_shapes(rng, intensity, r_max_m=0.45)
        cols: dict[str, np.ndarray] = {}
        cols["obs_id"] = np.full(n, config.magic_obs_id, np.uint64)
        cols["event_id"] = event_id
        cols["tel_id"] = np.full(n, tel_id, np.int64)
        alt, az = _pointing(sim["m_true"], (0.0, 4e-5)[i_tel], (3e-5, -1e-5)[i_tel])
        cols["pointing_alt"] = alt
        cols["pointing_az"] = az
        cols["n_pixels"] = np.round(3 + 1.2 * intensity**0.55).astype(np.int64)
        cols["n_islands"] = shapes["n_islands"]
        cols["tels_with_trigger"] = np.full(n, _MAGIC_TELS_WITH_TRIGGER, np.int64)
        cols["time_sec"] = time_sec
        cols["time_nanosec"] = time_nanosec
        cols["time_diff"] = sim["m_diff"]
        cols["intensity"] = intensity
        cols["skewness"] = shapes["skewness"]
        cols["kurtosis"] = shapes["kurtosis"]
        cols["x"] = shapes["x"]
        cols["y"] = shapes["y"]
        cols["r"] = shapes["r"]
        cols["phi"] = np.rad2deg(shapes["phi"])
        for name in ("length", "length_uncertainty", "width", "width_uncertainty"):
            cols[name] = _MAGIC_FOCAL_LENGTH_M * np.tan(np.deg2rad(shapes[name]))
        cols["psi"] = np.rad2deg(shapes["psi"])
        cols["psi_uncertainty"] = rng.uniform(0.5, 5.0, n) / np.sqrt(intensity / 100.0)
        cols["transverse_cog_uncertainty"] = cols["width_uncertainty"] * 1.2
        cols["intercept"] = rng.normal(28.0, 3.0, n)
        cols["deviation"] = rng.gamma(2.0, 0.5, n)
        cols["slope"] = rng.normal(0.0, 15.0, n)
        for name in ("pixels_width_1", "pixels_width_2", "intensity_width_1", "intensity_width_2"):
            cols[name] = shapes[f"leakage_{name}"]
        for name in ("cog", "core", "pixel"):
            cols[f"concentration_{name}"] = shapes[f"concentration_{name}"]
        keep = sim["m_lost"] != i_tel + 1
        out[tel_id] = {k: v[keep] for k, v in cols.items()}

    seen = np.zeros(sim["sh_log_size"].size, dtype=bool)
    seen[sh] = True  # lost in at most one telescope: always in at least one file
    sim["n_common"] = int(seen[sim["lst_usable_showers"]].sum())
    return out


# ---------------------------------------------------------------------------
# writing helpers
# ---------------------------------------------------------------------------
def _template_table(
    writer: Any, group: str, table_name: str, containers: list[Any]
) -> tuple[Any, np.void]:
    """Create a table with the real writer (one template row), then empty it.

    Returns the PyTables table ``/{group}/{table_name}`` and the template row
    (used for the columns that the simulation does not fill).
    """
    level = writer.log.level
    writer.log.setLevel(logging.ERROR)  # "Found duplicated column ..." as in every lstchain run
    try:
        writer.write(table_name=table_name, containers=containers)
    finally:
        writer.log.setLevel(level)
    table = writer.h5file.get_node(f"/{group}/{table_name}")
    table.flush()
    template = table[0]
    table.truncate(0)
    return table, template


def _append_columns(
    table: Any, template: np.void, cols: dict[str, np.ndarray], n: int, chunk: int = _CHUNK_ROWS
) -> None:
    """Append ``n`` rows given as column arrays; missing columns repeat the template value."""
    unknown = set(cols) - set(table.colnames)
    if unknown:
        raise KeyError(f"columns not in table {table._v_pathname}: {sorted(unknown)}")
    dtype = table.dtype
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = np.empty(stop - start, dtype=dtype)
        for name in dtype.names:
            if name in cols:
                rows[name] = cols[name][start:stop]
            else:
                rows[name] = template[name]
        table.append(rows)
    table.flush()


@functools.lru_cache(maxsize=1)
def _magic_container_classes() -> tuple[type, type]:
    """``BaseEventInfoContainer``/``RealEventInfoContainer`` as in magicctapipe.io.containers."""
    from astropy import units as u
    from ctapipe.core import Container, Field

    default_value = -1

    class BaseEventInfoContainer(Container):
        """Base container to store event information"""

        obs_id = Field(default_value, "Observation ID")
        event_id = Field(default_value, "Event ID")
        tel_id = Field(default_value, "Telescope ID")
        pointing_alt = Field(np.nan * u.rad, "Altitude of the pointing direction", unit="rad")
        pointing_az = Field(np.nan * u.rad, "Azimuth of the pointing direction", unit="rad")
        n_pixels = Field(default_value, "Number of pixels after the image cleaning")
        n_islands = Field(default_value, "Number of islands after the image cleaning")
        tels_with_trigger = Field(
            None, "Integer indicating the combination of telescopes that triggered"
        )

    class RealEventInfoContainer(BaseEventInfoContainer):
        """Container to store real event information"""

        time_sec = Field(np.nan * u.s, "Seconds of the event trigger time", unit="s")
        time_nanosec = Field(np.nan * u.ns, "Nanoseconds of the event trigger time", unit="ns")
        time_diff = Field(np.nan * u.s, "Time difference from the previous event", unit="s")

    return BaseEventInfoContainer, RealEventInfoContainer


@functools.lru_cache(maxsize=1)
def _magic_camera_geometry() -> Any:
    """The MAGIC camera (1039 hexagonal pixels) as in ctapipe_io_magic's MAGICCam.camgeom.

    Pixels lie on a hexagonal grid of 30 mm pitch rotated by 10.9 deg, ordered
    in rings from the centre (each ring clockwise from its corner), keeping the
    pixels within 0.505 m of the centre.
    """
    from astropy import units as u
    from ctapipe.coordinates import CameraFrame
    from ctapipe.instrument import CameraGeometry, PixelShape

    # grid units of the bundled geometry file and the ring corners in those units
    ux, uy = 0.00981969, 0.0056694
    corners = np.array([(-1, -5), (-3, -1), (-2, 4), (1, 5), (3, 1), (2, -4)])
    pts = [np.zeros((1, 2), dtype=np.int64)]
    for k in range(1, 21):
        for side in range(6):
            a0, a1 = corners[side] * k, corners[(side + 1) % 6] * k
            steps = np.arange(k)[:, None]
            pts.append(a0 + (a1 - a0) * steps // k)
    grid = np.concatenate(pts)
    x, y = grid[:, 0] * ux, grid[:, 1] * uy
    sel = np.hypot(x, y) < 0.5075
    x, y = x[sel], y[sel]
    n = x.size
    geom = CameraGeometry(
        name="MAGICCam",
        pix_id=np.arange(n),
        pix_x=u.Quantity(x, u.m),
        pix_y=u.Quantity(y, u.m),
        pix_area=u.Quantity(np.full(n, 0.0007794228515625), u.m**2),
        pix_type=PixelShape.HEXAGON,
        pix_rotation=u.Quantity(70.9, u.deg),
        cam_rotation=u.Quantity(0.0, u.deg),
        frame=CameraFrame(focal_length=u.Quantity(_MAGIC_FOCAL_LENGTH_M, u.m)),
    )
    if n != _MAGIC_N_PIXELS:  # pragma: no cover - guards the construction above
        raise RuntimeError(f"MAGIC camera construction gave {n} pixels")
    return geom


@functools.lru_cache(maxsize=1)
def _subarrays() -> tuple[Any, Any]:
    """(LST-1 subarray as written by lstchain, MAGIC-LST-Array as written by magic_calib_to_dl1)."""
    import warnings

    from astropy import units as u
    from astropy.coordinates import EarthLocation
    from ctapipe.instrument import (
        CameraDescription,
        CameraReadout,
        OpticsDescription,
        ReflectorShape,
        SizeType,
        SubarrayDescription,
        TelescopeDescription,
    )
    from ctapipe_io_lst import LSTEventSource

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing provenance metadata of bundled resources
        lst = LSTEventSource.create_subarray(tel_id=1)

    optics = OpticsDescription(
        name="MAGIC",
        size_type=SizeType.LST,
        n_mirrors=1,
        n_mirror_tiles=964,
        reflector_shape=ReflectorShape.PARABOLIC,
        equivalent_focal_length=u.Quantity(16.97, u.m),
        effective_focal_length=u.Quantity(17 * 1.0713, u.m),
        mirror_area=u.Quantity(239.0, u.m**2),
    )
    geom = _magic_camera_geometry()
    readout = CameraReadout(
        name="MAGICCam",
        sampling_rate=u.Quantity(1.64, u.GHz),
        reference_pulse_shape=np.array([[0.0, 1.0, 2.0, 1.0, 0.0], [1.0, 2.0, 3.0, 2.0, 1.0]]),
        reference_pulse_sample_width=u.Quantity(0.5, u.ns),
        n_channels=1,
        n_pixels=geom.n_pixels,
        n_samples=50,
    )
    magic_tel = TelescopeDescription(
        name="MAGIC", optics=optics, camera=CameraDescription("MAGICCam", geom, readout)
    )
    reference_location = EarthLocation(  # ctapipe_io_magic.constants.REFERENCE_LOCATION
        lon=-17.890879 * u.deg, lat=28.761579 * u.deg, height=2199 * u.m
    )
    magic_lst = SubarrayDescription(
        "MAGIC-LST-Array",
        {
            1: [-8.09, 77.13, 0.78] * u.m,
            2: [39.3, -62.55, -0.97] * u.m,
            3: [-31.21, -14.57, 0.2] * u.m,
        },
        {1: lst.tel[1], 2: magic_tel, 3: magic_tel},
        reference_location,
    )
    return lst, magic_lst


def _timing_parameters(geom: Any, image: np.ndarray, peak_time: np.ndarray, hillas: Any) -> Any:
    """``ctapipe.image.timing_parameters`` for a camera-frame image, without numba.

    A plain least-squares line replaces the (JIT-compiled) robust fit; the
    returned container and the value types are the same.
    """
    from astropy import units as u
    from ctapipe.containers import CameraTimingParametersContainer
    from ctapipe.image import camera_to_shower_coordinates

    unit = hillas.x.unit
    pix_x, pix_y = geom.pix_x.to_value(unit), geom.pix_y.to_value(unit)
    longi, _ = camera_to_shower_coordinates(
        pix_x, pix_y, hillas.x.to_value(unit), hillas.y.to_value(unit), hillas.psi.to_value(u.rad)
    )
    peak_time = peak_time.astype(np.float64)
    beta = np.polyfit(longi, peak_time, 1)
    deviation = np.sqrt(np.mean((longi * beta[0] + beta[1] - peak_time) ** 2))
    return CameraTimingParametersContainer(
        slope=beta[0] / unit, intercept=beta[1], deviation=deviation
    )


def _elliptical_images(
    rng: np.random.Generator,
    pix_x: np.ndarray,
    pix_y: np.ndarray,
    intensity: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    length_m: np.ndarray,
    width_m: np.ndarray,
    psi_rad: np.ndarray,
    slope: np.ndarray,
    intercept: np.ndarray,
    noise_pe: float,
    threshold_pe: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian-ellipse images (signal + noise), peak times along the major axis and masks.

    Rows whose parameters are NaN get noise only (empty mask).
    """
    ok = np.isfinite(intensity) & np.isfinite(length_m) & np.isfinite(width_m)
    amp = np.where(ok, intensity, 0.0)[:, None]
    cx, cy = np.where(ok, x, 0.0)[:, None], np.where(ok, y, 0.0)[:, None]
    sl = np.where(ok, np.maximum(length_m, 1e-3), 1.0)[:, None]
    sw = np.where(ok, np.maximum(width_m, 1e-3), 1.0)[:, None]
    cpsi, spsi = (
        np.cos(np.where(ok, psi_rad, 0.0))[:, None],
        np.sin(np.where(ok, psi_rad, 0.0))[:, None],
    )
    dx, dy = pix_x[None, :] - cx, pix_y[None, :] - cy
    lon = dx * cpsi + dy * spsi
    lat = -dx * spsi + dy * cpsi
    prof = np.exp(-0.5 * ((lon / sl) ** 2 + (lat / sw) ** 2))
    norm = prof.sum(axis=1, keepdims=True)
    signal = amp * prof / np.where(norm > 0, norm, 1.0)
    image = signal + rng.normal(0.0, noise_pe, signal.shape)
    mask = (signal > threshold_pe) & (image > threshold_pe)
    t_slope = np.where(np.isfinite(slope), slope, 0.0)[:, None]
    t_icpt = np.where(np.isfinite(intercept), intercept, 20.0)[:, None]
    peak_time = t_icpt + t_slope * lon + rng.normal(0.0, 1.0, signal.shape)
    return image, peak_time, mask


# ---------------------------------------------------------------------------
# LST-1 file
# ---------------------------------------------------------------------------
def _lst_template_event(subarray: Any, cols: dict[str, np.ndarray]) -> tuple[Any, ...]:
    """Containers of one real-looking LST event, filled as lstchain's r0_to_dl1 fills them."""
    import warnings

    from astropy import units as u
    from astropy.time import Time
    from ctapipe.containers import DL1CameraContainer, EventIndexContainer, EventType
    from ctapipe.image import hillas_parameters
    from lstchain.io.config import get_standard_config
    from lstchain.io.io import add_config_metadata, add_global_metadata, global_metadata
    from lstchain.io.lstcontainers import DL1ParametersContainer, ExtraImageInfo
    from lstchain.reco.r0_to_dl1 import _camera_distance_to_angle

    tel = subarray.tel[1]
    geom = tel.camera.geometry
    focal = tel.optics.equivalent_focal_length
    px, py = geom.pix_x.to_value(u.m), geom.pix_y.to_value(u.m)
    image = (300.0 * np.exp(-0.5 * (((px - 0.3) / 0.08) ** 2 + ((py - 0.1) / 0.04) ** 2))).astype(
        np.float32
    )
    peak_time = (20.0 + 5.0 * (px - 0.3)).astype(np.float32)
    mask = image > 6.0

    index = EventIndexContainer(obs_id=int(cols["obs_id"][0]), event_id=int(cols["event_id"][0]))
    dl1 = DL1ParametersContainer()
    dl1.calibration_id = 1
    dl1.obs_id = index.obs_id
    dl1.event_id = index.event_id
    dl1.n_islands = 1
    dl1.n_pixels = int(np.count_nonzero(mask))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # lstchain.reco.r0_to_dl1.parametrize_image, with the numba-compiled
        # timing fit replaced by its numpy equivalent (same types, no JIT cost)
        geom_sel, image_sel = geom[mask], image[mask]
        hillas = hillas_parameters(geom_sel, image_sel)
        dl1.fill_hillas(hillas)
        for key in ["width", "width_uncertainty", "length", "length_uncertainty"]:
            setattr(dl1, key, _camera_distance_to_angle(getattr(dl1, key), focal))
        dl1.wl = dl1.width / dl1.length
        timing = _timing_parameters(geom_sel, image_sel, peak_time[mask], hillas)
        dl1.time_gradient = timing.slope.value
        dl1.intercept = timing.intercept
        dl1.set_leakage(geom, image, mask)
        dl1.set_concentration(geom_sel, image_sel, hillas)
        dl1.log_intensity = np.log10(dl1.intensity)
    dl1.set_telescope_info(subarray, 1)
    time = Time(float(cols["dragon_time"][0]), format="unix")
    dl1.ucts_time = time.unix
    dl1.dragon_time = time.unix
    dl1.tib_time = time.unix
    dl1.ucts_jump = False
    dl1.ucts_trigger_type = np.uint8(_TIB_MONO)
    dl1.trigger_type = np.uint8(_TIB_MONO)
    dl1.az_tel = u.Quantity(float(cols["az_tel"][0]), u.rad)
    dl1.alt_tel = u.Quantity(float(cols["alt_tel"][0]), u.rad)
    dl1.sin_az_tel = np.sin(dl1.az_tel)
    dl1.trigger_time = time.unix
    dl1.event_type = EventType.SUBARRAY
    dl1.prefix = ""

    dl1_tel = DL1CameraContainer(
        image=image, peak_time=peak_time, image_mask=mask, is_valid=True, prefix=""
    )
    extra_im = ExtraImageInfo()
    extra_im.prefix = ""
    extra_im.tel_id = 1
    extra_im.selected_gain_channel = np.zeros(_LST_N_PIXELS, dtype=np.int8)

    metadata = global_metadata()
    config = get_standard_config()
    for container in (extra_im, dl1, dl1_tel):
        add_global_metadata(container, metadata)
        add_config_metadata(container, config)
    return index, dl1, dl1_tel, extra_im


def _write_lst_file(
    path: Path,
    cols: dict[str, np.ndarray],
    config: SimulationConfig,
    image_rng: np.random.Generator | None,
) -> None:
    """Write the LST-1 DL1 file as lstchain 0.12 ``r0_to_dl1`` does."""
    from ctapipe.io import HDF5TableWriter
    from lstchain.io.io import HDF5_ZSTD_FILTERS, global_metadata, write_metadata
    from lstchain.reco.r0_to_dl1 import setup_writer

    subarray, _ = _subarrays()
    path.unlink(missing_ok=True)
    write_metadata(global_metadata(), str(path))
    if config.lst_subarray:
        subarray.to_hdf(str(path))
    else:
        _write_outdated_subarray(path, subarray)

    n = cols["event_id"].size
    if n == 0:  # no event: r0_to_dl1 creates no event table either
        return
    index, dl1, dl1_tel, extra_im = _lst_template_event(subarray, cols)
    with HDF5TableWriter(
        filename=str(path),
        group_name="dl1/event",
        mode="a",
        filters=HDF5_ZSTD_FILTERS,
        add_prefix=True,
    ) as writer:
        setup_writer(writer, subarray, is_simulation=False)
        table, template = _template_table(
            writer, "dl1/event", "telescope/parameters/LST_LSTCam", [index, dl1]
        )
        _append_columns(table, template, cols, n)

        if image_rng is not None:
            table, template = _template_table(
                writer, "dl1/event", "telescope/image/LST_LSTCam", [index, dl1_tel, extra_im]
            )
            _append_lst_images(table, template, cols, subarray, image_rng)


def _write_outdated_subarray(path: Path, subarray: Any) -> None:
    """Instrument description of an lstchain < 0.10 (ctapipe 0.12) DL1 file.

    The layout table has the obsolete version 1.0 (no camera/optics index,
    cameras stored by name), which ``SubarrayDescription.from_hdf`` of recent
    ctapipe rejects with ``OSError: Unsupported version of subarray table: 1.0``;
    the optics table with ``equivalent_focal_length`` stays readable.
    """
    from astropy.table import Table
    from ctapipe.io import write_table

    tel = subarray.tel[1]
    pos = subarray.positions[1]
    layout = Table(
        {
            "tel_id": np.array([1], dtype=np.int16),
            "pos_x": pos[0:1],
            "pos_y": pos[1:2],
            "pos_z": pos[2:3],
            "name": [tel.name],
            "type": [tel.type],
            "num_mirrors": np.array([tel.optics.n_mirrors], dtype=np.int64),
            "camera_type": [tel.camera.name],
            "tel_description": [str(tel)],
        },
        meta={
            "TAB_VER": "1.0",
            "TAB_TYPE": "ctapipe.instrument.SubarrayDescription",
            "name": subarray.name,
        },
    )
    base = "/configuration/instrument"
    write_table(layout, str(path), path=f"{base}/subarray/layout")
    write_table(subarray.to_table(kind="optics"), str(path), path=f"{base}/telescope/optics")
    camera = tel.camera
    write_table(
        camera.geometry.to_table(),
        str(path),
        path=f"{base}/telescope/camera/geometry_{camera.name}",
    )
    write_table(
        camera.readout.to_table(), str(path), path=f"{base}/telescope/camera/readout_{camera.name}"
    )


def _append_lst_images(
    table: Any,
    template: np.void,
    cols: dict[str, np.ndarray],
    subarray: Any,
    rng: np.random.Generator,
) -> None:
    from astropy import units as u

    geom = subarray.tel[1].camera.geometry
    px, py = geom.pix_x.to_value(u.m), geom.pix_y.to_value(u.m)
    n = cols["event_id"].size
    for start in range(0, n, _IMAGE_CHUNK_ROWS):
        sl = slice(start, min(start + _IMAGE_CHUNK_ROWS, n))
        image, peak_time, mask = _elliptical_images(
            rng,
            px,
            py,
            cols["intensity"][sl],
            cols["x"][sl],
            cols["y"][sl],
            _LST_FOCAL_LENGTH_M * np.tan(np.deg2rad(cols["length"][sl])),
            _LST_FOCAL_LENGTH_M * np.tan(np.deg2rad(cols["width"][sl])),
            cols["psi"][sl],
            cols["time_gradient"][sl],
            cols["intercept"][sl],
            noise_pe=1.5,
            threshold_pe=6.0,
        )
        ff = cols["event_type"][sl] == _EVENT_TYPE_FLATFIELD
        image[ff] = rng.normal(80.0, 5.0, (int(ff.sum()), px.size))
        mask[ff] = True
        part = {
            "obs_id": cols["obs_id"][sl],
            "event_id": cols["event_id"][sl],
            "image": image.astype(np.float32),
            "peak_time": peak_time.astype(np.float32),
            "image_mask": mask,
            "is_valid": np.ones(image.shape[0], dtype=bool),
            "tel_id": np.ones(image.shape[0], dtype=np.int64),
            "selected_gain_channel": (image > 60.0).astype(np.int8),
        }
        _append_columns(table, template, part, image.shape[0])


# ---------------------------------------------------------------------------
# MAGIC files
# ---------------------------------------------------------------------------
def _magic_template_event(tel_id: int, cols: dict[str, np.ndarray]) -> tuple[Any, ...]:
    """Containers of one MAGIC event, computed as magic_calib_to_dl1 computes them."""
    import warnings

    from astropy import units as u
    from ctapipe.containers import DL1CameraContainer
    from ctapipe.image import (
        concentration_parameters,
        hillas_parameters,
        leakage_parameters,
        number_of_islands,
    )

    geom = _magic_camera_geometry()
    px, py = geom.pix_x.to_value(u.m), geom.pix_y.to_value(u.m)
    image = 200.0 * np.exp(-0.5 * (((px - 0.1) / 0.05) ** 2 + ((py + 0.05) / 0.025) ** 2))
    peak_time = 28.0 + 10.0 * (px - 0.1)
    signal = image > 6.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n_islands, _ = number_of_islands(geom, signal)
        masked = geom[signal]
        hillas = hillas_parameters(masked, image[signal])
        timing = _timing_parameters(masked, image[signal], peak_time[signal], hillas)
        leakage = leakage_parameters(geom, image, signal)
        conc = concentration_parameters(geom, image, hillas)

    _, real_event_info = _magic_container_classes()
    time_sec = u.Quantity(float(cols["time_sec"][0]), unit="s", dtype=int)
    time_nanosec = u.Quantity(u.Quantity(float(cols["time_nanosec"][0]), u.ns).round(), dtype=int)
    event_info = real_event_info(
        obs_id=np.uint64(cols["obs_id"][0]),
        event_id=np.int64(cols["event_id"][0]),
        pointing_alt=u.Quantity(float(cols["pointing_alt"][0]), u.rad),
        pointing_az=u.Quantity(float(cols["pointing_az"][0]), u.rad),
        time_sec=time_sec,
        time_nanosec=time_nanosec,
        time_diff=u.Quantity(float(cols["time_diff"][0]), u.s),
        n_pixels=int(np.count_nonzero(signal)),
        n_islands=n_islands,
    )
    event_info.tel_id = tel_id
    event_info.tels_with_trigger = np.sum(2 ** np.array(list(_MAGIC_TELS)))
    event_info.prefix = ""
    hillas.prefix = ""
    timing.prefix = ""
    leakage.prefix = ""
    dl1cont = DL1CameraContainer(prefix="")
    dl1cont.image = image
    dl1cont.peak_time = peak_time
    dl1cont.image_mask = signal
    dl1cont.is_valid = True
    return (event_info, hillas, timing, leakage, conc), dl1cont


def _write_magic_files(
    magic_dir: Path,
    cols_by_tel: dict[int, dict[str, np.ndarray]],
    sim: dict[str, Any],
    config: SimulationConfig,
    rng: np.random.Generator,
) -> list[Path]:
    """Write one file per MAGIC telescope and subrun as magic_calib_to_dl1 does."""
    from ctapipe.io import HDF5TableWriter

    _, magic_lst = _subarrays()
    m_lo, m_hi = sim["magic_lo"], sim["magic_hi"]
    sub_ns = _ns(config.magic_subrun_s)
    n_sub = max(1, -(-(m_hi - m_lo) // sub_ns))
    offset_lo = m_lo + config.true_offset_ns  # MAGIC clock of the window start
    files = []
    for i_tel, tel_id in enumerate(_MAGIC_TELS):
        cols = cols_by_tel[tel_id]
        stamp = (cols["time_sec"] * 10**9 + cols["time_nanosec"]) - sim["t0_ns"]
        subrun = np.clip((stamp - offset_lo) // sub_ns, 0, n_sub - 1)
        bounds = np.searchsorted(subrun, np.arange(n_sub + 1))
        for k in range(n_sub):
            path = magic_dir / f"dl1_M{i_tel + 1}.Run{config.magic_obs_id:08}.{k + 1:03}.h5"
            sl = slice(bounds[k], bounds[k + 1])
            part = {name: val[sl] for name, val in cols.items()}
            n = int(part["event_id"].size)
            with HDF5TableWriter(str(path), group_name="events", mode="w", add_prefix=True) as w:
                if n:
                    containers, dl1cont = _magic_template_event(tel_id, part)
                    table, template = _template_table(w, "events", "parameters", list(containers))
                    _append_columns(table, template, part, n)
                    if config.images:
                        w.exclude("dl1/image", "parameters")  # None: skipped by the writer
                        table, template = _template_table(
                            w, "events", "dl1/image", [containers[0], dl1cont]
                        )
                        _append_magic_images(table, template, part, rng)
            magic_lst.to_hdf(str(path))
            files.append(path)
    return files


def _append_magic_images(
    table: Any, template: np.void, cols: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    from astropy import units as u

    geom = _magic_camera_geometry()
    px, py = geom.pix_x.to_value(u.m), geom.pix_y.to_value(u.m)
    n = cols["event_id"].size
    info = [
        "obs_id",
        "event_id",
        "tel_id",
        "pointing_alt",
        "pointing_az",
        "n_pixels",
        "n_islands",
        "tels_with_trigger",
        "time_sec",
        "time_nanosec",
        "time_diff",
    ]
    for start in range(0, n, _IMAGE_CHUNK_ROWS):
        sl = slice(start, min(start + _IMAGE_CHUNK_ROWS, n))
        image, peak_time, mask = _elliptical_images(
            rng,
            px,
            py,
            cols["intensity"][sl],
            cols["x"][sl],
            cols["y"][sl],
            cols["length"][sl],
            cols["width"][sl],
            np.deg2rad(cols["psi"][sl]),
            cols["slope"][sl],
            cols["intercept"][sl],
            noise_pe=1.0,
            threshold_pe=6.0,
        )
        part = {name: cols[name][sl] for name in info}
        part.update(
            image=image,
            peak_time=peak_time,
            image_mask=mask,
            is_valid=np.ones(image.shape[0], dtype=bool),
        )
        _append_columns(table, template, part, image.shape[0])
