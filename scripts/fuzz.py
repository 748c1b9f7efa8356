"""Fuzz lmcoinc with seeded random corruptions of LST-1 and MAGIC files; print the outcomes.

Usage: python scripts/fuzz.py [--cases N] [--seed S] [--workers W] [--images] [--json FILE]

Simulates a short LST-1 subrun and its MAGIC files, then for each case damages
one file (byte flips, a zeroed block or a truncation; see tests/fuzz.py) and
runs ``lmcoinc run`` (with ``save_images`` and image tables in the files if
--images) and ``lmcoinc convert`` on it, in W worker processes.
Prints the number of cases per outcome and command, one example per outcome,
and every bug in full. Exit code 1 if there is a bug (an internal error, a
traceback, an undocumented exit code, a hang, a crash, or a result that
differs although a checksum covers the damaged bytes).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lmcoinc.config import default_config_text  # noqa: E402
from tests.helpers.badinputs import make_good  # noqa: E402
from tests.helpers.fuzz import BUGS, COMMANDS, bugs, counts, run_cases  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--images", action="store_true", help="run with save_images")
    parser.add_argument("--json", type=Path, help="write every case's record here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = make_good(tmp / "inputs", duration_s=0.3 if args.images else 0.5, seed=3,
                           images=args.images)
        if args.images:
            (inputs / "config.yaml").write_text(default_config_text() + "\nsave_images: true\n")
        share = -(-args.cases // args.workers)
        ranges = [(first, min(share, args.cases - first))
                  for first in range(0, args.cases, share)]
        started = time.perf_counter()
        with ThreadPoolExecutor(len(ranges)) as pool:
            parts = pool.map(lambda r: run_cases(inputs, tmp / f"w{r[0]}", args.seed, *r),
                             ranges)
            results = sorted((r for part in parts for r in part), key=lambda r: r["index"])
        seconds = time.perf_counter() - started
    print(f"{len(results)} cases, seed {args.seed}, {seconds:.0f} s")
    outcomes = sorted({r[c]["outcome"] for r in results for c in COMMANDS})
    print(f"\n| outcome | {' | '.join(COMMANDS)} | example (run, else convert) |")
    print("|---|" + "---|" * len(COMMANDS) + "---|")
    tables = {c: counts(results, c) for c in COMMANDS}
    for outcome in outcomes:
        example = next((r[c]["error"] for c in COMMANDS for r in results
                        if r[c]["outcome"] == outcome), "")
        example = example.replace(str(Path(tempfile.gettempdir())), "…")[:140]
        cells = " | ".join(str(tables[c].get(outcome, 0)) for c in COMMANDS)
        print(f"| {outcome} | {cells} | {example if outcome != 'identical' else ''} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    found = bugs(results)
    for result in found:
        print(json.dumps(result, indent=1))
    print(f"\n{len(found)} bugs ({', '.join(BUGS)})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
