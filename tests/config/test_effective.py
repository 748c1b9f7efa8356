"""The effective configuration as YAML gives the same settings, and overrides of load_config."""

from __future__ import annotations

import pytest
import yaml

from lmcoinc.config import config_document, config_yaml, load_config, parse_config
from lmcoinc.errors import ConfigError, exit_code


@pytest.mark.parametrize("overrides", [
    {},
    {"offset_model": "drift", "max_drift_us_per_s": 3.3, "drift_slice": "0.5 s",
     "max_clock_offset": "2.5 s"},
    {"pre_offset_search": False, "time_offset": {"start": "-5 us", "stop": "1 us"},
     "window_half_width": "0.2 us", "timestamp_type_lst": "ucts_time"},
    {"geometric_delay": True, "min_coincidences": 4,
     "offset_history": {"fallback": True, "tolerance": "2.5 us"}, "save_images": True},
    {"mc_tel_ids": {"LST-2": 4}},
])
def test_the_yaml_gives_the_same_settings(overrides):
    config = load_config(**overrides)
    text = config_yaml(config)
    assert parse_config(yaml.safe_load(text)) == config
    document = config_document(config)
    assert list(document) == ["mc_tel_ids", "event_coincidence", "save_images"]


def test_a_history_file_is_named_as_given(tmp_path):
    table = tmp_path / "mine.yaml"
    table.write_text("- {start: 2024-01-10, end: null, offset_us: -3.3}\n")
    config = load_config(offset_history={"file": str(table), "replace": True})
    history = config_document(config)["event_coincidence"]["offset_history"]
    assert history == {"file": str(table), "replace": True, "tolerance": "1000 ns"}
    assert parse_config(yaml.safe_load(config_yaml(config))) == config


def test_overrides_are_validated_as_the_file_is(tmp_path):
    assert load_config(window_half_width="200 ns").window_half_width_ns == 200
    # a mapping is merged into the file's
    config = load_config(pre_offset_search=False, time_offset={"start": "-5 us"})
    assert (config.offset_start_ns, config.offset_stop_ns) == (-5000, 0)
    assert load_config(mc_tel_ids={"LST-2": 4}).tel_ids == {
        "LST-1": 1, "LST-2": 4, "LST-3": 0, "LST-4": 0, "MAGIC-I": 2, "MAGIC-II": 3}
    for bad, message in (({"window_half_width": "-1 ns"}, "must be positive"),
                         ({"window_half_widht": "1 ns"}, "did you mean window_half_width"),
                         ({"offset_model": "wobbly"}, "offset_model = 'wobbly' is unknown")):
        with pytest.raises(ConfigError, match=message) as info:
            load_config(**bad)
        assert exit_code(info.value) == 12
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"mc_tel_ids": {"LST-1": 1}}))
    with pytest.raises(ConfigError, match=f"{path}: mc_tel_ids lists 1 telescopes"):
        load_config(path, window_half_width="1 us")


def test_the_yaml_of_the_last_settings_is_reused_only_for_equal_settings():
    """Kept for the next equal settings (a batch's subruns), never for other settings."""
    default, other = load_config(), load_config(min_coincidences=3)
    fresh = {id(c): yaml.safe_dump(config_document(c), sort_keys=False, allow_unicode=True)
             for c in (default, other)}
    for config in (default, other, other, default, load_config(), other):
        expected = fresh[id(other)] if config == other else fresh[id(default)]
        assert config_yaml(config) == expected
    named = load_config(offset_history={"tolerance": "1000 ns"})
    assert config_yaml(named) == config_yaml(default)  # the same settings, the same text
    named.raw["event_coincidence"]["offset_history"]["file"] = "nights.yaml"  # read again
    assert "file: nights.yaml" in config_yaml(named)
