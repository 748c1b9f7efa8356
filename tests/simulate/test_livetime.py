"""True live time: the dead intervals of both systems against a brute-force count per ns."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.simulate import SimulationConfig
from lmcoinc.simulate.clocks import ns
from lmcoinc.simulate.events import EventStream, simulate_events
from lmcoinc.simulate.livetime import covered_ns, live_time

#: 20 ms of LST-1; MAGIC (at 10 kHz, to be often dead) from 5 ms before to 4 ms before its end
TINY = SimulationConfig(
    duration_s=0.02, magic_start_delay_s=-0.005, magic_extra_s=-0.004,
    magic_stereo_rate_hz=10_000.0, seed=3,
)  # fmt: skip


def _stream(config: SimulationConfig) -> EventStream:
    return simulate_events(config, np.random.default_rng(config.seed))


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
