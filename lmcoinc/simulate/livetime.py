"""True live time: when LST-1, MAGIC, or both could record a trigger.

Every accepted trigger of a system, interleaved calibration events included,
opens a dead interval ``[t, t + dead time)`` of that system. A system is live
where none of its dead intervals is; both are live where neither is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .clocks import ns
from .config import SimulationConfig
from .events import KIND_LST_ONLY, EventStream

__all__ = ["LiveTime", "covered_ns", "live_time"]


@dataclass(frozen=True)
class LiveTime:
    """True live times and rates of one LST-1 subrun (true time, s).

    Attributes
    ----------
    start_unix_ns, stop_unix_ns : int
        The LST-1 subrun ``[start, stop)`` (UNIX ns, true time).
    magic_start_unix_ns, magic_stop_unix_ns : int
        The part of it covered by the MAGIC data (empty: equal).
    duration_s, magic_overlap_s : float
        Their lengths.
    lst_live_s : float
        Subrun time when LST-1 is not dead.
    magic_live_s : float
        MAGIC-covered time when MAGIC is not dead.
    live_s : float
        MAGIC-covered time when neither system is dead: when a shower can be
        recorded by both.
    lst_dead_time_ns, magic_dead_time_ns : int
        Dead time after each accepted trigger.
    lst_rate_hz, lst_shower_rate_hz : float
        Accepted LST-1 triggers (all; showers only) per second of the subrun.
    magic_rate_hz, magic_stereo_rate_hz : float
        Accepted MAGIC triggers (all; stereo showers only) per second of the
        MAGIC-covered time (0 if none).
    """

    start_unix_ns: int
    stop_unix_ns: int
    magic_start_unix_ns: int
    magic_stop_unix_ns: int
    duration_s: float
    magic_overlap_s: float
    lst_live_s: float
    magic_live_s: float
    live_s: float
    lst_dead_time_ns: int
    magic_dead_time_ns: int
    lst_rate_hz: float
    lst_shower_rate_hz: float
    magic_rate_hz: float
    magic_stereo_rate_hz: float


def covered_ns(triggers: list[np.ndarray], dead_ns: list[int], lo: int, hi: int) -> int:
    """Length (ns) of ``[lo, hi)`` covered by the union of the dead intervals.

    Parameters
    ----------
    triggers : list of numpy.ndarray
        Per system, int64 trigger times.
    dead_ns : list of int
        Per system, the dead time after each trigger.
    lo, hi : int
        The time range.
    """
    if hi <= lo:
        return 0
    start = np.concatenate([np.asarray(t, dtype=np.int64) for t in triggers])
    end = np.concatenate(
        [np.asarray(t, dtype=np.int64) + d for t, d in zip(triggers, dead_ns, strict=True)]
    )
    order = np.argsort(start, kind="stable")
    start = np.clip(start[order], lo, hi)
    end = np.clip(end[order], lo, hi)
    # each interval adds what lies beyond the furthest end of those before it
    reach = np.maximum.accumulate(np.concatenate([[lo], end]))[:-1]
    return int(np.maximum(end - np.maximum(start, reach), 0).sum())


def live_time(stream: EventStream, config: SimulationConfig) -> LiveTime:
    """True live times and rates of the simulated subrun."""
    dur = ns(config.duration_s)
    m_lo, m_hi = max(0, stream.magic_lo_ns), min(dur, stream.magic_hi_ns)
    m_hi = max(m_lo, m_hi)
    lst_t, magic_t = stream.lst_true_ns, stream.magic_trigger_ns
    lst_d, magic_d = config.lst_dead_time_ns, config.magic_dead_time_ns
    overlap = m_hi - m_lo
    in_span = (magic_t >= m_lo) & (magic_t < m_hi)
    stereo = (stream.magic_true_ns >= m_lo) & (stream.magic_true_ns < m_hi)
    per_magic_s = 1e9 / overlap if overlap else 0.0
    return LiveTime(
        start_unix_ns=stream.t0_ns,
        stop_unix_ns=stream.t0_ns + dur,
        magic_start_unix_ns=stream.t0_ns + m_lo,
        magic_stop_unix_ns=stream.t0_ns + m_hi,
        duration_s=dur * 1e-9,
        magic_overlap_s=overlap * 1e-9,
        lst_live_s=(dur - covered_ns([lst_t], [lst_d], 0, dur)) * 1e-9,
        magic_live_s=(overlap - covered_ns([magic_t], [magic_d], m_lo, m_hi)) * 1e-9,
        live_s=(overlap - covered_ns([lst_t, magic_t], [lst_d, magic_d], m_lo, m_hi)) * 1e-9,
        lst_dead_time_ns=int(lst_d),
        magic_dead_time_ns=int(magic_d),
        lst_rate_hz=lst_t.size / (dur * 1e-9),
        lst_shower_rate_hz=int((stream.lst_kind <= KIND_LST_ONLY).sum()) / (dur * 1e-9),
        magic_rate_hz=int(in_span.sum()) * per_magic_s,
        magic_stereo_rate_hz=int(stereo.sum()) * per_magic_s,
    )
