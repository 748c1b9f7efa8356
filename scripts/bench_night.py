#!/usr/bin/env python
"""Night benchmark of ``lmcoinc batch`` (issue #5) against the reference per subrun.

Usage: python scripts/bench_night.py [--subruns 120] [--subrun-s 10] [--jobs 2]
                                     [--cache DIR] [--reference-python PY] [--json PATH]

1. Simulates once (cached in ``--cache``, default ~/.cache/lmcoinc-bench) a night of
   ``--subruns`` consecutive LST-1 subruns of ``--subrun-s`` seconds at the simulator's
   realistic rates (~5 kHz LST-1, ~250 Hz MAGIC stereo) and the MAGIC run covering it
   (one MAGIC subrun file per telescope and LST subrun), with
   :func:`lmcoinc.simulate.simulate_night` in 2 processes.
2. Runs ``lmcoinc batch -j JOBS`` on it in a fresh output directory as a subprocess and
   measures its wall time, the peak RSS of each worker process (VmHWM, which each task
   reports in the summary's ``max_rss_mb``) and the peak RSS of the largest process
   (parent or worker: ``getrusage(RUSAGE_CHILDREN)`` in a wrapper process).
3. Runs the reference (magic-cta-pipe 0.6.2's ``lst1_magic_event_coincidence``, from
   ``--reference-python``, else $LMCOINC_REFERENCE_PYTHON or .venv-ref)
   on the middle LST subrun with the whole MAGIC directory, as today's one-job-per-subrun
   scheme does, checks that lmcoinc's output for that subrun is identical to it, and
   prints the ratio ``batch wall / (n_subruns × reference per-subrun wall)`` (target
   ≤ 1/20) and the per-worker RSS check (target < 1 GB).

The exit code is 0 whatever the checks say, 1 if a measured process failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import find_reference_python  # scripts/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
REFERENCE_MODULE = "magicctapipe.scripts.lst1_magic.lst1_magic_event_coincidence"
TARGET_RATIO = 1 / 20
TARGET_RSS_MB = 1024.0

# Runs a command and reports its wall time (until the command's own process ends), and the
# CPU time and largest peak RSS of its whole process tree, without counting this script's
# own children. The wrapper is the subreaper of the tree (Linux): a process that outlives
# its parent (a batch's fork server ends after the command) is still waited for and counted.
_WRAPPER = """
import ctypes, json, os, resource, subprocess, sys, time
try:
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except (AttributeError, OSError):
    pass
start = time.perf_counter()
code = subprocess.call(sys.argv[2:])
wall = time.perf_counter() - start
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(json.dumps({"kb": usage.ru_maxrss, "wall": wall,
                                         "cpu": usage.ru_utime + usage.ru_stime}))
sys.exit(code)
"""


#: The environment the commands are measured in: this one as it started (polars, once this
#: process has imported it to read a summary, writes its allocator's defaults into
#: ``os.environ``, where the console would set its own).
ENVIRONMENT = dict(os.environ)


def compile_bytecode(tree: Path = REPO) -> None:
    """Compile the bytecode of ``tree``'s lmcoinc, as an installed package has it: where
    ``PYTHONDONTWRITEBYTECODE`` is set, every command would otherwise compile each module
    changed since the last compilation, in each of its processes."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "lmcoinc")],
                   check=True, stdout=subprocess.DEVNULL)


def measure(cmd: list[str], work: Path, log: Path, env: dict | None = None) -> dict:
    """Run ``cmd`` (in the environment ``env``, default :data:`ENVIRONMENT`), once what
    earlier commands wrote is on disk; its exit code, wall time (s), CPU time (s) and
    largest peak RSS (MB)."""
    report = work / "measure.json"
    report.unlink(missing_ok=True)
    os.sync()  # the outputs of the runs before written out now, not during this one
    with open(log, "w") as out:
        # In ``work``: ``python -m`` puts the working directory first on sys.path, so a run
        # from the repository would import its lmcoinc whatever PYTHONPATH says.
        code = subprocess.call([sys.executable, "-c", _WRAPPER, str(report), *cmd],
                               stdout=out, stderr=subprocess.STDOUT, cwd=work,
                               env=env if env is not None else ENVIRONMENT)
    data = json.loads(report.read_text()) if report.exists() else {"kb": 0, "wall": float("nan")}
    return {"returncode": code, "wall_s": data["wall"], "peak_rss_mb": data["kb"] / 1024,
            "cpu_s": data.get("cpu", float("nan")), "command": shlex.join(cmd), "log": str(log)}


