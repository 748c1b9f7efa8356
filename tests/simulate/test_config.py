"""The parameters of a simulated subrun and their validation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lmcoinc.simulate import SimulationConfig, simulate
from lmcoinc.simulate.config import MAGIC_INTERLEAVED_RATE_HZ, validate


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_s": 0.0},
        {"magic_subrun_s": 0.0},
        {"lst_rate_hz": 200_000.0},
        {"magic_start_delay_s": 20.0},
    ],
)
def test_invalid_config(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        simulate(tmp_path, SimulationConfig(**kwargs))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"duration_s": -1.0}, "duration_s must be positive"),
    ({"duration_s": math.nan}, "duration_s must be positive"),
    ({"magic_subrun_s": 0.0}, "magic_subrun_s must be positive"),
    ({"lst_rate_hz": -1.0}, "trigger rates must not be negative"),
    ({"magic_stereo_rate_hz": -1.0}, "trigger rates must not be negative"),
    ({"magic_dead_time_ns": -1}, "dead times must not be negative"),
    ({"lst_rate_hz": 1e9 / 7600 + 1}, "lst_rate_hz is not reachable with lst_dead_time_ns"),
    ({"magic_stereo_rate_hz": 1e9 / 26000 - 2 * MAGIC_INTERLEAVED_RATE_HZ + 1},
     "magic_stereo_rate_hz is not reachable with magic_dead_time_ns"),
    ({"magic_start_delay_s": 11.0, "magic_extra_s": 1.0}, "the MAGIC data window is empty"),
    ({"drift_ns_per_s": math.inf}, "drift_ns_per_s must be finite"),
    ({"pointing_schedule": ((1.7e9, 70.0),)}, "segments are .start_unix_s, alt_deg, az_deg."),
    ({"pointing_schedule": ((1.7e9, 0.0, 10.0),)}, r"altitude 0.0 deg not in \(0, 90\]"),
    ({"pointing_schedule": ((1.7e9, 91.0, 10.0),)}, r"altitude 91.0 deg not in \(0, 90\]"),
    ({"pointing_schedule": ((1.7e9, 70.0, 10.0), (1.6e9, 60.0, 10.0))},
     "segments must be in time order"),
])
def test_validate(kwargs, message):
    with pytest.raises(ValueError, match=message):
        validate(SimulationConfig(**kwargs))


def test_valid_configurations():
    validate(SimulationConfig())
    validate(SimulationConfig(lst_rate_hz=0.0, magic_stereo_rate_hz=0.0, lst_dead_time_ns=0,
                              drift_ns_per_s=-5000.0, magic_start_delay_s=10.5))
    validate(SimulationConfig(pointing_schedule=((1.7e9, 90.0, 0.0), (1.7e9, 35.0, 80.0))))
    validate(SimulationConfig(lst_rate_hz=1e9 / 7600 - 1))  # just reachable
