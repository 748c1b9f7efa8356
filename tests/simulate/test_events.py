"""The simulator's trigger stream: dead times, the clocks of both systems (no files)."""

from __future__ import annotations

import numpy as np

from lmcoinc.simulate import SimulationConfig
from lmcoinc.simulate.events import EventStream, dead_time_mask, simulate_events


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
