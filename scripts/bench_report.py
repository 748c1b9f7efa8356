#!/usr/bin/env python
"""Speed of ``lmcoinc report`` on a night (issue #13): target < 30 s for 120 subruns.

Usage: python scripts/bench_report.py [--subruns 120] [--subrun-s 10] [--jobs 2]
                                      [--cache DIR] [--repeat 3] [--json PATH]

1. Takes the simulated night of ``scripts/bench_night.py`` (cached in ``--cache``,
   default ~/.cache/lmcoinc-bench; simulated when absent).
2. Runs ``lmcoinc batch -j JOBS`` on it once (kept in CACHE/report-work while the
   night is the same).
3. Runs ``lmcoinc report OUT`` as a fresh process ``--repeat`` times and prints the
   median wall time (start-up and matplotlib's import included) against the target,
   its CPU time (what the wall time is on an idle machine: the report runs in one
   thread) and the machine's load.
4. Runs ``lmcoinc run --timings`` on the middle subrun and prints the share of the
   ``diagnostics`` stage (accidentals, effective time) in its processing: what the
   ``run`` path pays without a report (matplotlib is not imported there).

The exit code is 0 whatever the checks say, 1 if a measured process failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
from pathlib import Path

# scripts/ is on sys.path when run as a script
from bench_night import add_night_options, measure, simulate

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 30.0


def batch_output(night: Path, work: Path, jobs: int) -> Path | None:
    """The batch output of the night (made when absent or made from another night)."""
    out, marker = work / "batch", work / "night.json"
    stamp = (night / "night.json").read_text()
    if marker.exists() and marker.read_text() == stamp and (out / "summary.parquet").exists():
        print(f"batch output: {out} (cached)", flush=True)
        return out
    cmd = [sys.executable, "-m", "lmcoinc", "batch", "-l", str(night / "lst"), "-m",
           str(night / "magic"), "-o", str(out), "-j", str(jobs), "--no-progress", "--overwrite"]
    print(f"running: {shlex.join(cmd)}", flush=True)
    work.mkdir(parents=True, exist_ok=True)
    done = measure(cmd, work, work / "batch.log")
    if done["returncode"] not in (0, 4):
        print(Path(done["log"]).read_text()[-3000:])
        return None
    print(f"  batch: {done['wall_s']:.1f} s", flush=True)
    marker.write_text(stamp)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_night_options(parser)
    parser.add_argument("--repeat", type=int, default=3, help="report runs (default 3)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    args.cache = args.cache.resolve()

    sys.path.insert(0, str(REPO))
    night = simulate(args.cache, args.subruns, args.subrun_s, args.seed)
    work = args.cache / f"report-work-{night.name}"
    out = batch_output(night, work, args.jobs)
    if out is None:
        print("lmcoinc batch failed")
        return 1

    walls, cpus = [], []
    cmd = [sys.executable, "-m", "lmcoinc", "report", str(out)]
    print(f"running {args.repeat} times: {shlex.join(cmd)}", flush=True)
    for i in range(args.repeat):
        done = measure(cmd, work, work / f"report-{i}.log")
        if done["returncode"] != 0:
            print(Path(done["log"]).read_text()[-3000:])
            return 1
        walls.append(done["wall_s"])
        cpus.append(done["cpu_s"])
        print(f"  {done['wall_s']:.2f} s wall, {done['cpu_s']:.2f} s CPU, peak RSS "
              f"{done['peak_rss_mb']:.0f} MB", flush=True)
    report_dir = out / "report"
    n_png = len(list(report_dir.glob("*.png")))
    page_mb = (report_dir / "index.html").stat().st_size / 1e6

    lst_files = sorted((night / "lst").glob("dl1_LST-1*.h5"))
    lst_file = lst_files[len(lst_files) // 2]
    timings = work / "timings.json"
    cmd = [sys.executable, "-m", "lmcoinc", "run", "-l", str(lst_file), "-m",
           str(night / "magic"), "-o", str(work / "run"), "--timings", str(timings)]
    (work / "run").mkdir(exist_ok=True)
    for old in (work / "run").iterdir():
        old.unlink()
    run = measure(cmd, work, work / "run.log")
    stages = json.loads(timings.read_text()) if run["returncode"] == 0 else {}
    share = stages.get("diagnostics", float("nan")) / sum(stages.values()) if stages else None

    median = statistics.median(walls)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print()
    print(f"{'machine: CPUs, load average (1 min)':44}{f'{os.cpu_count()}, {load:.1f}':>14}")
    print(f"{'night':44}{f'{args.subruns} × {args.subrun_s:g} s':>14}")
    print(f"{'report: PNG files, page size (MB)':44}{f'{n_png}, {page_mb:.1f}':>14}")
    print(f"{'lmcoinc report wall, median (s)':44}{median:>14.2f}  < {TARGET_S:.0f}")
    print(f"{'lmcoinc report CPU (user + sys), median (s)':44}{statistics.median(cpus):>14.2f}")
    if share is not None:
        print(f"{'run: diagnostics stage (s)':44}{stages['diagnostics']:>14.3f}")
        print(f"{'run: diagnostics / all stages':44}{share:>14.3f}")
    checks = {"report_under_30_s": median < TARGET_S}
    print()
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    if args.json:
        args.json.write_text(json.dumps({
            "night": str(night), "report_walls_s": walls, "report_cpu_s": cpus,
            "median_s": median, "load_average": load, "n_png": n_png,
            "page_mb": page_mb, "run_stages": stages, "checks": checks}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
