"""Config validation: every invalid config is a ConfigError (exit code 12) naming the key."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.config import default_config_text, load_config, parse_config
from lmcoinc.errors import ConfigError, exit_code

DEFAULT = yaml.safe_load(default_config_text())


def _with(path: str, value, base: dict | None = None) -> dict:
    """The default config with the value at a dotted key path set (value ... : deleted)."""
    raw = copy.deepcopy(base if base is not None else DEFAULT)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return raw


def _error(raw) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, "cfg.yaml")
    assert exit_code(info.value) == 12
    message = str(info.value)
    assert message.startswith("cfg.yaml: ")
    assert "\n" not in message
    return message


def test_default_config():
    config = load_config(None)
    assert config.tel_ids == {"LST-1": 1, "LST-2": 0, "LST-3": 0, "LST-4": 0,
                              "MAGIC-I": 2, "MAGIC-II": 3}
    assert config.tel_names == {1: "LST-1", 2: "MAGIC-I", 3: "MAGIC-II"}
    assert config.timestamp_type_lst == "dragon_time"
    assert config.window_half_width_ns == 300
    assert config.pre_offset_search is True
    assert config.n_pre_offset_search_events == 100
    assert not config.save_images


@pytest.mark.parametrize(
    ("value", "ns"), [("300 ns", 300), ("0.3 us", 300), ("0.3 µs", 300), ("1e-6 s", 1000),
                      ("300.4 ns", 300), ("1 ms", 1_000_000)]
)
def test_window_units(value, ns):
    config = parse_config(_with("event_coincidence.window_half_width", value))
    assert config.window_half_width_ns == ns


@pytest.mark.parametrize("ts", ["dragon_time", "tib_time", "ucts_time"])
def test_timestamp_types(ts):
    assert parse_config(_with("event_coincidence.timestamp_type_lst", ts)).timestamp_type_lst == ts


def test_fixed_scan_range():
    raw = _with("event_coincidence.pre_offset_search", False)
    raw = _with("event_coincidence.time_offset", {"start": "-76.1 ms", "stop": "-75.9 ms"}, raw)
    config = parse_config(raw)
    assert (config.offset_start_ns, config.offset_stop_ns) == (-76_100_000, -75_900_000)


def test_pre_offset_search_defaults_to_false_as_in_the_reference():
    config = parse_config(_with("event_coincidence.pre_offset_search", ...))
    assert config.pre_offset_search is False
    assert (config.offset_start_ns, config.offset_stop_ns) == (-10_000, 0)


# --- invalid values: the message names the key ---------------------------------

WINDOW = "event_coincidence.window_half_width"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("300 parsec", "is not a time (unit pc)"),
        ("300", "has no unit"),
        (300, 'must be a time quantity such as "300 ns"'),
        (None, "must be a time quantity"),
        ("three hundred ns", "is not a quantity"),
        ("300 nanofortnights", "is not a quantity"),
        ("0 ns", "must be positive"),
        ("-300 ns", "must be positive"),
        ("0.4 ns", "must be positive"),  # rounds to 0 ns
        ("nan ns", "is not finite"),
        ("inf ns", "is not finite"),
    ],
)
def test_invalid_window(value, problem):
    message = _error(_with(WINDOW, value))
    assert WINDOW in message and problem in message


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("event_coincidence.timestamp_type_lst", "gps_time", "is unknown; use one of"),
        ("event_coincidence.timestamp_type_lst", None, "is unknown"),
        ("event_coincidence.pre_offset_search", "yes please", "must be true or false"),
        ("event_coincidence.n_pre_offset_search_events", 0, "must be a positive integer"),
        ("event_coincidence.n_pre_offset_search_events", 10.5, "must be a positive integer"),
        ("event_coincidence.n_pre_offset_search_events", True, "must be a positive integer"),
        ("save_images", "no", "must be true or false"),
        ("event_coincidence", ["a"], "must be a mapping"),
        ("mc_tel_ids", [1, 2, 3], "must be a mapping"),
    ],
)
def test_invalid_value(path, value, problem):
    message = _error(_with(path, value))
    assert path in message and problem in message


@pytest.mark.parametrize(
    "path",
    [
        "mc_tel_ids",
        "event_coincidence",
        "event_coincidence.timestamp_type_lst",
        "event_coincidence.window_half_width",
        "event_coincidence.n_pre_offset_search_events",
    ],
)
def test_missing_key(path):
    assert _error(_with(path, ...)).endswith(f"missing key {path}")


@pytest.mark.parametrize("end", ["start", "stop"])
def test_fixed_range_keys(end):
    raw = _with("event_coincidence.pre_offset_search", False)
    key = f"event_coincidence.time_offset.{end}"
    assert _error(_with(key, ..., raw)).endswith(f"missing key {key}")
    message = _error(_with(key, "5", raw))
    assert key in message and "has no unit" in message
    message = _error(_with(key, "5 m", raw))
    assert key in message and "is not a time" in message
    message = _error(_with("event_coincidence.time_offset", ..., raw))
    assert message.endswith("missing key event_coincidence.time_offset")


def test_scan_range_must_be_increasing():
    raw = _with("event_coincidence.pre_offset_search", False)
    raw = _with("event_coincidence.time_offset", {"start": "0 us", "stop": "-10 us"}, raw)
    assert "event_coincidence.time_offset.stop must be above start" in _error(raw)


# --- the telescope list: magic-cta-pipe's rules ------------------------------------

TELS = dict(DEFAULT["mc_tel_ids"])


@pytest.mark.parametrize(
    ("tel_ids", "problem"),
    [
        ({k: v for k, v in TELS.items() if k != "LST-4"}, "lists 5 telescopes; it must list all"),
        ({**TELS, "LST-5": 0}, "lists 7 telescopes"),
        ({"MAGIC-I": 2, "MAGIC-II": 3, "LST-1": 1, "LST-2": 0, "LST-3": 0, "LST-4": 0},
         "must list LST-1..LST-4 first"),
        ({"LST-1": 1, "LST-2": 0, "LST-3": 0, "MAGIC-I": 2, "LST-4": 0, "MAGIC-II": 3},
         "must list LST-1..LST-4 first"),
        ({"LST-1": 1, "LST-2": 0, "LST-3": 0, "LST-4": 0, "MAGIC-I": 2, "MAGIC-3": 3},
         "must list MAGIC-I, MAGIC-II last"),
        ({**TELS, "MAGIC-II": "3"}, "mc_tel_ids.MAGIC-II must be an integer"),
        ({**TELS, "LST-2": True}, "mc_tel_ids.LST-2 must be an integer"),
        ({**TELS, "MAGIC-II": 2}, "gives the same id to two telescopes"),
        ({**TELS, "LST-1": 0}, "must give LST-1, MAGIC-I and MAGIC-II ids > 0"),
        ({**TELS, "MAGIC-I": -1}, "must give LST-1, MAGIC-I and MAGIC-II ids > 0"),
    ],
)
def test_telescope_rules(tel_ids, problem):
    message = _error(_with("mc_tel_ids", tel_ids))
    assert "mc_tel_ids" in message and problem in message


def test_more_lsts_in_use_are_accepted():
    config = parse_config(_with("mc_tel_ids", {**TELS, "LST-2": 4}))
    assert config.tel_names == {1: "LST-1", 4: "LST-2", 2: "MAGIC-I", 3: "MAGIC-II"}


# --- files -------------------------------------------------------------------------


def test_file_not_found(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found$"):
        load_config(tmp_path / "nope.yaml")


def test_file_is_directory(tmp_path):
    with pytest.raises(ConfigError, match="is a directory, expected a YAML config file"):
        load_config(tmp_path)


def test_file_not_text(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\x89HDF\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not a text file"):
        load_config(path)


def test_not_yaml(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("mc_tel_ids:\n    LST-1: 1\n  MAGIC-I: [2\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: not valid YAML at line \d+, column \d+"):
        load_config(path)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_not_a_mapping(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="the config must be a YAML mapping"):
        load_config(path)


def test_magic_cta_pipe_config_with_other_sections(tmp_path, caplog):
    """magic-cta-pipe's config file has sections for its other scripts: accepted in silence."""
    sections = ("LST", "MAGIC", "stereo_reco", "energy_regressor", "disp_regressor",
                "event_classifier", "create_irf", "dl2_to_dl3", "cloud_correction",
                "cloud_estimator", "general", "directories", "directions_matching")
    raw = {**DEFAULT, **{section: {} for section in sections}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    with caplog.at_level(logging.WARNING, logger="lmcoinc.config"):
        assert load_config(path).window_half_width_ns == 300
    assert caplog.text == ""


_FIXED_RANGE = _with("event_coincidence.pre_offset_search", False)


@pytest.mark.parametrize(("key", "value", "warning"), [
    ("event_coincidence.pre_offset_serch", True,
     "cfg.yaml: event_coincidence.pre_offset_serch: unknown key, ignored; "
     "did you mean pre_offset_search?"),
    ("event_coincidence.n_pre_offset_events", 50,
     "cfg.yaml: event_coincidence.n_pre_offset_events: unknown key, ignored; "
     "did you mean n_pre_offset_search_events?"),
    ("event_coincidence.colour", "blue",
     "cfg.yaml: event_coincidence.colour: unknown key, ignored (known keys: timestamp_type_lst, "
     "window_half_width, pre_offset_search, n_pre_offset_search_events, time_offset, "
     "geometric_delay, min_coincidences, offset_history, offset_model, max_clock_offset, "
     "max_drift_us_per_s, drift_slice)"),
    ("save_image", True,
     "cfg.yaml: save_image: unknown key, ignored; did you mean save_images?"),
    ("event_coincidence.time_offset.stopp", "1 us",
     "cfg.yaml: event_coincidence.time_offset.stopp: unknown key, ignored; did you mean stop?"),
])
def test_unknown_key_is_warned_with_the_closest_known_key(caplog, key, value, warning):
    """One warning naming the key and its closest known key; the key is ignored."""
    with caplog.at_level(logging.WARNING, logger="lmcoinc.config"):
        found = parse_config(_with(key, value, _FIXED_RANGE), "cfg.yaml")
    assert [r.getMessage() for r in caplog.records] == [warning]
    assert found == parse_config(_FIXED_RANGE)


def test_known_keys_give_no_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="lmcoinc.config"):
        parse_config(_with("save_images", True, _FIXED_RANGE), "cfg.yaml")
        parse_config(DEFAULT, "cfg.yaml")
    assert caplog.text == ""


