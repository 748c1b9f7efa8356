"""Differential tests: lmcoinc against magic-cta-pipe 0.6.2 on simulated cases.

Golden outputs of the reference (tests/golden, made by scripts/make_golden.py)
are always compared; where a reference venv is available
(LMCOINC_REFERENCE_PYTHON, set by `make test`) the reference also runs live.
"""

from __future__ import annotations

import json

import pytest
import yaml

from ..helpers.cases import (
    CASES,
    GOLDEN,
    case_config,
    input_digest,
    make_case,
    reference_python,
    run_lmcoinc,
    run_reference,
)
from ..helpers.compare import differences, image_differences

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            directory = tmp_path_factory.mktemp(name)
            cache[name] = (directory, *make_case(name, directory))
        return cache[name]

    return get


@pytest.fixture(scope="module")
def ours(simulated):
    cache = {}

    def get(name):
        if name not in cache:
            directory, files, config = simulated(name)
            proc = run_lmcoinc(files.lst_file, files.magic_dir, directory / "ours", config)
            cache[name] = (proc, sorted((directory / "ours").glob("*.h5")))
        return cache[name]

    return get


def _assert_identical(proc, outputs, ref_code, ref_outputs):
    assert proc.returncode == ref_code, proc.stderr[-2000:]
    assert [p.name for p in outputs] == [p.name for p in ref_outputs]
    for mine, theirs in zip(outputs, ref_outputs, strict=True):
        assert differences(mine, theirs) == []
        assert image_differences(mine, theirs) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_identical_to_golden(name, simulated, ours):
    meta = json.loads((GOLDEN / name / "case.json").read_text())
    _, files, _ = simulated(name)
    assert input_digest(files) == meta["input_digest"], (
        "simulated inputs changed: regenerate with scripts/make_golden.py"
    )
    proc, outputs = ours(name)
    golden = [GOLDEN / name / n for n in meta["outputs"]]
    _assert_identical(proc, outputs, meta["returncode"], golden)


@pytest.mark.parametrize("name", sorted(CASES))
def test_identical_to_live_reference(name, simulated, ours):
    python = reference_python()
    if python is None:
        pytest.skip("no reference venv (LMCOINC_REFERENCE_PYTHON); golden files still compared")
    directory, files, config = simulated(name)
    ref = run_reference(python, files.lst_file, files.magic_dir, directory / "ref", config)
    proc, outputs = ours(name)
    _assert_identical(proc, outputs, ref.returncode, sorted((directory / "ref").glob("*.h5")))


def test_old_lstchain_file_like_live_reference(tmp_path):
    """An LST file of lstchain < 0.10 (layout table 1.0): both take the default LST-1."""
    python = reference_python()
    if python is None:
        pytest.skip("no reference venv (LMCOINC_REFERENCE_PYTHON)")
    from lmcoinc.simulate import SimulationConfig, simulate

    files = simulate(tmp_path / "input", SimulationConfig(duration_s=1.0, seed=3,
                                                          lst_subarray=False))  # fmt: skip
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(case_config({}), sort_keys=False))
    ref = run_reference(python, files.lst_file, files.magic_dir, tmp_path / "ref", config)
    proc = run_lmcoinc(files.lst_file, files.magic_dir, tmp_path / "ours", config)
    assert "no usable SubarrayDescription" in proc.stderr
    _assert_identical(proc, sorted((tmp_path / "ours").glob("*.h5")), ref.returncode,
                      sorted((tmp_path / "ref").glob("*.h5")))  # fmt: skip
