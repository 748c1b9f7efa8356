"""config/clock_keys: the keys beyond magic-cta-pipe's (geometric delay, weak results, offset
history, offset model, drift mode), through the whole config and directly."""

from __future__ import annotations

import datetime as dt

import pytest

from lmcoinc.config import OFFSET_MODELS, load_config, parse_config
from lmcoinc.config.clock_keys import HISTORY_KEYS, clock_settings, drift_settings
from lmcoinc.config.history import packaged_history
from lmcoinc.errors import ConfigError

from ..helpers.configs import DEFAULT, config_error, with_key

D = dt.date
HISTORY = "event_coincidence.offset_history"


def test_defaults_keep_the_reference_behaviour():
    config = parse_config(DEFAULT)
    assert not config.geometric_delay
    assert config.history_fallback is None  # the command decides: run off, batch on
    assert config.history_tolerance_ns == 1000
    assert config.min_coincidences == 10
    assert config.offset_history == packaged_history()


def test_user_table_extends_or_replaces(tmp_path):
    table = tmp_path / "mine.yaml"
    table.write_text("- {start: 2023-12-05, end: 2023-12-06, offset_us: -2.9}\n"
                     "- {start: '2024-02-01', end: null, offset_us: 17}\n")
    raw = with_key(HISTORY, {"file": str(table), "tolerance": "0.5 us", "fallback": True})
    config = parse_config(raw)
    history = config.offset_history
    assert history.entry_at(D(2023, 12, 5)).offset_ns == -2900
    assert history.entry_at(D(2023, 12, 5)).source == str(table)
    assert history.entry_at(D(2023, 12, 7)).offset_ns == -3200  # the packaged table
    assert history.entry_at(D(2024, 3, 1)).offset_ns == 17000
    assert config.history_tolerance_ns == 500 and config.history_fallback is True
    replaced = parse_config(with_key(HISTORY, {"file": str(table), "replace": True})).offset_history
    assert replaced.entry_at(D(2023, 12, 7)) is None
    assert replaced.entry_at(D(2023, 12, 6)).offset_ns == -2900


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (HISTORY, ["x"], "must be a mapping"),
        (HISTORY, {"fil": "x.yaml"}, "unknown key(s) event_coincidence.offset_history.fil"),
        (HISTORY, {"file": "no_such.yaml"}, "cannot read the offset history no_such.yaml"),
        (HISTORY, {"file": 3}, "must be a file name"),
        (HISTORY, {"replace": True}, "offset_history.replace needs"),
        (HISTORY, {"tolerance": "0 us"}, "offset_history.tolerance must be positive"),
        (HISTORY, {"tolerance": "1 m"}, "offset_history.tolerance"),
        (HISTORY, {"fallback": "yes"}, "offset_history.fallback must be true or false"),
        ("event_coincidence.geometric_delay", 1, "must be true or false"),
        ("event_coincidence.min_coincidences", 0, "must be a positive integer"),
        ("event_coincidence.min_coincidences", True, "must be a positive integer"),
    ],
)
def test_invalid_keys(path, value, problem):
    message = config_error(with_key(path, value))
    assert problem in message


def test_offset_model_defaults_to_constant_and_drift_keys_have_defaults():
    config = load_config(None)
    assert config.offset_model == "constant"
    drift = parse_config(with_key("event_coincidence.offset_model", "drift"))
    assert drift.offset_model == "drift"
    assert drift.max_clock_offset_ns == 10 * 10**9
    assert drift.max_drift_ns_per_s == 20_000.0
    assert drift.drift_slice_ns == 10**9


