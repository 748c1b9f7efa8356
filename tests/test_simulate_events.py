"""Tests of the simulator's trigger stream, clocks and live time (no files)."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.simulate import SimulationConfig
from lmcoinc.simulate.clocks import clock_reference_ns, magic_clock_shift_ns, ns
from lmcoinc.simulate.events import EventStream, dead_time_mask, simulate_events
from lmcoinc.simulate.livetime import covered_ns, live_time

#: 20 ms of LST-1; MAGIC (at 10 kHz, to be often dead) from 5 ms before to 4 ms before its end
TINY = SimulationConfig(
    duration_s=0.02, magic_start_delay_s=-0.005, magic_extra_s=-0.004,
    magic_stereo_rate_hz=10_000.0, seed=3,
)  # fmt: skip


def _stream(config: SimulationConfig) -> EventStream:
    return simulate_events(config, np.random.default_rng(config.seed))


def test_dead_time_mask() -> None:
    t = np.array([0, 5, 9, 12, 30, 31, 45], dtype=np.int64)
    keep = dead_time_mask(t, 10)
    # 0 kept; 5, 9 within 10 of 0; 12 kept; 30 kept; 31 dropped; 45 kept
    assert keep.tolist() == [True, False, False, True, True, False, True]
    assert dead_time_mask(t, 0).all()


def test_stream_dead_times_and_clocks() -> None:
    config = SimulationConfig(duration_s=0.5, seed=1)
    stream = _stream(config)
    assert np.all(np.diff(stream.lst_true_ns) >= config.lst_dead_time_ns)
    assert np.all(np.diff(stream.magic_trigger_ns) >= config.magic_dead_time_ns)
    assert np.isin(stream.magic_true_ns, stream.magic_trigger_ns).all()
    # without geometric delay both MAGIC telescopes read the same time
    assert np.array_equal(stream.magic_stamps_ns[0], stream.magic_stamps_ns[1])
    assert not stream.magic_delays_ns.any()
    error = stream.magic_stamps_ns[0] - stream.magic_true_ns - config.true_offset_ns
    assert np.abs(error).max() <= 50 + 5 * 20  # half the grid + 5 sigma of jitter


def test_clock_shift_and_reference() -> None:
    t0 = ns(1_700_000_000.0)
    t = np.array([-10**9, 0, 5 * 10**9], dtype=np.int64)
    plain = SimulationConfig(true_offset_ns=2_437_000_000)
    assert magic_clock_shift_ns(plain, t0, t).tolist() == [2_437_000_000.0] * 3
    drifting = SimulationConfig(true_offset_ns=-3200, drift_ns_per_s=4000.0)
    # t_ref: the start of the MAGIC data, 1 s before the LST subrun
    assert clock_reference_ns(drifting, t0) == t0 - 10**9
    assert magic_clock_shift_ns(drifting, t0, t) == pytest.approx([-3200, 800, 20800])
    fixed = SimulationConfig(drift_ns_per_s=4000.0, clock_reference_unix_s=1_699_999_990.0)
    assert magic_clock_shift_ns(fixed, t0, t)[1] == pytest.approx(-3200 + 40_000)


def _brute_live(stream: EventStream, config: SimulationConfig) -> tuple[int, int, int]:
    """(LST live, MAGIC live, both live) ns, one boolean per ns."""
    dur = ns(config.duration_s)
    lst_dead = np.zeros(dur, bool)
    magic_dead = np.zeros(dur, bool)
    for times, dead, mask in (
        (stream.lst_true_ns, config.lst_dead_time_ns, lst_dead),
        (stream.magic_trigger_ns, config.magic_dead_time_ns, magic_dead),
    ):
        for t in times:
            mask[max(t, 0) : max(min(t + dead, dur), 0)] = True
    covered = np.zeros(dur, bool)
    covered[max(stream.magic_lo_ns, 0) : min(stream.magic_hi_ns, dur)] = True
    return (
        int((~lst_dead).sum()),
        int((covered & ~magic_dead).sum()),
        int((covered & ~lst_dead & ~magic_dead).sum()),
    )


def test_live_time_against_brute_force() -> None:
    stream = _stream(TINY)
    assert stream.magic_trigger_ns.min() < 0 and stream.magic_trigger_ns.size > 100
    live = live_time(stream, TINY)
    lst_live, magic_live, both = _brute_live(stream, TINY)
    assert round(live.lst_live_s * 1e9) == lst_live
    assert round(live.magic_live_s * 1e9) == magic_live
    assert round(live.live_s * 1e9) == both
    assert live.magic_overlap_s == pytest.approx(0.016)
    assert both < min(lst_live, magic_live)
    assert live.lst_rate_hz == stream.lst_true_ns.size / 0.02


def test_covered_ns_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        triggers = [np.sort(rng.integers(-50, 300, rng.integers(0, 12))) for _ in range(2)]
        dead = [int(rng.integers(0, 40)), int(rng.integers(0, 40))]
        lo, hi = sorted(rng.integers(-20, 320, 2).tolist())
        mask = np.zeros(400, bool)
        for times, d in zip(triggers, dead, strict=True):
            for t in times:
                mask[t + 60 : t + d + 60] = True
        assert covered_ns(triggers, dead, lo, hi) == mask[lo + 60 : hi + 60].sum()
    assert covered_ns([np.array([5])], [10], 20, 10) == 0
