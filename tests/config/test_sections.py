"""config/sections: a section of the configuration is a mapping of known keys, or an error
that names the file, the section and every unknown key."""

from __future__ import annotations

import pytest

from lmcoinc.config.sections import checked_section
from lmcoinc.errors import ConfigError, exit_code

KNOWN = ("type", "workers", "memory")


def test_a_mapping_of_known_keys_is_the_section():
    section = {"type": "slurm", "workers": 4}
    assert checked_section(section, "cluster", KNOWN, "night.yaml") is section
    assert checked_section({}, "cluster", KNOWN, "night.yaml") == {}


@pytest.mark.parametrize("value", [None, ["type"], "slurm", 3])
def test_not_a_mapping(value):
    with pytest.raises(ConfigError) as err:
        checked_section(value, "cluster", KNOWN, "night.yaml")
    assert str(err.value) == "night.yaml: cluster must be a mapping (type, workers, memory)"
    assert exit_code(err.value) == exit_code(ConfigError("x"))


def test_every_unknown_key_is_named():
    with pytest.raises(ConfigError) as err:
        checked_section({"type": "slurm", "cores": 2, 7: "x"}, "cluster", KNOWN, "night.yaml")
    assert str(err.value) == ("night.yaml: unknown key(s) cluster.cores, 7 "
                              "(known: type, workers, memory)")