def test_drift_keys():
    raw = with_key("event_coincidence.offset_model", "drift")
    raw = with_key("event_coincidence.max_clock_offset", "2.5 s", raw)
    raw = with_key("event_coincidence.max_drift_us_per_s", 7, raw)
    raw = with_key("event_coincidence.drift_slice", "500 ms", raw)
    config = parse_config(raw)
    assert (config.max_clock_offset_ns, config.max_drift_ns_per_s, config.drift_slice_ns) == (
        2_500_000_000, 7000.0, 500_000_000)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("offset_model", "linear", "is unknown; use one of constant, drift"),
        ("offset_model", None, "is unknown"),
        ("max_clock_offset", "-1 s", "must be above 0 and below 1 day"),
        ("max_clock_offset", "2 d", "must be above 0 and below 1 day"),
        ("max_clock_offset", "10", "has no unit"),
        ("max_clock_offset", "10 m", "is not a time"),
        ("max_clock_offset", 10, "must be a time quantity"),
        ("max_drift_us_per_s", "20 us/s", "must be a number of µs per s"),
        ("max_drift_us_per_s", 0, "must be a number of µs per s"),
        ("max_drift_us_per_s", True, "must be a number of µs per s"),
        ("max_drift_us_per_s", float("nan"), "must be a number of µs per s"),
        ("drift_slice", "0 s", "must be above 0"),
    ],
)
def test_invalid_drift_keys(key, value, problem):
    """Validated in either mode, as every key."""
    path = f"event_coincidence.{key}"
    message = config_error(with_key(path, value))
    assert path in message and problem in message


# --- the settings of the keys, directly ---------------------------------------------


def test_settings_of_an_empty_section_are_the_defaults():
    assert clock_settings({}, "cfg.yaml") == {
        "geometric_delay": False, "min_coincidences": 10, "offset_history": packaged_history(),
        "history_tolerance_ns": 1000, "history_fallback": None,
    }
    assert drift_settings({}, "cfg.yaml") == {
        "offset_model": "constant", "max_clock_offset_ns": 10 * 10**9,
        "max_drift_ns_per_s": 20_000.0, "drift_slice_ns": 10**9,
    }
    assert list(OFFSET_MODELS) == ["constant", "drift"]
    assert HISTORY_KEYS == ("file", "replace", "tolerance", "fallback")


@pytest.mark.parametrize(("value", "ns"), [
    ("0.6 ns", 1), ("1.5 ns", 2), ("2.5 ns", 2), ("86399.999999999 s", 86_399_999_999_999),
])
def test_durations_are_rounded_to_whole_ns(value, ns):
    """Rounded as numpy rounds (half to even), then checked: above 0, below a day."""
    assert drift_settings({"drift_slice": value}, "cfg.yaml")["drift_slice_ns"] == ns


@pytest.mark.parametrize("value", ["0.4 ns", "86400 s", "1 d"])
def test_durations_out_of_range(value):
    with pytest.raises(ConfigError) as err:
        drift_settings({"max_clock_offset": value}, "cfg.yaml")
    assert str(err.value) == (f"cfg.yaml: event_coincidence.max_clock_offset must be above 0 "
                              f"and below 1 day, got {value!r}")


def test_history_tolerance_is_rounded_and_flags_are_booleans():
    settings = clock_settings({"offset_history": {"tolerance": "1.2 us", "fallback": False},
                               "geometric_delay": True, "min_coincidences": 3}, "cfg.yaml")
    assert settings["history_tolerance_ns"] == 1200
    assert settings["history_fallback"] is False
    assert settings["geometric_delay"] is True and settings["min_coincidences"] == 3
    with pytest.raises(ConfigError) as err:
        clock_settings({"offset_history": {"fallback": 1}}, "mine.yaml")
    assert str(err.value) == ("mine.yaml: event_coincidence.offset_history.fallback must be "
                              "true or false")
    with pytest.raises(ConfigError) as err:
        clock_settings({"min_coincidences": 2.0}, "mine.yaml")
    assert str(err.value) == ("mine.yaml: event_coincidence.min_coincidences must be a positive "
                              "integer, got 2.0")


def test_every_offset_model_is_accepted():
    for name in OFFSET_MODELS:
        assert drift_settings({"offset_model": name}, "cfg.yaml")["offset_model"] == name
    with pytest.raises(ConfigError) as err:
        drift_settings({"offset_model": "Drift"}, "cfg.yaml")
    assert str(err.value) == ("cfg.yaml: event_coincidence.offset_model = 'Drift' is unknown; "
                              "use one of constant, drift")
