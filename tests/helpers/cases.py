"""Simulated cases shared by the differential tests and scripts/make_golden.py."""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from lmcoinc.config import default_config_text
from lmcoinc.simulate import SimulatedFiles, SimulationConfig, simulate

GOLDEN = Path(__file__).parents[1] / "golden"

#: name → (simulation settings, config overrides)
CASES: dict[str, tuple[dict, dict]] = {
    # the default config on a short subrun with the current offset
    "default": ({"duration_s": 3.0, "seed": 11}, {}),
    # March 2023 offset; MAGIC data start 1 s after the LST subrun began
    "large_offset": (
        {"duration_s": 3.0, "seed": 12, "true_offset_ns": -76_039_300, "magic_start_delay_s": 1.0},
        {},
    ),
    # no pre-offset search: the fixed scan range of the config
    "fixed_range": (
        {"duration_s": 3.0, "seed": 13, "true_offset_ns": -6_500},
        {"event_coincidence": {"pre_offset_search": False,
                               "time_offset": {"start": "-10 us", "stop": "0 us"}}},
    ),
    # LST at 20 kHz without dead time: a few MAGIC events with two LST
    # events in their window (multi-matches, dropped from the stereo table)
    "multi_candidate": (
        {"duration_s": 2.0, "seed": 14, "lst_rate_hz": 20_000.0, "lst_dead_time_ns": 100},
        {},
    ),
    # at 40 kHz more than five multi-matches: exit code 11, no output
    "too_many_multi": (
        {"duration_s": 2.0, "seed": 14, "lst_rate_hz": 40_000.0, "lst_dead_time_ns": 100},
        {},
    ),
    # images of the stereo events copied to the output
    "save_images": ({"duration_s": 0.4, "seed": 15, "images": True}, {"save_images": True}),
}


def case_config(overrides: dict) -> dict:
    """The default config with nested overrides applied."""
    config = yaml.safe_load(default_config_text())

    def merge(base: dict, extra: dict) -> None:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = copy.deepcopy(value)

    merge(config, overrides)
    return config


def make_case(name: str, directory: Path) -> tuple[SimulatedFiles, Path]:
    """Simulate a case's inputs and write its config; returns files and config path."""
    sim, overrides = CASES[name]
    files = simulate(directory / "input", SimulationConfig(**sim))
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(case_config(overrides), sort_keys=False))
    return files, config_path


def input_digest(files: SimulatedFiles) -> str:
    """SHA-256 of the simulated parameter tables (to tell when inputs changed)."""
    import tables

    digest = hashlib.sha256()
    for path in [files.lst_file, *files.magic_files]:
        with tables.open_file(str(path)) as handle:
            for node in handle.walk_nodes("/", "Table"):
                if "/configuration" in node._v_pathname:
                    continue
                digest.update(node._v_pathname.encode())
                digest.update(np.ascontiguousarray(node.read()).tobytes())
    return digest.hexdigest()


def table_digests(path: Path) -> dict[str, str]:
    """Node path → SHA-256 of the path and the rows, for every Table of an HDF5 file."""
    import tables

    out = {}
    with tables.open_file(str(path)) as handle:
        for node in handle.walk_nodes("/", "Table"):
            digest = hashlib.sha256(node._v_pathname.encode())
            digest.update(np.ascontiguousarray(node.read()).tobytes())
            out[node._v_pathname] = digest.hexdigest()
    return out


def tree_digests(root: Path) -> dict[str, dict[str, str]]:
    """Relative file path → :func:`table_digests`, for every ``.h5`` file below ``root``."""
    return {str(p.relative_to(root)): table_digests(p) for p in sorted(Path(root).rglob("*.h5"))}


def reference_python() -> str | None:
    """The reference venv's python (env LMCOINC_REFERENCE_PYTHON), if usable."""
    python = os.environ.get("LMCOINC_REFERENCE_PYTHON")
    if not python or not Path(python).exists():
        return None
    probe = subprocess.run([python, "-c", "import magicctapipe"], capture_output=True)
    return python if probe.returncode == 0 else None


def run_reference(python: str, lst_file: Path, magic_dir: Path, out_dir: Path, config: Path):
    """Run magic-cta-pipe 0.6.2's lst1_magic_event_coincidence; returns the process."""
    module = "magicctapipe.scripts.lst1_magic.lst1_magic_event_coincidence"
    return subprocess.run(
        [python, "-m", module, "-l", str(lst_file), "-m", str(magic_dir), "-o", str(out_dir),
         "-c", str(config)],
        capture_output=True, text=True,
    )


def run_lmcoinc(lst_file: Path, magic_dir: Path, out_dir: Path, config: Path):
    """Run ``lmcoinc run`` as a separate process; returns the process."""
    return subprocess.run(
        [sys.executable, "-m", "lmcoinc", "run", "-l", str(lst_file), "-m", str(magic_dir),
         "-o", str(out_dir), "-c", str(config)],
        capture_output=True, text=True,
    )
