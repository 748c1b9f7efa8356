"""The shower stream and the triggers of both systems with their dead times and clocks.

One stream of air showers is drawn in "true" time (int64 ns from the LST
subrun start). MAGIC records the stereo showers in its data window; LST-1
records a fraction of them (the brighter, the likelier), LST-only showers and
its interleaved calibration events. Each system applies its own
non-paralysable dead time and reads the time on its own clock (:mod:`.clocks`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .clocks import CLOCK_GRID_NS, lst_clock, magic_clock_shift_ns, magic_clocks, ns
from .config import LST_INTERLEAVED_RATE_HZ, MAGIC_INTERLEAVED_RATE_HZ, SimulationConfig
from .pointing import geometric_delays_ns, telescope_pointing

__all__ = [
    "INTEGRAL_INDEX",
    "KIND_COMMON",
    "KIND_FLATFIELD",
    "KIND_LST_ONLY",
    "KIND_PEDESTAL",
    "EventStream",
    "dead_time_mask",
    "simulate_events",
]

#: integral index of the shower size distribution (power law)
INTEGRAL_INDEX = 1.7
#: kinds of LST-1 triggers: shower also seen by MAGIC's trigger, LST-only shower,
#: interleaved pedestal, interleaved flat-field
KIND_COMMON, KIND_LST_ONLY, KIND_PEDESTAL, KIND_FLATFIELD = 0, 1, 2, 3

_MAGIC_IMAGE_LOSS = 0.05  # fraction of stereo events without image in one telescope


@dataclass(frozen=True, eq=False)
class EventStream:
    """The triggers of both systems; times in int64 ns from the LST subrun start.

    Attributes
    ----------
    t0_ns : int
        UTC UNIX ns of the LST subrun start (time 0), on the 100 ns grid.
    magic_lo_ns, magic_hi_ns : int
        The MAGIC data window ``[lo, hi)`` in true time.
    shower_log_size : numpy.ndarray
        log10 of the relative size of every drawn shower.
    lst_true_ns, lst_stamp_ns : numpy.ndarray
        True time and LST clock reading (relative to ``t0_ns``) of each
        accepted LST-1 trigger, in file order.
    lst_kind : numpy.ndarray
        ``KIND_*`` of each LST-1 trigger.
    lst_shower : numpy.ndarray
        Index of the shower of a ``KIND_COMMON`` trigger, else -1.
    magic_trigger_ns : numpy.ndarray
        True time of every accepted MAGIC trigger, interleaved ones included.
    magic_true_ns : numpy.ndarray
        True time of each accepted MAGIC stereo shower trigger.
    magic_stamps_ns : numpy.ndarray
        Shape ``(2, n)``: M1 and M2 clock readings (relative to ``t0_ns``) of them.
    magic_diffs_s : numpy.ndarray
        Shape ``(2, n)``: time since the previous MAGIC trigger of any type (s).
    magic_clock_shift_ns : numpy.ndarray
        MAGIC clock minus true time (offset and drift, float ns) of each.
    magic_delays_ns : numpy.ndarray
        Shape ``(2, n)``: geometric delay (float ns) added to the M1 and M2 times.
    magic_shower : numpy.ndarray
        Shower index of each MAGIC stereo trigger.
    magic_lost : numpy.ndarray
        0, or the telescope (1: M1, 2: M2) whose image the cleaning lost.
    """

    t0_ns: int
    magic_lo_ns: int
    magic_hi_ns: int
    shower_log_size: np.ndarray
    lst_true_ns: np.ndarray
    lst_stamp_ns: np.ndarray
    lst_kind: np.ndarray
    lst_shower: np.ndarray
    magic_trigger_ns: np.ndarray
    magic_true_ns: np.ndarray
    magic_stamps_ns: np.ndarray
    magic_diffs_s: np.ndarray
    magic_clock_shift_ns: np.ndarray
    magic_delays_ns: np.ndarray
    magic_shower: np.ndarray
    magic_lost: np.ndarray


def dead_time_mask(t: np.ndarray, dead_ns: int) -> np.ndarray:
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


def _lst_trigger_probability(log_size: np.ndarray) -> np.ndarray:
    """Probability that LST-1 also triggers on a MAGIC stereo shower (bright ones favoured)."""
    return 0.93 / (1.0 + np.exp(-(log_size - 0.12) / 0.07))


def _sorted_accepted(
    times: list[np.ndarray], labels: list[np.ndarray], dead_ns: int
) -> tuple[np.ndarray, ...]:
    """Merge trigger times (and per-trigger labels) in time order, then apply the dead time."""
    t = np.concatenate(times)
    order = np.argsort(t, kind="stable")
    t = t[order]
    keep = dead_time_mask(t, dead_ns)
    return (t[keep], *(np.concatenate(values)[order][keep] for values in labels))


def _showers(
    config: SimulationConfig, rng: np.random.Generator, t_lo: int, t_hi: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """MAGIC stereo showers before dead time over ``[t_lo, t_hi)``.

    Returns their times, log sizes, whether LST-1 triggers on them, and the
    raw rates (Hz) of MAGIC stereo showers and of the showers LST-1 shares.
    """
    tau_m = config.magic_dead_time_ns * 1e-9
    r_m_tot = config.magic_stereo_rate_hz + 2 * MAGIC_INTERLEAVED_RATE_HZ
    lam_m_tot = r_m_tot / (1.0 - r_m_tot * tau_m)
    lam_m = lam_m_tot * config.magic_stereo_rate_hz / r_m_tot
    n_sh = int(rng.poisson(lam_m * (t_hi - t_lo) * 1e-9))
    sh_t = np.sort(rng.integers(t_lo, t_hi, n_sh, dtype=np.int64))
    sh_log_size = rng.exponential(1.0 / (INTEGRAL_INDEX * math.log(10)), n_sh)
    p_lst = _lst_trigger_probability(sh_log_size)
    sh_lst = rng.random(n_sh) < p_lst
    lam_common = lam_m * float(p_lst.mean()) if n_sh else 0.0
    return sh_t, sh_log_size, sh_lst, lam_m, lam_common


def _lst_triggers(
    config: SimulationConfig,
    rng: np.random.Generator,
    sh_t: np.ndarray,
    sh_lst: np.ndarray,
    lam_common: float,
    dur: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accepted LST-1 triggers in ``[0, dur)``: times, kinds and shower indices."""
    tau_l = config.lst_dead_time_ns * 1e-9
    lam_l = config.lst_rate_hz / (1.0 - config.lst_rate_hz * tau_l)
    lam_only = max(lam_l - lam_common - 2 * LST_INTERLEAVED_RATE_HZ, 0.0)
    n_only = int(rng.poisson(lam_only * dur * 1e-9))
    only_t = rng.integers(0, dur, n_only, dtype=np.int64)
    ped_t = _periodic(rng, LST_INTERLEAVED_RATE_HZ, 0, dur)
    ff_t = _periodic(rng, LST_INTERLEAVED_RATE_HZ, 0, dur)
    common_idx = np.flatnonzero(sh_lst & (sh_t >= 0) & (sh_t < dur))
    times = [sh_t[common_idx], only_t, ped_t, ff_t]
    kinds = [
        np.full(part.size, kind, np.int8)
        for part, kind in zip(
            times, (KIND_COMMON, KIND_LST_ONLY, KIND_PEDESTAL, KIND_FLATFIELD), strict=True
        )
    ]
    n_other = n_only + ped_t.size + ff_t.size
    showers = [common_idx, np.full(n_other, -1)]
    return _sorted_accepted(times, [kinds, showers], config.lst_dead_time_ns)


