#!/usr/bin/env python
"""SHA-256 of every table the simulator writes, for a fixed set of configs.

Restructuring the simulator must not change a single byte of its tables.
``record FILE`` writes, per simulation and file, the digest of each PyTables
Table node (its path and ``node.read().tobytes()``, ``/configuration`` included);
``check FILE`` simulates again and lists every difference (exit code 1 if any).

The simulations: ``simulate(SimulationConfig())``, every case of
``tests/cases.py: CASES``, ``SimulationConfig(lst_subarray=False)`` and
``simulate_night(n_subruns=3, subrun_s=2.0, seed=5)``.

    python scripts/sim_digests.py record tests/golden/simulator_digests.json
    python scripts/sim_digests.py check tests/golden/simulator_digests.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lmcoinc.simulate import SimulationConfig, simulate, simulate_night  # noqa: E402
from tests.helpers.cases import CASES, tree_digests  # noqa: E402


def simulations() -> dict[str, object]:
    """Name → function writing the simulation into a directory."""
    runs = {"default": lambda d: simulate(d, SimulationConfig())}
    for name, (settings, _) in sorted(CASES.items()):
        runs[f"case:{name}"] = lambda d, s=settings: simulate(d, SimulationConfig(**s))
    runs["lst_subarray_false"] = lambda d: simulate(d, SimulationConfig(lst_subarray=False))
    runs["night"] = lambda d: simulate_night(d, n_subruns=3, subrun_s=2.0, seed=5)
    return runs


def compute() -> dict[str, dict[str, dict[str, str]]]:
    """Simulation name → :func:`tree_digests` of its output directory."""
    result = {}
    for name, make in simulations().items():
        with tempfile.TemporaryDirectory() as tmp:
            make(Path(tmp))
            result[name] = tree_digests(Path(tmp))
        print(f"{name}: {sum(len(v) for v in result[name].values())} tables", flush=True)
    return result


def differences(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences of two :func:`compute` results."""
    out = []
    for name in sorted(set(expected) | set(actual)):
        files_e, files_a = expected.get(name, {}), actual.get(name, {})
        for path in sorted(set(files_e) | set(files_a)):
            nodes_e, nodes_a = files_e.get(path, {}), files_a.get(path, {})
            for node in sorted(set(nodes_e) | set(nodes_a)):
                if nodes_e.get(node) != nodes_a.get(node):
                    out.append(f"{name}: {path}:{node}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "check"])
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    actual = compute()
    if args.action == "record":
        args.file.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        print(f"recorded {args.file}")
        return 0
    diff = differences(json.loads(args.file.read_text()), actual)
    for line in diff:
        print(f"differs: {line}")
    print("identical" if not diff else f"{len(diff)} tables differ")
    return 1 if diff else 0


if __name__ == "__main__":
    raise SystemExit(main())
