#!/usr/bin/env python
"""Clock steps within a subrun: recall, purity and seconds, before and after, both models.

Usage: python scripts/bench_steps.py --compare-tree DIR [--subruns 6] [--subrun-s 10]
                                     [--repeats 2] [--cases NAME,...] [--cache DIR]
                                     [--json PATH]

1. Simulates once per case (cached in ``--cache``, default ~/.cache/lmcoinc-bench-steps) a
   night of ``--subruns`` LST-1 subruns of ``--subrun-s`` seconds at the simulator's
   realistic rates whose MAGIC clock steps within the third subrun (20-30 s into the
   night): by -150 µs with a good GPS and with a broken one (+0.851 s, +6 µs/s), two steps
   (+40 µs, -2 ms), a step in its first and in its last second, a step of 1 µs, one of
   -0.5 s; and two nights without a step (good and broken GPS).
2. Runs ``lmcoinc run`` on every subrun as a separate process, with the code of this
   checkout and with that of ``DIR`` (``PYTHONPATH=DIR``: the code before the steps), in
   constant mode (the default config) and in drift mode, drift mode ``--repeats`` times
   alternately with either code (the fastest wall and CPU time of each subrun count: the
   machine may be shared; their ratio is measured within one run).
3. Scores the pairs against the simulated true pairs, per subrun and over the night, and
   prints the tables: recall and purity of the whole night and of the subrun that holds
   the steps, per model, before and after; drift mode's seconds per subrun before and
   after; the constant-mode warnings; and the target checks: drift mode (after) recall
   >= 98 % and purity >= 99 % on the night and on the step's subrun of every step case, no
   subrun where drift mode finds fewer true pairs than constant mode does with a purity
   >= 99 %, and drift mode's time per subrun within 2x of before.

The exit code is 0 whatever the checks say, 1 if a measured process failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_drift import (  # scripts/ is on sys.path when run as a script
    night_arguments,
    print_checks,
    scores,
    write_drift_config,
)
from bench_night import simulator_digest

REPO = Path(__file__).resolve().parents[1]
START = 1_700_000_000.0
#: name → (clock offset ns, drift ns/s, steps (s into the night, size ns)); the steps lie in
#: the third subrun (20-30 s into the night).
CASES = {
    "good GPS step": (-3200, 0.0, ((25.0, -150_000.0),)),
    "broken GPS step": (851_000_000, 6000.0, ((25.0, -150_000.0),)),
    "two steps": (-3200, 0.0, ((23.0, 40_000.0), (27.0, -2_000_000.0))),
    "first second": (-3200, 0.0, ((20.4, -150_000.0),)),
    "last second": (-3200, 0.0, ((29.6, 80_000.0),)),
    "1 us step": (-3200, 0.0, ((25.0, 1000.0),)),
    "0.5 s step": (851_000_000, 6000.0, ((25.0, -5e8),)),
    "good GPS no step": (-3200, 0.0, ()),
    "broken GPS no step": (2_437_000_000, 3100.0, ()),
}
STEP_SUBRUN = 2
TARGETS = {"recall": 0.98, "purity": 0.99, "time_ratio": 2.0}


def simulate(cache: Path, name: str, n_subruns: int, subrun_s: float, seed: int) -> Path:
    """The simulated night of a case in the cache (simulated when absent or stale)."""
    offset, drift, steps = CASES[name]
    params = {"n_subruns": n_subruns, "subrun_s": subrun_s, "seed": seed, "offset_ns": offset,
              "drift_ns_per_s": drift, "steps": [list(s) for s in steps],
              "simulator": simulator_digest()}
    night = cache / name.replace(" ", "_")
    marker = night / "night.json"
    if marker.exists() and json.loads(marker.read_text()) == params:
        return night
    print(f"simulating {name!r}: {n_subruns} × {subrun_s:g} s ...", flush=True)
    from lmcoinc.simulate import simulate_night

    shutil.rmtree(night, ignore_errors=True)
    simulate_night(night, n_subruns, subrun_s, seed=seed, true_offset_ns=offset,
                   drift_ns_per_s=drift, start_unix_s=START, processes=2,
                   clock_steps=tuple((START + at, size) for at, size in steps))
    marker.write_text(json.dumps(params))
    return night


def run(tree: Path, argv: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """``python -m lmcoinc ARGV`` with the code of ``tree``, its wall and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lmcoinc", *argv], capture_output=True,
                          text=True, check=False, cwd=tree.parent,
                          env={**os.environ, "PYTHONPATH": str(tree)})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run_night(night: Path, trees: dict[str, Path], work: Path, config: Path | None,
              repeats: int, failures: list) -> dict[str, dict]:
    """Per tree: the scores of every subrun, its fastest wall and CPU seconds, its stderr."""
    out = {label: {"seconds": [], "cpu": [], "stderr": []} for label in trees}
    for lst in sorted((night / "lst").glob("dl1_LST-1*.h5")):
        times: dict[str, list] = {label: [] for label in trees}
        for _ in range(repeats):
            for label, tree in trees.items():  # alternately: the same load for both
                target = work / label / lst.name
                shutil.rmtree(target, ignore_errors=True)
                proc, wall, cpu = run(tree, ["run", "-l", str(lst), "-m", str(night / "magic"),
                                             "-o", str(target),
                                             *(["-c", str(config)] if config else [])])
                if proc.returncode not in (0, 3):
                    failures.append((label, lst.name, proc.stderr.strip().splitlines()[-1:]))
                times[label].append((wall, cpu))
                if len(times[label]) == 1:
                    out[label]["stderr"].append(proc.stderr)
        for label in trees:
            out[label]["seconds"].append(min(t[0] for t in times[label]))
            out[label]["cpu"].append(min(t[1] for t in times[label]))
    for label in trees:
        merged = work / label / "all"
        shutil.rmtree(merged, ignore_errors=True)
        merged.mkdir(parents=True)
        for path in (work / label).glob("dl1_LST-1*/*"):
            path.replace(merged / path.name)
        out[label]["scores"] = scores(night, merged)
    return out