def _magic_triggers(
    config: SimulationConfig, rng: np.random.Generator, sh_t: np.ndarray, m_lo: int, m_hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Accepted MAGIC triggers in ``[m_lo, m_hi)``: times and shower indices (-1: interleaved)."""
    in_m = np.flatnonzero((sh_t >= m_lo) & (sh_t < m_hi))
    mped_t = _periodic(rng, MAGIC_INTERLEAVED_RATE_HZ, m_lo, m_hi)
    mcal_t = _periodic(rng, MAGIC_INTERLEAVED_RATE_HZ, m_lo, m_hi)
    times = [sh_t[in_m], mped_t, mcal_t]
    showers = [in_m, np.full(mped_t.size + mcal_t.size, -1)]
    return _sorted_accepted(times, [showers], config.magic_dead_time_ns)


def simulate_events(config: SimulationConfig, rng: np.random.Generator) -> EventStream:
    """Draw the shower stream and the triggers and clock readings of both systems."""
    dur = ns(config.duration_s)
    m_lo = ns(config.magic_start_delay_s)
    m_hi = dur + ns(config.magic_extra_s)
    sh_t, sh_log_size, sh_lst, _, lam_common = _showers(
        config, rng, min(0, m_lo), max(dur, m_hi)
    )
    l_t, l_kind, l_shower = _lst_triggers(config, rng, sh_t, sh_lst, lam_common, dur)
    m_t, m_shower = _magic_triggers(config, rng, sh_t, m_lo, m_hi)

    t0_ns = ns(config.start_unix_s) // CLOCK_GRID_NS * CLOCK_GRID_NS
    l_stamp = lst_clock(rng, config, t0_ns, l_t)
    cosmic = m_shower >= 0
    delays = _geometric_delays(config, t0_ns, m_t, cosmic)
    m_stamps, m_diffs = magic_clocks(rng, config, t0_ns, m_t, delays)

    # image lost by the cleaning in one telescope (row absent from that file)
    n_m = int(cosmic.sum())
    lost = np.zeros(n_m, np.int8)
    lose = rng.random(n_m) < _MAGIC_IMAGE_LOSS
    lost[lose] = rng.integers(1, 3, int(lose.sum()))

    return EventStream(
        t0_ns=t0_ns,
        magic_lo_ns=m_lo,
        magic_hi_ns=m_hi,
        shower_log_size=sh_log_size,
        lst_true_ns=l_t,
        lst_stamp_ns=l_stamp,
        lst_kind=l_kind,
        lst_shower=l_shower,
        magic_trigger_ns=m_t,
        magic_true_ns=m_t[cosmic],
        magic_stamps_ns=m_stamps[:, cosmic],
        magic_diffs_s=m_diffs[:, cosmic],
        magic_clock_shift_ns=magic_clock_shift_ns(config, t0_ns, m_t[cosmic]),
        magic_delays_ns=np.zeros((2, n_m)) if delays is None else delays[:, cosmic],
        magic_shower=m_shower[cosmic],
        magic_lost=lost,
    )


def _geometric_delays(
    config: SimulationConfig, t0_ns: int, m_t: np.ndarray, cosmic: np.ndarray
) -> np.ndarray | None:
    """Geometric delays (2, n) of M1 and M2: 0 for interleaved triggers; ``None``: disabled."""
    if not config.geometric_delay:
        return None
    alt, az = telescope_pointing(config, t0_ns, m_t, 0.0, 0.0)
    return np.where(cosmic, geometric_delays_ns(alt, az), 0.0)
