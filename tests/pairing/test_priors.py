"""pairing/priors: what a command starts with, and what the night adds beside the config."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from lmcoinc.clock.curve import OffsetCurve
from lmcoinc.config import parse_config
from lmcoinc.pairing.priors import Priors, command_priors

from ..helpers.configs import DEFAULT


def test_command_priors_follow_the_config_else_the_command():
    """The history fallback: off in ``run``, on in ``batch``, unless the config says."""
    config = parse_config(DEFAULT)
    assert command_priors(config, batch=False) == Priors(history_fallback=False)
    assert command_priors(config, batch=True) == Priors(history_fallback=True)
    for fallback in (True, False):
        explicit = replace(config, history_fallback=fallback)
        assert command_priors(explicit, batch=False).history_fallback is fallback
        assert command_priors(explicit, batch=True).history_fallback is fallback


def test_priors_start_empty_and_are_not_shared():
    first, second = Priors(), Priors()
    assert first == Priors(False, {}, {})
    assert first.night_offsets_ns is not second.night_offsets_ns
    assert first.run_curves is not second.run_curves
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.history_fallback = True  # type: ignore[misc]


def test_what_the_night_teaches_is_kept_beside_the_config():
    config = parse_config(DEFAULT)
    curve = OffsetCurve(0, (-3200.0,))
    priors = replace(command_priors(config, batch=True), night_offsets_ns={2: -3195},
                     run_curves={3: curve})
    assert (priors.history_fallback, priors.night_offsets_ns, priors.run_curves) == (
        True, {2: -3195}, {3: curve})
    assert config == parse_config(DEFAULT)  # the config is untouched
    assert not any(f.name in {"night_offsets_ns", "run_curves", "drift_priors"}
                   for f in dataclasses.fields(config))