@pytest.mark.parametrize(("key", "typo"), [
    ("event_coincidence.window_half_width", "window_half_widht"),
    ("event_coincidence", "event_coincidance"),
    ("event_coincidence.time_offset.start", "strat"),
])
def test_missing_key_names_its_likely_typo(key, typo):
    """A required key written wrong: the error names both the missing key and the typo."""
    *parents, last = key.split(".")
    raw = copy.deepcopy(_FIXED_RANGE)
    node = raw
    for part in parents:
        node = node[part]
    node[typo] = node.pop(last)
    with pytest.raises(ConfigError) as err:
        parse_config(raw, "cfg.yaml")
    assert str(err.value) == f"cfg.yaml: missing key {key} ({typo} is not a known key: a typo?)"


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(st.integers(-10**9, 10**9).map(str),
              st.floats(-1e6, 1e6, allow_nan=False).map(repr),
              st.decimals(-10**6, 10**6, places=4, allow_nan=False).map(str)),
    st.sampled_from(["ns", "us", "µs", "ms", "s"]),
    st.sampled_from(["", " ", "  "]),
)
def test_plain_time_units_convert_exactly_as_astropy(number, unit, space):
    from astropy import units as u

    from lmcoinc.quantities import quantity_ns

    text = f"{number}{space}{unit}"
    want = u.Quantity(text).to_value(u.ns)
    assert quantity_ns(text, "key", "cfg") == want


def test_top_level_config_is_the_packaged_default():
    """configs/config.yaml (what users copy) is the built-in default, word for word."""
    top = Path(__file__).resolve().parents[1] / "configs" / "config.yaml"
    assert top.read_text() == default_config_text()


def test_offset_model_defaults_to_constant_and_drift_keys_have_defaults():
    config = load_config(None)
    assert config.offset_model == "constant"
    assert config.offset_search_range_ns is None  # the pre-offset search
    drift = parse_config(_with("event_coincidence.offset_model", "drift"))
    assert drift.offset_model == "drift"
    assert drift.max_clock_offset_ns == 10 * 10**9
    assert drift.max_drift_ns_per_s == 20_000.0
    assert drift.drift_slice_ns == 10**9
    assert drift.offset_search_range_ns == (-10 * 10**9, 10 * 10**9)


def test_drift_keys():
    raw = _with("event_coincidence.offset_model", "drift")
    raw = _with("event_coincidence.max_clock_offset", "2.5 s", raw)
    raw = _with("event_coincidence.max_drift_us_per_s", 7, raw)
    raw = _with("event_coincidence.drift_slice", "500 ms", raw)
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
    message = _error(_with(path, value))
    assert path in message and problem in message
