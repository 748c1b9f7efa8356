"""Configs for the config tests: the default with one key changed, and the error it gives."""

from __future__ import annotations

import copy

import pytest
import yaml

from lmcoinc.config import default_config_text, parse_config
from lmcoinc.errors import ConfigError, exit_code

#: The built-in default config, as a mapping.
DEFAULT = yaml.safe_load(default_config_text())


def with_key(path: str, value, base: dict | None = None) -> dict:
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


def config_error(raw) -> str:
    """The message of the ConfigError of ``raw`` (exit code 12, one line, naming the file)."""
    with pytest.raises(ConfigError) as info:
        parse_config(raw, "cfg.yaml")
    assert exit_code(info.value) == 12
    message = str(info.value)
    assert message.startswith("cfg.yaml: ")
    assert "\n" not in message
    return message
