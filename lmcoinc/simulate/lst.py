"""Contents of the LST-1 DL1 parameters table: one row per accepted trigger.

Showers (``event_type`` 32, ~1 % of them with a failed parametrisation: NaN
intensity and/or time_gradient), interleaved pedestal (2) and flat-field (0)
events, consecutive event ids with one id given to two consecutive shower
triggers. The LST intensity of a shower seen by MAGIC grows with its size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import SimulationConfig
from .events import (
    INTEGRAL_INDEX,
    KIND_COMMON,
    KIND_FLATFIELD,
    KIND_LST_ONLY,
    KIND_PEDESTAL,
    EventStream,
)
from .pointing import telescope_pointing
from .shapes import shower_shapes

__all__ = [
    "EVENT_TYPE_FLATFIELD",
    "EVENT_TYPE_PEDESTAL",
    "EVENT_TYPE_SHOWER",
    "LST_FOCAL_LENGTH_M",
    "LST_N_PIXELS",
    "TIB_MONO",
    "LstTable",
    "lst_columns",
    "lst_unix_times",
]

# ctapipe EventType values used by lstchain's event_type column
EVENT_TYPE_FLATFIELD = 0
EVENT_TYPE_PEDESTAL = 2
EVENT_TYPE_SHOWER = 32
# LST TIB trigger bits (ctapipe_io_lst.constants.TriggerBits)
TIB_MONO = 1
_TIB_CALIBRATION = 4
_TIB_PEDESTAL = 32

LST_N_PIXELS = 1855
#: equivalent focal length used by lstchain for deg <-> m
LST_FOCAL_LENGTH_M = 28.0
_FAILED_FRACTION = 0.01  # fraction of shower rows with failed parametrization
#: the float columns drawn by :func:`shower_shapes`
_SHAPE_FLOATS = (
    "x", "y", "r", "phi", "psi", "length", "width", "length_uncertainty", "width_uncertainty",
    "skewness", "kurtosis", "leakage_intensity_width_1", "leakage_intensity_width_2",
    "leakage_pixels_width_1", "leakage_pixels_width_2", "concentration_cog",
    "concentration_core", "concentration_pixel",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class LstTable:
    """The LST-1 parameters columns and what a correct coincidence can use of them.

    Attributes
    ----------
    columns : dict of numpy.ndarray
        Column name → values, one per row (file order).
    usable_rows : numpy.ndarray
        Indices of the rows of showers that MAGIC's trigger also saw (if it
        was recording) and that survive the coincidence's selection
        (event_type 32, finite intensity, time_gradient, alt_tel and az_tel,
        event id not duplicated).
    usable_showers : numpy.ndarray
        Shower index of each usable row.
    """

    columns: dict[str, np.ndarray]
    usable_rows: np.ndarray
    usable_showers: np.ndarray


def _empty_columns(n: int) -> dict[str, np.ndarray]:
    """Float columns all NaN, pixel and island counts -1."""
    cols = {name: np.full(n, np.nan) for name in _SHAPE_FLOATS}
    for name in ("intensity", "time_gradient", "intercept"):
        cols[name] = np.full(n, np.nan)
    for name in ("n_pixels", "n_islands"):
        cols[name] = np.full(n, -1, np.int64)
    return cols


def _set_rows(cols: dict[str, np.ndarray], rows: np.ndarray, values: dict, **more) -> None:
    """Set the given rows of each column named in ``values`` and ``more``."""
    for name, value in {**values, **more}.items():
        cols[name][rows] = value


def _fill_showers(
    cols: dict[str, np.ndarray], stream: EventStream, rng: np.random.Generator
) -> None:
    """Shower rows: intensities (common showers from the shower size), shapes, timing."""
    kind, shower = stream.lst_kind, stream.lst_shower
    is_sh = kind <= KIND_LST_ONLY
    intensity = cols["intensity"]
    common = kind == KIND_COMMON
    size = 10 ** stream.shower_log_size[shower[common]]
    intensity[common] = 120.0 * size * 10 ** rng.normal(0.0, 0.25, common.sum())
    only = kind == KIND_LST_ONLY
    e = rng.exponential(1.0 / (INTEGRAL_INDEX * math.log(10)), only.sum())
    intensity[only] = 35.0 * 10**e * 10 ** rng.normal(0.0, 0.1, only.sum())
    intensity[is_sh] = np.minimum(intensity[is_sh], 3e5)
    values = shower_shapes(rng, intensity[is_sh], r_max_m=0.95)
    n_sh = int(is_sh.sum())
    time_gradient = rng.normal(0.0, 5.0, n_sh)
    intercept = rng.normal(19.0, 2.0, n_sh)
    _set_rows(cols, is_sh, values, time_gradient=time_gradient, intercept=intercept)


def _fill_flatfield(
    cols: dict[str, np.ndarray], kind: np.ndarray, rng: np.random.Generator
) -> None:
    """Flat-field rows: the whole camera, uniformly illuminated."""
    ff = np.flatnonzero(kind == KIND_FLATFIELD)
    nff = ff.size
    values = {
        "intensity": rng.normal(LST_N_PIXELS * 80.0, 2000.0, nff),
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
    values["r"] = np.hypot(values["x"], values["y"])
    values["phi"] = np.arctan2(values["y"], values["x"])
    values["n_pixels"] = LST_N_PIXELS - rng.poisson(4, nff)
    values["n_islands"] = 1
    time_gradient = rng.normal(0.0, 0.2, nff)
    intercept = rng.normal(19.0, 0.3, nff)
    _set_rows(cols, ff, values, time_gradient=time_gradient, intercept=intercept)


def _fill_pedestal(
    cols: dict[str, np.ndarray], kind: np.ndarray, rng: np.random.Generator
) -> None:
    """Pedestal rows: mostly nothing survives the cleaning, sometimes a small NSB island."""
    ped = np.flatnonzero(kind == KIND_PEDESTAL)
    island = ped[rng.random(ped.size) < 0.15]
    ni = island.size
    intensity = rng.uniform(12.0, 40.0, ni)
    small = shower_shapes(rng, intensity, r_max_m=1.0)
    values = {"intensity": intensity, **{name: small[name] for name in _SHAPE_FLOATS}}
    values["n_pixels"] = rng.integers(3, 7, ni)
    values["n_islands"] = 1
    time_gradient = rng.normal(0.0, 20.0, ni)
    intercept = rng.uniform(5.0, 35.0, ni)
    _set_rows(cols, island, values, time_gradient=time_gradient, intercept=intercept)


def _fail_faint_showers(
    cols: dict[str, np.ndarray], kind: np.ndarray, rng: np.random.Generator
) -> None:
    """Failed parametrisation of faint showers: ~70 % nothing survives, ~30 % no timing fit."""
    sh_idx = np.flatnonzero(kind <= KIND_LST_ONLY)
    intensity = cols["intensity"]
    faint = sh_idx[intensity[sh_idx] < np.median(intensity[sh_idx])] if sh_idx.size else sh_idx
    fail = faint[rng.random(faint.size) < 2 * _FAILED_FRACTION]
    no_pix = fail[rng.random(fail.size) < 0.7]
    for name in (*_SHAPE_FLOATS, "intensity"):
        cols[name][no_pix] = np.nan
    cols["n_pixels"][no_pix] = -1
    cols["n_islands"][no_pix] = -1
    cols["time_gradient"][fail] = np.nan
    cols["intercept"][fail] = np.nan


def _event_ids(
    kind: np.ndarray, config: SimulationConfig, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Consecutive event ids, one id repeated by two consecutive shower triggers.

    Returns the ids and the row of the second trigger with the repeated id (-1: none).
    """
    n = kind.size
    is_sh = kind <= KIND_LST_ONLY
    first_id = config.lst_subrun * int(round(config.lst_rate_hz * config.duration_s)) + 1
    event_id = first_id + np.arange(n, dtype=np.int64)
    pairs = np.flatnonzero(is_sh[1:] & is_sh[:-1]) + 1
    pairs = pairs[(pairs > n // 10) & (pairs < n - n // 10)]
    dup = int(pairs[rng.integers(0, pairs.size)]) if pairs.size else -1
    if dup > 0:
        event_id[dup:] -= 1
    return event_id, dup


def _time_and_type_columns(stream: EventStream, config: SimulationConfig) -> dict[str, np.ndarray]:
    """Timestamps, pointing, event and trigger types."""
    kind = stream.lst_kind
    time = lst_unix_times(stream.t0_ns + stream.lst_stamp_ns)
    alt, az = telescope_pointing(config, stream.t0_ns, stream.lst_true_ns, 1.5e-5, -2.0e-5)
    event_type = np.full(kind.size, EVENT_TYPE_SHOWER, np.int64)
    event_type[kind == KIND_PEDESTAL] = EVENT_TYPE_PEDESTAL
    event_type[kind == KIND_FLATFIELD] = EVENT_TYPE_FLATFIELD
    trig = np.full(kind.size, TIB_MONO, np.uint8)
    trig[kind == KIND_PEDESTAL] = _TIB_PEDESTAL
    trig[kind == KIND_FLATFIELD] = _TIB_CALIBRATION
    return {
        "dragon_time": time,
        "ucts_time": time,
        "tib_time": time,
        "trigger_time": time,
        "alt_tel": alt,
        "az_tel": az,
        "sin_az_tel": np.sin(az),
        "event_type": event_type,
        "trigger_type": trig,
        "ucts_trigger_type": trig.copy(),
    }


def lst_columns(
    stream: EventStream, config: SimulationConfig, rng: np.random.Generator
) -> LstTable:
    """Column arrays of the LST-1 parameters table and its usable shower rows.

    Parameters
    ----------
    stream : EventStream
        The accepted triggers.
    config : SimulationConfig
        Run and subrun numbers, rate and duration (for the event ids), pointing.
    rng : numpy.random.Generator
        Random generator (the draws are made in a fixed order).

    Returns
    -------
    LstTable
        One row per accepted LST-1 trigger.
    """
    kind = stream.lst_kind
    n = kind.size
    cols = _empty_columns(n)
    _fill_showers(cols, stream, rng)
    _fill_flatfield(cols, kind, rng)
    _fill_pedestal(cols, kind, rng)
    _fail_faint_showers(cols, kind, rng)
    cols["log_intensity"] = np.log10(cols["intensity"])
    cols["wl"] = cols["width"] / cols["length"]
    for name in ("leakage_intensity_width_1", "leakage_intensity_width_2"):
        cols[name] = cols[name].astype(np.float32)
    event_id, dup = _event_ids(kind, config, rng)
    cols["obs_id"] = np.full(n, config.lst_obs_id, np.int64)
    cols["event_id"] = event_id
    cols.update(_time_and_type_columns(stream, config))

    required = ("intensity", "time_gradient", "alt_tel", "az_tel")
    usable = (kind == KIND_COMMON) & np.logical_and.reduce([np.isfinite(cols[c]) for c in required])
    usable &= ~np.isin(np.arange(n), [dup - 1, dup])
    rows = np.flatnonzero(usable)
    return LstTable(columns=cols, usable_rows=rows, usable_showers=stream.lst_shower[rows])


def lst_unix_times(utc_ns: np.ndarray) -> np.ndarray:
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
