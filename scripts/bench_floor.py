#!/usr/bin/env python
"""A night against the speed of reading it: the read floor and ``lmcoinc batch -j N`` in one run.

Usage: python scripts/bench_floor.py [--subruns 30] [--subrun-s 10] [--jobs 2] [--repeat 3]
                                     [--compare-tree DIR] [--cache DIR] [--json PATH]

1. Takes the simulated night of ``scripts/bench_night.py`` (``--subruns`` LST-1 subruns
   of ``--subrun-s`` seconds and their MAGIC run, cached in ``--cache``).
2. Measures, ``--repeat`` times and interleaved, in fresh processes:
   - the read floor: every row of every LST-1 parameter table and of every MAGIC
     parameter table read with h5py, one file after another, in one process (the
     reading only, not the start of the interpreter);
   - ``lmcoinc batch -j JOBS`` on the night, from the start of the command to its end,
     and its peak RSS per process (the summary's ``max_rss_mb`` of the workers, and
     the largest process of the tree);
   - with ``--compare-tree DIR``, the same batch with the code of ``DIR``
     (``PYTHONPATH=DIR``), whose outputs must be identical (scripts/identity.py's
     comparison: HDF5 datasets and attributes, Parquet columns).
   The bytecode of each tree is compiled first, as an installed package has it.
3. Prints the medians, the ratio batch wall / read floor (target <= 2 on a 30-subrun
   night), the wall time against 8 s for the 120-subrun night, the peak RSS against
   300 MB, and the machine's load average before and after (timings on a shared
   machine: ratios measured in one run).

The exit code is 0 whatever the checks say, 1 if a measured command failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench_night import (  # scripts/ on sys.path
    ENVIRONMENT,
    add_night_options,
    compile_bytecode,
    measure,
    night_and_work,
)
from identity import differences

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 2.0
TARGET_WALL_120_S = 8.0
TARGET_RSS_MB = 300.0

# Reads every LST-1 and MAGIC parameter row of a night with h5py; prints the seconds.
_FLOOR = """
import sys, time
from pathlib import Path
import h5py, hdf5plugin
night = Path(sys.argv[1])
tables = [(p, "/dl1/event/telescope/parameters/LST_LSTCam")
          for p in sorted((night / "lst").glob("dl1_LST-1*.h5"))]
tables += [(p, "/events/parameters") for p in sorted((night / "magic").glob("dl1_*.h5"))]
start = time.perf_counter()
rows = 0
for path, key in tables:
    with h5py.File(path, "r") as handle:
        rows += len(handle[key][:])
