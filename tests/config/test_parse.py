"""Config validation: every invalid config is a ConfigError (exit code 12) naming the key
(the clock and drift keys: test_clock_keys.py; time quantities: test_quantities.py)."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest
import yaml

from lmcoinc.config.parse import default_config_text, load_config, parse_config
from lmcoinc.errors import ConfigError

from ..helpers.configs import DEFAULT, config_error, with_key


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
    config = parse_config(with_key("event_coincidence.window_half_width", value))
    assert config.window_half_width_ns == ns


@pytest.mark.parametrize("ts", ["dragon_time", "tib_time", "ucts_time"])
def test_timestamp_types(ts):
    config = parse_config(with_key("event_coincidence.timestamp_type_lst", ts))
    assert config.timestamp_type_lst == ts


def test_fixed_scan_range():
    raw = with_key("event_coincidence.pre_offset_search", False)
    raw = with_key("event_coincidence.time_offset", {"start": "-76.1 ms", "stop": "-75.9 ms"}, raw)
    config = parse_config(raw)
    assert (config.offset_start_ns, config.offset_stop_ns) == (-76_100_000, -75_900_000)


def test_pre_offset_search_defaults_to_false_as_in_the_reference():
    config = parse_config(with_key("event_coincidence.pre_offset_search", ...))
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
    message = config_error(with_key(WINDOW, value))
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
    message = config_error(with_key(path, value))
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
    assert config_error(with_key(path, ...)).endswith(f"missing key {path}")


@pytest.mark.parametrize("end", ["start", "stop"])
def test_fixed_range_keys(end):
    raw = with_key("event_coincidence.pre_offset_search", False)
    key = f"event_coincidence.time_offset.{end}"
    assert config_error(with_key(key, ..., raw)).endswith(f"missing key {key}")
    message = config_error(with_key(key, "5", raw))
    assert key in message and "has no unit" in message
    message = config_error(with_key(key, "5 m", raw))
    assert key in message and "is not a time" in message
    message = config_error(with_key("event_coincidence.time_offset", ..., raw))
    assert message.endswith("missing key event_coincidence.time_offset")


def test_scan_range_must_be_increasing():
    raw = with_key("event_coincidence.pre_offset_search", False)
    raw = with_key("event_coincidence.time_offset", {"start": "0 us", "stop": "-10 us"}, raw)
    assert "event_coincidence.time_offset.stop must be above start" in config_error(raw)


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
    message = config_error(with_key("mc_tel_ids", tel_ids))
    assert "mc_tel_ids" in message and problem in message


def test_more_lsts_in_use_are_accepted():
    config = parse_config(with_key("mc_tel_ids", {**TELS, "LST-2": 4}))
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


_FIXED_RANGE = with_key("event_coincidence.pre_offset_search", False)


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
        found = parse_config(with_key(key, value, _FIXED_RANGE), "cfg.yaml")
    assert [r.getMessage() for r in caplog.records] == [warning]
    assert found == parse_config(_FIXED_RANGE)


def test_known_keys_give_no_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="lmcoinc.config"):
        parse_config(with_key("save_images", True, _FIXED_RANGE), "cfg.yaml")
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


def test_top_level_config_is_the_packaged_default():
    """configs/config.yaml (what users copy) is the built-in default, word for word."""
    top = Path(__file__).resolve().parents[2] / "configs" / "config.yaml"
    assert top.read_text() == default_config_text()
