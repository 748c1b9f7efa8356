"""The clocks of both systems: 100 ns grids, jitter, MAGIC's offset, drift and steps.

True time is the LST-1 clock's time. For a trigger at true time ``t``, LST-1
reads ``t`` plus a jitter on its own run-phased 100 ns grid; MAGIC reads
``t + true_offset_ns + drift_ns_per_s * (t - t_ref)`` plus the sizes of the
clock steps at or before ``t`` (plus the geometric delay of each telescope,
if enabled) plus a jitter, on the absolute 100 ns grid. All times int64 ns;
relative ones count from the LST subrun start ``t0_ns``.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from .config import SimulationConfig

__all__ = [
    "CLOCK_GRID_NS",
    "clock_reference_ns",
    "clock_steps_truth",
    "lst_clock",
    "magic_clock_shift_ns",
    "magic_clocks",
    "magic_clock_steps_ns",
    "ns",
]

CLOCK_GRID_NS = 100
_LST_JITTER_NS = 20.0
_MAGIC_JITTER_NS = 20.0


def ns(seconds: float) -> int:
    """Seconds (float) to integer nanoseconds through the shortest decimal repr."""
    return int((Decimal(repr(float(seconds))) * 10**9).to_integral_value())


def _grid(t: np.ndarray, phase_ns: int = 0) -> np.ndarray:
    """Round float ns times to the 100 ns clock grid ``phase_ns + k * 100`` (int64)."""
    k = np.rint((t - phase_ns) / CLOCK_GRID_NS).astype(np.int64)
    return k * CLOCK_GRID_NS + phase_ns


def _lst_clock_phase(t0_ns: int, obs_id: int) -> int:
    """Phase (ns, relative to ``t0_ns``) of the LST-1 100 ns clock grid of a run.

    ``ctapipe_io_lst`` computes the dragon time as the UCTS (White Rabbit, 1 ns)
    timestamp of the run's first event plus multiples of the 100 ns counter, so
    the grid has a run-specific ns phase (drawn from the run number here).
    """
    phase_abs = int(np.random.default_rng(obs_id).integers(0, CLOCK_GRID_NS))
    return (phase_abs - t0_ns) % CLOCK_GRID_NS


def clock_reference_ns(config: SimulationConfig, t0_ns: int) -> int:
    """``t_ref`` of the MAGIC drift (UNIX ns): the configured one or the MAGIC data start."""
    if config.clock_reference_unix_s is None:
        return t0_ns + ns(config.magic_start_delay_s)
    return ns(config.clock_reference_unix_s)


def magic_clock_shift_ns(config: SimulationConfig, t0_ns: int, t_ns: np.ndarray) -> np.ndarray:
    """MAGIC clock minus true time (float ns) at true times ``t_ns`` (from ``t0_ns``)."""
    shift = np.full(np.shape(t_ns), float(config.true_offset_ns))
    if config.drift_ns_per_s:
        since_ref = t0_ns - clock_reference_ns(config, t0_ns) + np.asarray(t_ns)
        shift += config.drift_ns_per_s * since_ref * 1e-9
    if config.clock_steps:
        shift += magic_clock_steps_ns(config, t0_ns, t_ns)
    return shift


def magic_clock_steps_ns(config: SimulationConfig, t0_ns: int, t_ns: np.ndarray) -> np.ndarray:
    """The part of the MAGIC clock shift due to its steps (float ns) at true times ``t_ns``."""
    at = np.array([ns(unix_s) - t0_ns for unix_s, _ in config.clock_steps], dtype=np.int64)
    size = np.array([0.0] + [float(s) for _, s in config.clock_steps])
    return np.cumsum(size)[np.searchsorted(at, np.asarray(t_ns), side="right")]


def clock_steps_truth(config: SimulationConfig, t0_ns: int) -> list[dict]:
    """The MAGIC clock steps for the truth: ``unix_ns``, ``size_ns`` and ``in_subrun``
    (whether the step falls within this LST subrun)."""
    end = t0_ns + ns(config.duration_s)
    return [{"unix_ns": ns(unix_s), "size_ns": float(size),
             "in_subrun": bool(t0_ns <= ns(unix_s) < end)}
            for unix_s, size in config.clock_steps]


def lst_clock(
    rng: np.random.Generator, config: SimulationConfig, t0_ns: int, t_ns: np.ndarray
) -> np.ndarray:
    """LST-1 clock readings (int64 ns from ``t0_ns``) of triggers at true times ``t_ns``."""
    phase = _lst_clock_phase(t0_ns, config.lst_obs_id)
    return _grid(t_ns + rng.normal(0.0, _LST_JITTER_NS, t_ns.size), phase)


def magic_clocks(
    rng: np.random.Generator,
    config: SimulationConfig,
    t0_ns: int,
    t_ns: np.ndarray,
    delays_ns: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """MAGIC clock readings of triggers at true times ``t_ns``, per telescope.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator of the jitter (one draw per trigger, common to M1 and M2).
    config : SimulationConfig
        Offset, drift and clock reference.
    t0_ns : int
        UNIX ns of the LST subrun start.
    t_ns : numpy.ndarray
        True times (int64 ns from ``t0_ns``) of all accepted MAGIC triggers.
    delays_ns : numpy.ndarray or None
        Shape ``(2, n)``: geometric delay of M1 and M2; ``None``: none.

    Returns
    -------
    stamps : numpy.ndarray
        Shape ``(2, n)``: int64 clock readings (ns from ``t0_ns``) of M1 and M2.
    time_diff : numpy.ndarray
        Shape ``(2, n)``: time since the previous trigger of any type (s),
        ``MRawEvtHeader.fTimeDiff`` (counted by the trigger, not the clock: a
        clock step does not enter it).
    """
    clock = t_ns + magic_clock_shift_ns(config, t0_ns, t_ns) + rng.normal(
        0.0, _MAGIC_JITTER_NS, t_ns.size
    )
    if delays_ns is None:
        stamp = _grid(clock)
        stamps = np.stack([stamp, stamp])
    else:
        stamps = np.stack([_grid(clock + delays_ns[k]) for k in (0, 1)])
    counted = stamps
    if config.clock_steps:
        counted = stamps - np.rint(magic_clock_steps_ns(config, t0_ns, t_ns)).astype(np.int64)
    time_diff = np.diff(counted, axis=1, prepend=counted[:, :1]) * 1e-9
    return stamps, time_diff
