"""Parameters of a simulated LST-1 subrun and the MAGIC data overlapping it."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LST_INTERLEAVED_RATE_HZ", "MAGIC_INTERLEAVED_RATE_HZ", "SimulationConfig", "validate"]

#: rate of the LST-1 interleaved pedestal and flat-field events, each
LST_INTERLEAVED_RATE_HZ = 100.0
#: rate of the MAGIC interleaved pedestal and calibration events, each (not
#: written; they only cost dead time and enter ``time_diff``)
MAGIC_INTERLEAVED_RATE_HZ = 25.0


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of a simulated LST-1 subrun with the overlapping MAGIC data.

    Attributes
    ----------
    duration_s : float
        Length of the LST-1 subrun in seconds.
    true_offset_ns : int
        MAGIC clock minus LST clock at the clock reference time (seconds are
        fine: a broken MAGIC GPS is off by seconds).
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
    drift_ns_per_s : float
        MAGIC clock rate error: for a shower at true time ``t`` (the LST-1
        clock), ``t_MAGIC = t + true_offset_ns + drift_ns_per_s * (t - t_ref)``
        (times in s in the last term).
    clock_reference_unix_s : float or None
        ``t_ref`` (UNIX s); ``None``: the start of this call's MAGIC data
        (``start_unix_s + magic_start_delay_s``). ``simulate_night`` sets the
        start of the night's MAGIC data, so that its subruns share one clock.
    geometric_delay : bool
        Add to each MAGIC telescope's time the light-travel delay of a plane
        shower front from the pointing direction, relative to LST-1 (see
        :func:`lmcoinc.simulate.pointing.geometric_delays_ns`).
    pointing_schedule : tuple of (float, float, float)
        ``(start_unix_s, alt_deg, az_deg)`` segments, in time order: from its
        start on, a segment tracks the source at that alt/az (sidereal motion
        at La Palma). Empty: a slow linear drift around alt 68.8 deg, az 189 deg.
    clock_steps : tuple of (float, float)
        ``(unix_s, size_ns)`` jumps of the MAGIC clock, in time order: from true
        time ``unix_s`` on, the MAGIC clock reads ``size_ns`` more (a GPS re-lock,
        a resynchronisation). Empty: none.
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
    drift_ns_per_s: float = 0.0
    clock_reference_unix_s: float | None = None
    geometric_delay: bool = False
    pointing_schedule: tuple[tuple[float, float, float], ...] = ()
    clock_steps: tuple[tuple[float, float], ...] = ()


def validate(config: SimulationConfig) -> None:
    """Check that a configuration can be simulated.

    Raises
    ------
    ValueError
        If the configuration is inconsistent (non-positive durations or
        rates, rates not compatible with the dead times, empty MAGIC window).
    """
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
    magic_total = config.magic_stereo_rate_hz + 2 * MAGIC_INTERLEAVED_RATE_HZ
    if magic_total * config.magic_dead_time_ns * 1e-9 >= 1:
        raise ValueError("magic_stereo_rate_hz is not reachable with magic_dead_time_ns")
    if config.duration_s + config.magic_extra_s <= config.magic_start_delay_s:
        raise ValueError("the MAGIC data window is empty")
    if not math.isfinite(config.drift_ns_per_s):
        raise ValueError("drift_ns_per_s must be finite")
    _validate_schedule(config.pointing_schedule)
    _validate_steps(config.clock_steps)


def _validate_schedule(schedule: tuple[tuple[float, float, float], ...]) -> None:
    starts = []
    for segment in schedule:
        if len(segment) != 3:
            raise ValueError("pointing_schedule: segments are (start_unix_s, alt_deg, az_deg)")
        start, alt, _ = segment
        if not 0 < alt <= 90:
            raise ValueError(f"pointing_schedule: altitude {alt} deg not in (0, 90]")
        starts.append(start)
    if starts != sorted(starts):
        raise ValueError("pointing_schedule: segments must be in time order")


def _validate_steps(steps: tuple[tuple[float, float], ...]) -> None:
    times = []
    for step in steps:
        if len(step) != 2 or not all(math.isfinite(v) for v in step):
            raise ValueError("clock_steps: steps are finite (unix_s, size_ns)")
        times.append(step[0])
    if times != sorted(times):
        raise ValueError("clock_steps: steps must be in time order")
