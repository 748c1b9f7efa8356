"""pairing/models: the registry of offset models (config.OFFSET_MODELS) and the choice of the
subrun's model by name."""

from __future__ import annotations

import dataclasses
import inspect
import sys
import types

import pytest

from lmcoinc.config import OFFSET_MODELS, load_config
from lmcoinc.config.clock_keys import drift_settings
from lmcoinc.pairing import constant_model, drift_model
from lmcoinc.pairing.models import OffsetModel, model_class, offset_model
from lmcoinc.pairing.priors import Priors

CONFIG = load_config(None)
#: The methods of the interface, as the protocol declares them.
METHODS = sorted(name for name, value in vars(OffsetModel).items()
                 if not name.startswith("_") and callable(getattr(OffsetModel, name)))


def test_the_interface():
    assert METHODS == ["coincide", "magic_range", "outputs", "overlap_window", "run_curves"]


@pytest.mark.parametrize("name", list(OFFSET_MODELS))
def test_every_registered_model_has_the_interface(name):
    cls = model_class(name)
    assert cls.__name__ == "Model"
    assert cls.__module__ == f"lmcoinc.pairing.{OFFSET_MODELS[name]}"
    for method in METHODS:
        ours = inspect.signature(getattr(cls, method))
        protocol = inspect.signature(getattr(OffsetModel, method))
        assert list(ours.parameters) == list(protocol.parameters), (name, method)
    assert inspect.ismethod(cls.run_curves) and cls.run_curves.__self__ is cls
    assert list(inspect.signature(cls).parameters) == ["config", "priors"]


def test_offset_model_picks_the_configured_model():
    constant = offset_model(CONFIG)
    assert type(constant) is constant_model.Model
    assert constant.config is CONFIG and constant.priors == Priors()
    drift = dataclasses.replace(CONFIG, offset_model="drift")
    priors = Priors(history_fallback=True)
    found = offset_model(drift, priors)
    assert type(found) is drift_model.Model
    assert found.config is drift and found.priors is priors
    with pytest.raises(KeyError):
        model_class("linear")


def test_a_new_model_is_a_module_and_a_registry_line(monkeypatch):
    """The config accepts it, and offset_model builds it: nothing else names models."""
    module = types.ModuleType("lmcoinc.pairing.step_model")

    class Model:
        def __init__(self, config, priors):
            self.config, self.priors = config, priors

    module.Model = Model
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(OFFSET_MODELS, "step", "step_model")
    assert drift_settings({"offset_model": "step"}, "cfg.yaml")["offset_model"] == "step"
    found = offset_model(dataclasses.replace(CONFIG, offset_model="step"))
    assert type(found) is Model and found.priors == Priors()