def simulator_digest() -> str:
    digest = hashlib.sha256()
    for source in sorted((REPO / "lmcoinc" / "simulate").glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def simulate(cache: Path, n_subruns: int, subrun_s: float, seed: int) -> Path:
    """The simulated night in the cache (simulated when absent or stale)."""
    params = {"n_subruns": n_subruns, "subrun_s": subrun_s, "seed": seed,
              "simulator": simulator_digest()}
    night = cache / f"night-{n_subruns}x{subrun_s:g}s-seed{seed}"
    marker = night / "night.json"
    if marker.exists():
        done = json.loads(marker.read_text())
        if {k: done.get(k) for k in params} == params:
            print(f"simulated night: {night} (cached; simulated in "
                  f"{done['simulation_s']:.0f} s)", flush=True)
            return night
    print(f"simulating {n_subruns} × {subrun_s:g} s into {night} ...", flush=True)
    from lmcoinc.simulate import simulate_night

    start = time.perf_counter()
    shutil.rmtree(night, ignore_errors=True)
    simulate_night(night, n_subruns, subrun_s, seed=seed, processes=2)
    params["simulation_s"] = time.perf_counter() - start
    marker.write_text(json.dumps(params))
    print(f"  simulated in {params['simulation_s']:.0f} s", flush=True)
    return night


def count_rows(files: list[Path], key: str) -> int:
    import tables

    total = 0
    for path in files:
        with tables.open_file(str(path)) as handle:
            total += handle.get_node(key).nrows if key in handle else 0
    return total


def add_night_options(parser: argparse.ArgumentParser) -> None:
    """The options of the simulated night and its batch (shared with bench_report.py)."""
    parser.add_argument("--subruns", type=int, default=120, help="LST subruns (default 120)")
    parser.add_argument("--subrun-s", type=float, default=10.0, help="subrun length (s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", "-j", type=int, default=2, help="batch workers (default 2)")
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "lmcoinc-bench",
                        help="where the simulated night is kept")


