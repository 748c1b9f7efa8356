"""Session fixtures: simulated inputs in the real formats, made once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lmcoinc.config import default_config_text, load_config
from lmcoinc.errors import NoCoincidenceError
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.simulate import SimulationConfig, simulate, simulate_night

from .helpers.badinputs import make_good


@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory):
    """Three consecutive 2 s LST-1 subruns of run 3265 and the MAGIC run covering them."""
    return simulate_night(tmp_path_factory.mktemp("night"), n_subruns=3, subrun_s=2.0, seed=5)


#: 2023-12-08 01:46 UTC: the packaged history says -3.2 us for the night of the 7th.
POINTING_NIGHT_START = 1_702_000_000.0


@pytest.fixture(scope="session")
def pointing_night(tmp_path_factory: pytest.TempPathFactory):
    """Three 1.5 s subruns with one clock offset (-3.2 us) and the geometric delay in the
    MAGIC times: subrun 0 at alt/az 70°/170°, subruns 1 and 2 at 35°/80°; subrun 2 is
    sparse (MAGIC at 4 Hz: a handful of true coincidences)."""
    start = POINTING_NIGHT_START
    return simulate_night(
        tmp_path_factory.mktemp("pointing-night"), n_subruns=3, subrun_s=1.5, seed=7,
        start_unix_s=start, geometric_delay=True, processes=2,
        pointing_schedule=((start, 70.0, 170.0), (start + 1.5, 35.0, 80.0)),
        subrun_settings={2: {"magic_stereo_rate_hz": 4.0}},
    )


@pytest.fixture(scope="session")
def run_outputs(night, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``run_outputs(key="default", config_file=None)``: a directory with the outputs of
    ``lmcoinc run`` on each subrun of :func:`night` (made once per key)."""
    made: dict[str, Path] = {}

    def get(key: str = "default", config_file: Path | None = None) -> Path:
        if key not in made:
            out = tmp_path_factory.mktemp(f"run-{key}")
            config = load_config(config_file)
            for lst_file in night.lst_files:
                try:
                    process_subrun(lst_file, MagicDirectory(night.magic_dir, config.tel_names), out,
                                   config)
                except NoCoincidenceError:
                    pass
            made[key] = out
        return made[key]

    return get


@pytest.fixture(scope="session")
def batch_output(night, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output directory of ``lmcoinc batch`` on :func:`night` (the defaults, 1 process)."""
    from lmcoinc.batch import run_batch

    out = tmp_path_factory.mktemp("batch")
    assert run_batch(night.lst_dir, night.magic_dir, out).exit_code == 0
    return out


@pytest.fixture(scope="session")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short good input: ``lst/`` with one LST-1 file and ``magic/`` (see badinputs)."""
    return make_good(tmp_path_factory.mktemp("good"))


@pytest.fixture(scope="session")
def magic_subruns(tmp_path_factory: pytest.TempPathFactory):
    """A 0.5 s LST-1 subrun whose MAGIC data are three 0.4 s subrun files per telescope."""
    config = SimulationConfig(duration_s=0.5, seed=41, magic_subrun_s=0.4,
                              magic_start_delay_s=-0.2, magic_extra_s=0.3)
    return simulate(tmp_path_factory.mktemp("magic-subruns"), config)


@pytest.fixture(scope="session")
def drifting_night(tmp_path_factory: pytest.TempPathFactory):
    """A broken-GPS night: three 2 s LST-1 subruns, the MAGIC clock +1.5 s drifting +6 µs/s."""
    return simulate_night(tmp_path_factory.mktemp("drifting"), n_subruns=3, subrun_s=2.0,
                          seed=8, true_offset_ns=1_500_000_000, drift_ns_per_s=6000.0)


@pytest.fixture(scope="session")
def drift_config(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``drift_config(**keys)``: a config file of drift mode with further event_coincidence keys."""

    def make(**keys: str) -> Path:
        lines = "".join(f"    {k}: {v}\n" for k, v in {"offset_model": "drift", **keys}.items())
        path = tmp_path_factory.mktemp("config") / "drift.yaml"
        path.write_text(default_config_text().replace(
            "event_coincidence:\n", "event_coincidence:\n" + lines))
        return path

    return make
