#!/usr/bin/env python
"""Memory and speed of lmcoinc on merged runs and whole nights (issue #11's targets).

Usage: python scripts/bench_memory.py [--cache DIR] [--jobs 2] [--compare-tree DIR]
                                      [--skip-80] [--json PATH]

1. Simulates once (cached in ``--cache``, default ~/.cache/lmcoinc-bench) a 20-minute
   night (120 LST-1 subruns of 10 s, 6 M events) and an 80-minute one (480 subruns),
   with their MAGIC runs, at the simulator's realistic rates, and merges the LST-1
   subruns of the first 10 minutes and of all 20 minutes into one file each, as
   lstchain's merge tool does (``lmcoinc.simulate.merge_lst_files``).
2. Runs ``lmcoinc run`` on the merged 10- and 20-minute files with the MAGIC files of
   the same time, and ``lmcoinc batch -j JOBS`` on both nights, each as a separate
   process: wall time and the peak RSS of the largest process (the parent or a worker:
   ``getrusage(RUSAGE_CHILDREN)`` in a wrapper).
3. With ``--compare-tree DIR`` (a checkout of an earlier lmcoinc) it runs the same
   commands with that code (``PYTHONPATH=DIR``): the "before" column, and checks that
   the outputs are the same (every HDF5 dataset byte for byte; every column of the
   Parquet tables that both trees write, the batch summary's timings aside).

Targets: merged 10-minute run under 1 GB and 30 s; merged 20-minute run under 1 GB;
batch on the 20- and 80-minute nights: largest process within 1.2x; the 20-minute
night within 25 s with -j 2. The 10 s subrun against the reference is measured by
scripts/bench.py. The exit code is 0 whatever the checks say, 1 if a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

from bench_night import measure, simulate  # scripts/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
GB = 1024.0  # MB


def merged_inputs(night: Path, n_subruns: int, work: Path) -> tuple[Path, Path]:
    """The first ``n_subruns`` LST subruns merged, and a directory with the MAGIC files
    of the same time (cached beside the night)."""
    from lmcoinc.simulate import merge_lst_files

    merged = night / f"merged-{n_subruns}" / "dl1_LST-1.Run03265.h5"
    if not merged.exists():
        files = sorted((night / "lst").glob("dl1_LST-1*.h5"))[:n_subruns]
        print(f"merging {len(files)} LST subruns into {merged} ...", flush=True)
        merged.parent.mkdir(parents=True, exist_ok=True)
        merge_lst_files(files, merged)
    magic = work / f"magic-{n_subruns}"
    magic.mkdir(parents=True, exist_ok=True)
    for path in sorted((night / "magic").glob("dl1_M*.h5")):
        if int(path.name.split(".")[-2]) <= n_subruns + 1:  # MAGIC subrun i+1 = LST subrun i
            (magic / path.name).symlink_to(path)
    return merged, magic


def run_case(cmd: list[str], tree: Path | None, work: Path, name: str) -> dict:
    env_tree = {"PYTHONPATH": str(tree)} if tree else {}
    saved = {k: os.environ.get(k) for k in env_tree}
    os.environ.update(env_tree)
    try:
        result = measure(cmd, work, work / f"{name}.log")
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    status = "ok" if result["returncode"] == 0 else f"FAILED ({result['returncode']})"
    print(f"  {name:<28} {result['wall_s']:7.1f} s  {result['peak_rss_mb']:7.0f} MB  {status}",
          flush=True)
    return result


def same_outputs(ours: Path, theirs: Path) -> list[str]:
    """Differences between two output directories: HDF5 datasets, and the columns of the
    Parquet tables that both have."""
    import h5py
    import hdf5plugin  # noqa: F401
    import polars as pl

    problems = []
    for mine in sorted(ours.glob("*.h5")):
        other = theirs / mine.name
        with h5py.File(mine) as a, h5py.File(other) as b:
            names_a, names_b = [], []
            a.visit(names_a.append)
            b.visit(names_b.append)
            if names_a != names_b:
                problems.append(f"{mine.name}: nodes differ")
                continue
            for key in names_a:
                if not isinstance(a[key], h5py.Dataset):
                    continue
                if a[key][()].tobytes() != b[key][()].tobytes():
                    problems.append(f"{mine.name}:{key} differs")
    for mine in sorted(ours.glob("*.parquet")):
        if mine.name == "summary.parquet" or not (theirs / mine.name).exists():
            continue  # wall times and RSS; a table added since (night.parquet)
        new, old = pl.read_parquet(mine), pl.read_parquet(theirs / mine.name)
        # columns added since (the feature table's diagnostics) are not a difference, nor
        # types widened since (output format 2: Int64, Float64, nullable integer ids)
        if not new.select(old.columns).equals(old.cast(new.select(old.columns).schema)):
            problems.append(f"{mine.name} differs")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lmcoinc-bench")
    parser.add_argument("--jobs", "-j", type=int, default=2)
    parser.add_argument("--compare-tree", type=Path, default=None,
                        help="an earlier lmcoinc checkout: its figures and outputs beside ours")
    parser.add_argument("--skip-80", action="store_true", help="no 80-minute night")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    args.cache = args.cache.resolve()
    sys.path.insert(0, str(REPO))
    work = args.cache / "memory-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    night20 = simulate(args.cache, 120, 10.0, 0)
    night80 = None if args.skip_80 else simulate(args.cache, 480, 10.0, 1)
    trees = {"after": REPO}
    if args.compare_tree:
        trees["before"] = args.compare_tree.resolve()
    lmcoinc = [sys.executable, "-m", "lmcoinc"]
    cases: dict[str, list[str]] = {}
    for minutes, subruns in ((10, 60), (20, 120)):
        merged, magic = merged_inputs(night20, subruns, work)
        cases[f"run merged {minutes} min"] = [*lmcoinc, "run", "-l", str(merged), "-m",
                                              str(magic), "-o", "{out}"]
    for minutes, night in ((20, night20), (80, night80)):
        if night is not None:
            cases[f"batch {minutes} min -j {args.jobs}"] = [
                *lmcoinc, "batch", "-l", str(night / "lst"), "-m", str(night / "magic"),
                "-o", "{out}", "-j", str(args.jobs), "--no-progress"]
    figures: dict[str, dict] = {}
    for tag, tree in trees.items():
        print(f"{tag}:", flush=True)
        for name, cmd in cases.items():
            out = work / f"{tag}-{name.replace(' ', '-')}"
            cmd = [part.replace("{out}", str(out)) for part in cmd]
            figures[f"{tag}: {name}"] = {**run_case(cmd, tree, work, f"{tag}-{name}"),
                                         "output": str(out)}
    checks = target_checks(figures, args.jobs)
    if args.compare_tree:
        for name in cases:
            diff = same_outputs(Path(figures[f"after: {name}"]["output"]),
                                Path(figures[f"before: {name}"]["output"]))
            checks.append((f"{name}: outputs as before", not diff, "; ".join(diff) or "same"))
    print("\ntargets:")
    for name, ok, measured in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {measured}")
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                         "figures": figures, "checks": checks}, indent=1))
    return 1 if any(f["returncode"] != 0 for k, f in figures.items() if k.startswith("after")) \
        else 0


def target_checks(figures: dict, jobs: int) -> list[tuple[str, bool, str]]:
    """The issue's targets on the "after" figures."""
    def fig(name: str) -> dict | None:
        return figures.get(f"after: {name}")

    checks = []
    r10, r20 = fig("run merged 10 min"), fig("run merged 20 min")
    checks.append(("merged 10 min: < 1 GB and < 30 s",
                   r10["peak_rss_mb"] < GB and r10["wall_s"] < 30,
                   f"{r10['peak_rss_mb']:.0f} MB, {r10['wall_s']:.1f} s"))
    checks.append(("merged 20 min: < 1 GB", r20["peak_rss_mb"] < GB,
                   f"{r20['peak_rss_mb']:.0f} MB"))
    b20, b80 = fig(f"batch 20 min -j {jobs}"), fig(f"batch 80 min -j {jobs}")
    checks.append((f"batch 20 min -j {jobs}: <= 25 s", b20["wall_s"] <= 25,
                   f"{b20['wall_s']:.1f} s"))
    if b80 is not None:
        ratio = b80["peak_rss_mb"] / b20["peak_rss_mb"]
        checks.append(("batch: largest process 80 min / 20 min <= 1.2", ratio <= 1.2,
                       f"{b80['peak_rss_mb']:.0f} / {b20['peak_rss_mb']:.0f} MB = {ratio:.2f}"))
    return checks


if __name__ == "__main__":
    sys.exit(main())
