"""utils/timer: wall time per stage, summed over repeated entries (a clock driven by hand)."""

from __future__ import annotations

import pytest

from lmcoinc.utils import timer as timer_module
from lmcoinc.utils.timer import StageTimer


@pytest.fixture
def clock(monkeypatch):
    """``time.perf_counter`` of the timer module, advanced by hand (``clock.now``)."""

    class Clock:
        now = 100.0

        def __call__(self) -> float:
            return self.now

    fake = Clock()
    monkeypatch.setattr(timer_module.time, "perf_counter", fake)
    return fake


def test_stages_are_summed_over_entries(clock):
    timer = StageTimer()
    assert timer.timings == {}
    with timer.stage("read"):
        clock.now += 1.5
    with timer.stage("offsets"):
        clock.now += 0.25
    with timer.stage("read"):
        clock.now += 2.0
    assert timer.timings == {"read": 3.5, "offsets": 0.25}
    assert list(timer.timings) == ["read", "offsets"]  # in the order first entered


def test_nested_stages_each_count_their_own_time(clock):
    timer = StageTimer()
    with timer.stage("write"):
        clock.now += 1.0
        with timer.stage("subarray"):
            clock.now += 0.5
    assert timer.timings == {"write": 1.5, "subarray": 0.5}


def test_a_stage_that_fails_is_timed(clock):
    timer = StageTimer()
    with pytest.raises(KeyboardInterrupt), timer.stage("read"):
        clock.now += 4.0
        raise KeyboardInterrupt
    assert timer.timings == {"read": 4.0}