def night_and_work(args: argparse.Namespace, name: str) -> tuple[Path, Path, Path]:
    """The simulated night of the options, an empty work directory (``--work``, default
    CACHE/``name``) and the default config written in it."""
    sys.path.insert(0, str(REPO))
    night = simulate(args.cache.resolve(), args.subruns, args.subrun_s, args.seed)
    work = (args.work or args.cache / name).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    from lmcoinc.config import default_config_text

    config = work / "config.yaml"
    config.write_text(default_config_text())
    return night, work, config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_night_options(parser)
    parser.add_argument("--work", type=Path, default=None,
                        help="where outputs go (default: CACHE/night-work, replaced)")
    parser.add_argument("--reference-python", default=None)
    parser.add_argument("--no-reference", action="store_true", help="skip the reference")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)

    night, work, config = night_and_work(args, "night-work")
    compile_bytecode()
    lst_files = sorted((night / "lst").glob("dl1_LST-1*.h5"))
    magic_files = sorted((night / "magic").glob("dl1_*.h5"))
    n_lst = count_rows(lst_files, "/dl1/event/telescope/parameters/LST_LSTCam")
    n_magic = count_rows(magic_files, "/events/parameters")
    print(f"night: {len(lst_files)} LST subruns, {n_lst:,} LST events; "
          f"{len(magic_files)} MAGIC files, {n_magic:,} MAGIC events", flush=True)

    # --- lmcoinc batch ---------------------------------------------------------------
    out = work / "batch"
    lmcoinc = [sys.executable, "-m", "lmcoinc"]
    cmd = [*lmcoinc, "batch", "-l", str(night / "lst"), "-m", str(night / "magic"),
           "-o", str(out), "-c", str(config), "-j", str(args.jobs), "--no-progress"]
    print(f"running: {shlex.join(cmd)}", flush=True)
    batch = measure(cmd, work, work / "batch.log")
    if batch["returncode"] != 0:
        print(Path(batch["log"]).read_text()[-3000:])
        print(f"lmcoinc batch failed (exit {batch['returncode']})")
        return 1
    import polars as pl

    summary = pl.read_parquet(out / "summary.parquet")
    statuses = dict(summary.group_by("status").len().iter_rows())
    batch.update(
        statuses=statuses,
        worker_peak_rss_mb=float(summary["max_rss_mb"].max()),
        task_seconds_median=float(summary["seconds"].median()),
        task_seconds_max=float(summary["seconds"].max()),
        n_lst_showers=int(summary["n_lst_events"].sum()),
    )
    print(f"  batch: {batch['wall_s']:.1f} s wall, {statuses}; per task median "
          f"{batch['task_seconds_median']:.2f} s; peak RSS per worker "
          f"{batch['worker_peak_rss_mb']:.0f} MB, largest process "
          f"{batch['peak_rss_mb']:.0f} MB", flush=True)

    # --- the reference on one subrun -------------------------------------------------
    reference = None
    ref_python = None if args.no_reference else find_reference_python(args.reference_python)
    if ref_python is None:
        print("no reference venv (magic-cta-pipe 0.6.2): the ratio is not measured")
    else:
        lst_file = lst_files[len(lst_files) // 2]
        ref_out = work / "reference"
        cmd = [ref_python, "-m", REFERENCE_MODULE, "-l", str(lst_file), "-m",
               str(night / "magic"), "-o", str(ref_out), "-c", str(config)]
        print(f"running the reference on {lst_file.name}: {shlex.join(cmd)}", flush=True)
        reference = measure(cmd, work, work / "reference.log")
        if reference["returncode"] != 0:
            print(Path(reference["log"]).read_text()[-3000:])
            print(f"the reference failed (exit {reference['returncode']})")
            return 1
        name = lst_file.name.replace("LST", "MAGIC_LST")
        from tests.helpers.compare import differences

        diffs = differences(out / name, ref_out / name)
        reference.update(lst_file=lst_file.name, identical=not diffs, differences=diffs[:5])
        print(f"  reference: {reference['wall_s']:.1f} s, {reference['peak_rss_mb']:.0f} MB; "
              f"lmcoinc batch output of that subrun identical: {not diffs}", flush=True)

    # --- figures -----------------------------------------------------------------------
    n = len(lst_files)
    print()
    print(f"{'':44}{'value':>14}  target")
    print(f"{'night':44}{f'{n} × {args.subrun_s:g} s':>14}")
    print(f"{'LST events (all rows)':44}{n_lst:>14,}")
    print(f"{'MAGIC events (M1 + M2 rows)':44}{n_magic:>14,}")
    print(f"{f'lmcoinc batch -j {args.jobs} wall (s)':44}{batch['wall_s']:>14.1f}")
    print(f"{'  per subrun (s)':44}{batch['wall_s'] / n:>14.3f}")
    print(f"{'peak RSS per worker (MB)':44}{batch['worker_peak_rss_mb']:>14.0f}  "
          f"< {TARGET_RSS_MB:.0f}")
    print(f"{'peak RSS, largest process incl. parent (MB)':44}{batch['peak_rss_mb']:>14.0f}")
    checks = {"rss_per_worker": batch["worker_peak_rss_mb"] < TARGET_RSS_MB}
    if reference is not None:
        ratio = batch["wall_s"] / (n * reference["wall_s"])
        print(f"{'reference per subrun (s)':44}{reference['wall_s']:>14.1f}")
        print(f"{'reference peak RSS (MB)':44}{reference['peak_rss_mb']:>14.0f}")
        print(f"{f'{n} × reference per subrun (s)':44}{n * reference['wall_s']:>14.0f}")
        print(f"{'ratio batch / (n × reference)':44}{ratio:>14.4f}  ≤ {TARGET_RATIO:.3f}")
        print(f"{'speed-up':44}{1 / ratio:>13.0f}×  ≥ 20×")
        checks["ratio"] = ratio <= TARGET_RATIO
        checks["identical_to_reference"] = reference["identical"]
        batch["ratio"] = ratio
    print()
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    if args.json:
        args.json.write_text(json.dumps({
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            "night": {"path": str(night), "n_subruns": n, "subrun_s": args.subrun_s,
                      "n_lst_events": n_lst, "n_magic_events": n_magic,
                      "n_magic_files": len(magic_files)},
            "batch": batch, "reference": reference, "checks": checks,
        }, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