def recall_purity(rows: list[dict]) -> tuple[float, float]:
    """Recall and purity of subruns together."""
    n_true = sum(r["n_true"] for r in rows)
    n_found = sum(len(r["pairs"]) for r in rows)
    n_hit = n_found - sum(len(r["false"]) for r in rows)
    return n_hit / n_true, (n_hit / n_found if n_found else float("nan"))


def pct(value: float) -> str:
    return "no pairs" if value != value else f"{100 * value:.2f}"


def print_tables(results: dict[str, dict]) -> None:
    print("\n| case | steps (s into the night, size) | mode | night recall / purity (%) "
          "before | after | step subrun recall / purity (%) before | after |")
    print("|---|---|---|---|---|---|---|")
    for name, modes in results.items():
        steps = ", ".join(f"{at:g} s {size / 1000:+g} us" for at, size in CASES[name][2])
        for mode, trees in modes.items():
            cells = []
            for rows in ([trees[t]["scores"] for t in ("before", "after")]
                         + [[trees[t]["scores"][STEP_SUBRUN]] for t in ("before", "after")]):
                r, p = recall_purity(rows)
                cells.append(f"{pct(r)} / {pct(p)}")
            print(f"| {name} | {steps or 'none'} | {mode} | " + " | ".join(cells) + " |")
    print("\n| case | drift s per subrun before, median / max | after | after / before "
          "(median of the subruns' ratios) | CPU s before / after (median) |")
    print("|---|---|---|---|---|")
    for name, modes in results.items():
        before, after = modes["drift"]["before"], modes["drift"]["after"]
        ratios = sorted(a / b for a, b in zip(after["seconds"], before["seconds"], strict=True))
        print(f"| {name} | {median(before['seconds']):.2f} / {max(before['seconds']):.2f} | "
              f"{median(after['seconds']):.2f} / {max(after['seconds']):.2f} | "
              f"{median(ratios):.2f} | {median(before['cpu']):.2f} / "
              f"{median(after['cpu']):.2f} |")


def median(values: list[float]) -> float:
    s = sorted(values)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def checks(results: dict[str, dict]) -> list[tuple[str, bool, str]]:
    out = []
    for name, modes in results.items():
        after = modes["drift"]["after"]
        if CASES[name][2]:
            for label, rows in (("night", after["scores"]),
                                ("step subrun", [after["scores"][STEP_SUBRUN]])):
                r, p = recall_purity(rows)
                ok = r >= TARGETS["recall"] and p >= TARGETS["purity"]
                out.append((f"{name}, drift, {label}: recall >= 98 %, purity >= 99 %", ok,
                            f"{pct(r)} / {pct(p)} %"))
        worse = [k for k, (c, d) in enumerate(zip(modes["constant"]["after"]["scores"],
                                                  after["scores"], strict=True))
                 if recall_purity([c])[1] >= TARGETS["purity"]
                 and recall_purity([d])[0] < recall_purity([c])[0]]
        out.append((f"{name}: drift mode never below a clean constant mode", not worse,
                    f"subruns where it is: {worse}"))
        ratios = [a / b for a, b in zip(after["seconds"], modes["drift"]["before"]["seconds"],
                                        strict=True)]
        out.append((f"{name}: drift mode within 2x of before per subrun",
                    median(ratios) <= TARGETS["time_ratio"],
                    f"median ratio {median(ratios):.2f}, largest {max(ratios):.2f}"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare-tree", type=Path, required=True,
                        help="checkout of the lmcoinc before the steps")
    night_arguments(parser, CASES, "lmcoinc-bench-steps", repeats=2)
    args = parser.parse_args(argv)

    work = args.cache / "work"
    drift_config = write_drift_config(work)
    trees = {"before": args.compare_tree.resolve(), "after": REPO}
    failures: list = []
    results: dict[str, dict] = {}
    load = os.getloadavg()[0]
    for name in args.cases.split(","):
        night = simulate(args.cache, name, args.subruns, args.subrun_s, args.seed)
        print(f"case {name!r}: constant and drift mode, before and after ...", flush=True)
        results[name] = {
            "constant": run_night(night, trees, work / "constant", None, 1, failures),
            "drift": run_night(night, trees, work / "drift", drift_config, args.repeats,
                               failures),
        }
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"{args.subruns} subruns of {args.subrun_s:g} s per case, realistic rates; the "
          f"steps in subrun {STEP_SUBRUN}")
    print_tables(results)
    print("\nconstant mode (after), the step subrun's warnings:")
    for name, modes in results.items():
        lines = [line for line in
                 modes["constant"]["after"]["stderr"][STEP_SUBRUN].splitlines()
                 if "steps by" in line or "no peak" in line]
        for line in lines or ["(none)"]:
            print(f"  {name}: {line}")
    found = checks(results)
    print_checks(found, failures)
    if args.json:
        slim = {name: {mode: {tree: {"seconds": res["seconds"], "cpu": res["cpu"],
                                     "scores": [{"recall": s["recall"], "purity": s["purity"],
                                                 "n_true": s["n_true"]} for s in res["scores"]]}
                              for tree, res in trees_.items()}
                       for mode, trees_ in modes.items()} for name, modes in results.items()}
        args.json.write_text(json.dumps({"results": slim, "checks": found}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
