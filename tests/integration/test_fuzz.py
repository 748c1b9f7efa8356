"""Fuzzing: seeded random corruptions of LST-1 and MAGIC files (see tests/fuzz.py).

Every ``lmcoinc run`` and ``lmcoinc convert`` on a damaged input ends with a
documented exit code and one ``lmcoinc: error:`` line, or with the normal
result when the damage hits unused bytes (or bytes no checksum covers); never
a traceback, an internal error, a hang or a crash. Files without images, and
files with images run with ``save_images`` (a quarter as many cases).
``LMCOINC_FUZZ_CASES`` (default 240) and ``LMCOINC_FUZZ_SEED`` (default 0)
choose the cases; ``scripts/fuzz.py`` runs larger numbers and prints the
table of outcomes.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from lmcoinc.config import default_config_text

from ..helpers.badinputs import make_good
from ..helpers.fuzz import bugs, counts, run_cases

N_CASES = int(os.environ.get("LMCOINC_FUZZ_CASES", "240"))
SEED = int(os.environ.get("LMCOINC_FUZZ_SEED", "0"))
WORKERS = 2


@pytest.mark.parametrize("images", [False, True], ids=["parameters", "save_images"])
def test_damaged_inputs_never_crash_lmcoinc(tmp_path, images):
    inputs = make_good(tmp_path / "inputs", duration_s=0.3 if images else 0.5, seed=3,
                       images=images)
    if images:
        (inputs / "config.yaml").write_text(default_config_text() + "\nsave_images: true\n")
    n_cases = N_CASES // 4 if images else N_CASES
    share = -(-n_cases // WORKERS)
    ranges = [(first, min(share, n_cases - first)) for first in range(0, n_cases, share)]
    with ThreadPoolExecutor(len(ranges)) as pool:
        parts = pool.map(lambda r: run_cases(inputs, tmp_path / f"w{r[0]}", SEED, *r), ranges)
        results = [result for part in parts for result in part]
    assert sorted(r["index"] for r in results) == list(range(n_cases))
    found = {command: counts(results, command) for command in ("run", "convert")}
    print(f"fuzz seed {SEED}, {n_cases} cases, images {images}: {found}")
    assert not bugs(results), "\n".join(json.dumps(r) for r in bugs(results))
    # not vacuous: the damage was read, and some of it was found and named
    run = found["run"]
    assert run.get("exit 13", 0) > n_cases // 10 and run.get("exit 14", 0) > n_cases // 10
    assert run.get("identical", 0) > 0 and found["convert"].get("exit 13", 0) > n_cases // 10


def test_cases_that_hang_or_crash_are_bugs(tmp_path):
    """The harness itself: a case that does not end in time is a hang (and the next
    case runs in a new worker), a worker that dies is a crash; both are bugs."""
    inputs = make_good(tmp_path / "inputs", duration_s=0.3, seed=3)
    slow = run_cases(inputs, tmp_path / "slow", SEED, 0, 3, timeout=1e-4)
    assert [r["run"]["outcome"] == "hang" for r in slow] == [False, True, False]
    dead = run_cases(inputs, tmp_path / "dead", SEED, 0, 2, memory_gb=0.02)
    assert [r["run"]["outcome"] for r in dead] == ["crash", "crash"]
    assert len(bugs(slow)) == 1 and len(bugs(dead)) == 2
