"""A small simulated night shared by the batch, dataset and convert tests.

Three consecutive 2 s LST-1 subruns of run 3265 and the MAGIC run covering
them, simulated once per test session (``lmcoinc.simulate.simulate_night``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lmcoinc.simulate import NightFiles, simulate_night

_CACHE: dict[str, Any] = {}


def small_night(factory: pytest.TempPathFactory) -> NightFiles:
    """The simulated night (made on first use)."""
    if "night" not in _CACHE:
        _CACHE["night"] = simulate_night(factory.mktemp("night"), n_subruns=3, subrun_s=2.0,
                                         seed=5)
    return _CACHE["night"]


def run_outputs(night: NightFiles, factory: pytest.TempPathFactory, key: str = "default",
                config_file: Path | None = None) -> Path:
    """Directory with the outputs of ``lmcoinc run`` on each LST subrun (made once per key)."""
    cache_key = f"run-{key}"
    if cache_key not in _CACHE:
        from lmcoinc.config import load_config
        from lmcoinc.errors import NoCoincidenceError
        from lmcoinc.pipeline import run

        out = factory.mktemp(cache_key)
        config = load_config(config_file)
        for lst_file in night.lst_files:
            try:
                run(lst_file, night.magic_dir, out, config)
            except NoCoincidenceError:
                pass
        _CACHE[cache_key] = out
    return _CACHE[cache_key]