print(time.perf_counter() - start, rows)
"""


def read_floor(night: Path) -> tuple[float, int]:
    """Seconds to read every parameter row of the night with h5py in one process, and rows
    (once what earlier commands wrote is on disk)."""
    os.sync()
    out = subprocess.run([sys.executable, "-c", _FLOOR, str(night)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def batch(night: Path, out: Path, jobs: int, config: Path, tree: Path | None) -> dict:
    """``lmcoinc batch -j JOBS`` on the night (with the code of ``tree`` if given)."""
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "lmcoinc", "batch", "-l", str(night / "lst"), "-m",
           str(night / "magic"), "-o", str(out), "-c", str(config), "-j", str(jobs),
           "--no-progress"]
    env = {**ENVIRONMENT, "PYTHONPATH": str(tree if tree is not None else REPO)}
    found = measure(cmd, out.parent, out.parent / f"{out.name}.log", env=env)
    if found["returncode"] == 0:
        import polars as pl

        summary = pl.read_parquet(out / "summary.parquet")
        found["worker_peak_rss_mb"] = float(summary["max_rss_mb"].max())
        found["statuses"] = dict(summary.group_by("status").len().iter_rows())
    return found


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_night_options(parser)
    parser.set_defaults(subruns=30)
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each (default 3)")
    parser.add_argument("--compare-tree", type=Path, default=None,
                        help="also run the batch with the code of this checkout")
    parser.add_argument("--work", type=Path, default=None,
                        help="where outputs go (default: CACHE/floor-work, replaced)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)

    night, work, config = night_and_work(args, "floor-work")
    load = [os.getloadavg()[0]]
    floors, ours, theirs = [], [], []
    read_floor(night)  # the files in the page cache, as for every measurement after it
    for tree in (REPO, args.compare_tree):  # each run imports compiled code, as installed
        if tree is not None:
            compile_bytecode(tree.resolve())
    for _ in range(args.repeat):
        seconds, rows = read_floor(night)
        floors.append(seconds)
        ours.append(batch(night, work / "ours", args.jobs, config, None))
        if args.compare_tree is not None:
            theirs.append(batch(night, work / "theirs", args.jobs, config,
                                args.compare_tree.resolve()))
        if any(run["returncode"] != 0 for run in (*ours[-1:], *theirs[-1:])):
            failed = next(r for r in (*ours[-1:], *theirs[-1:]) if r["returncode"] != 0)
            print(Path(failed["log"]).read_text()[-3000:])
            print(f"failed (exit {failed['returncode']}): {failed['command']}")
            return 1
    floors.append(read_floor(night)[0])
    load.append(os.getloadavg()[0])
    figures = _figures(args, rows, floors, ours, theirs)
    if theirs:
        diffs, added, known = differences(work / "ours", work / "theirs")
        figures["identical_to_compare_tree"] = not diffs
        figures["differences"] = diffs[:10]
        figures["added_columns"] = added[:10]
        figures["known_format_changes"] = {kind: len(items) for kind, items in known.items()}
    figures["load_average"] = load
    _print(args, figures)
    if args.json:
        args.json.write_text(json.dumps({
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            "night": str(night), "figures": figures,
            "runs": {"ours": ours, "theirs": theirs, "floors": floors},
        }, indent=2, default=str))
    return 0


def _figures(args: argparse.Namespace, rows: int, floors: list[float], ours: list[dict],
             theirs: list[dict]) -> dict:
    floor = _median(floors)
    wall = _median([r["wall_s"] for r in ours])
    figures = {
        "subruns": args.subruns, "subrun_s": args.subrun_s, "jobs": args.jobs, "rows": rows,
        "read_floor_s": floor, "batch_wall_s": wall, "ratio": wall / floor,
        "batch_walls_s": [r["wall_s"] for r in ours], "read_floors_s": floors,
        "worker_peak_rss_mb": max(r["worker_peak_rss_mb"] for r in ours),
        "largest_process_rss_mb": max(r["peak_rss_mb"] for r in ours),
        "batch_cpu_s": _median([r["cpu_s"] for r in ours]),
    }
    if theirs:
        before = _median([r["wall_s"] for r in theirs])
        figures.update(compare_wall_s=before, compare_ratio=before / floor,
                       compare_walls_s=[r["wall_s"] for r in theirs],
                       compare_cpu_s=_median([r["cpu_s"] for r in theirs]),
                       compare_worker_peak_rss_mb=max(r["worker_peak_rss_mb"] for r in theirs))
    return figures


def _print(args: argparse.Namespace, f: dict) -> None:
    print()
    print(f"night: {f['subruns']} × {f['subrun_s']:g} s, {f['rows']:,} parameter rows; "
          f"batch -j {f['jobs']}; {args.repeat} runs; load average {f['load_average'][0]:.2f} "
          f"before, {f['load_average'][1]:.2f} after")
    print(f"{'':44}{'median':>10}   all")
    print(f"{'read floor (h5py, one process) (s)':44}{f['read_floor_s']:>10.2f}   "
          + " ".join(f"{v:.2f}" for v in f["read_floors_s"]))
    print(f"{'lmcoinc batch wall (s)':44}{f['batch_wall_s']:>10.2f}   "
          + " ".join(f"{v:.2f}" for v in f["batch_walls_s"]))
    print(f"{'  CPU time of its processes (s)':44}{f['batch_cpu_s']:>10.2f}")
    print(f"{'ratio batch / floor':44}{f['ratio']:>10.2f}   target <= {TARGET_RATIO:g}")
    if "compare_wall_s" in f:
        print(f"{'compare tree: batch wall (s)':44}{f['compare_wall_s']:>10.2f}   "
              + " ".join(f"{v:.2f}" for v in f["compare_walls_s"]))
        print(f"{'  CPU time of its processes (s)':44}{f['compare_cpu_s']:>10.2f}")
        print(f"{'  ratio batch / floor':44}{f['compare_ratio']:>10.2f}")
        print(f"{'  speed-up':44}{f['compare_wall_s'] / f['batch_wall_s']:>9.2f}×")
        print(f"{'  outputs identical':44}{str(f['identical_to_compare_tree']):>10}   "
              + "; ".join(f["differences"]))
    print(f"{'peak RSS per worker (MB)':44}{f['worker_peak_rss_mb']:>10.0f}   "
          f"target <= {TARGET_RSS_MB:g}")
    print(f"{'peak RSS, largest process (MB)':44}{f['largest_process_rss_mb']:>10.0f}")
    checks = {"ratio": f["ratio"] <= TARGET_RATIO,
              "rss": f["largest_process_rss_mb"] <= TARGET_RSS_MB}
    if f["subruns"] == 120 and f["subrun_s"] == 10:
        checks["wall_120_subruns"] = f["batch_wall_s"] <= TARGET_WALL_120_S
    if "identical_to_compare_tree" in f:
        checks["identical"] = f["identical_to_compare_tree"]
    print()
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")


if __name__ == "__main__":
    sys.exit(main())
