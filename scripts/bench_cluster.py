#!/usr/bin/env python
"""A season of LST-1 + MAGIC nights on a Dask cluster, on paper, from points measured here.

Usage: python scripts/bench_cluster.py [--subruns 24] [--subrun-s 10] [--repeat 2]
                                       [--nights 30] [--hours 6] [--workers 20,50,100,200]
                                       [--cache DIR] [--json PATH]

Measures on this machine, in one run:

1. a night segment of ``--subruns`` LST-1 subruns of ``--subrun-s`` s at the simulator's
   realistic rates and its MAGIC run (simulated once, cached in ``--cache``, default
   ~/.cache/lmcoinc-bench-cluster);
2. the MAGIC cache the batch builds in its own process: wall time (one process) and size
   on disk, per second of data;
3. one subrun task as the client sends it to the scheduler (pickled: bytes), and the
   scheduler's own cost per task (1000 empty tasks on one local worker process);
4. ``lmcoinc batch --dask-scheduler`` on a scheduler with 1 and with 2 single-threaded
   worker processes (started before: the time a batch system takes to start workers is
   not the batch's), alternately, ``--repeat`` times each: the time of the task phase
   (from the first task's start to the last task's end), the wall time of each subrun's
   task and the workers' peak memory; the speed-up from 1 to 2 workers.

Then prints, for ``--nights`` nights of ``--hours`` hours of LST-1 subruns and clusters
of ``--workers`` workers: the number of tasks, the scheduler's load, the cache size and
the wall time, each with the measured inputs it comes from.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path


def _simulate(cache: Path, n_subruns: int, subrun_s: float) -> Path:
    from lmcoinc.simulate import simulate_night

    night = cache / f"night-{n_subruns}x{subrun_s:g}s"
    if not (night / "done").exists():
        print(f"simulating {n_subruns} subruns of {subrun_s:g} s into {night} ...", flush=True)
        simulate_night(night, n_subruns=n_subruns, subrun_s=subrun_s, seed=31, processes=2)
        (night / "done").write_text("")
    return night


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _magic_cache(night: Path, work: Path) -> tuple[dict, object]:
    """Build the MAGIC cache as the batch does (one process): time, size; the cache."""
    from lmcoinc.batch.cache import build_magic_cache
    from lmcoinc.config import load_config

    directory = work / "magic-cache"
    shutil.rmtree(directory, ignore_errors=True)
    start = time.perf_counter()
    cache = build_magic_cache(night / "magic", directory, load_config(None).tel_names)
    seconds = time.perf_counter() - start
    return {"cache_s": seconds, "cache_bytes": _size(directory),
            "magic_bytes": _size(night / "magic"), "lst_bytes": _size(night / "lst"),
            "magic_files": len(list((night / "magic").glob("*.h5")))}, cache


def _task_bytes(night: Path, work: Path, cache: object) -> dict:
    """The sizes of one subrun task and of the MAGIC cache (sent once) as pickled for the
    scheduler, and what each MAGIC file adds to the cache's."""
    import cloudpickle

    from lmcoinc.batch.task import SubrunTask
    from lmcoinc.config import load_config

    lst = sorted((night / "lst").glob("dl1_LST-1*.h5"))[0]
    task = SubrunTask(index=0, lst_file=lst, obs_id=3265, subrun=0, output_dir=work,
                      config=load_config(None), fingerprint="0" * 24)
    index = cloudpickle.dumps((cache.runs, cache.magic_files))
    return {"task_bytes": len(cloudpickle.dumps(task)),
            "cache_pickle_bytes": len(cloudpickle.dumps(cache)),
            "cache_index_bytes_per_file": len(index) / len(cache.magic_files)}


def _nothing(x: int) -> int:
    return x


def _scheduler_ms_per_task(n: int = 1000) -> float:
    """Wall time per empty task through a scheduler and one worker process (ms)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.gather(client.map(_nothing, range(50)))  # warm
        start = time.perf_counter()
        client.gather(client.map(_nothing, range(n), pure=False))
        return (time.perf_counter() - start) / n * 1000


def _cpu_s() -> float:
    """CPU seconds of this process so far (run on each worker)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _batch(night: Path, work: Path, workers: int) -> dict:
    """One batch on ``workers`` worker processes of a Dask scheduler, all started before."""
    from distributed import Client, LocalCluster

    from lmcoinc.batch import BatchReporter, run_batch

    out = work / f"out-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    finished: list[tuple[float, float]] = []  # (when a task was reported, its seconds)
    reporter = BatchReporter(done=lambda row: finished.append((time.perf_counter(),
                                                               row["seconds"])))
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        cpu = sum(client.run(_cpu_s).values())
        start = time.perf_counter()
        result = run_batch(night / "lst", night / "magic", out, night=False,
                           reporter=reporter, dask_scheduler=cluster.scheduler_address)
        wall = time.perf_counter() - start
        cpu = sum(client.run(_cpu_s).values()) - cpu
    summary = result.summary
    if result.exit_code != 0:
        raise SystemExit(f"batch failed: {summary['error'].drop_nulls().to_list()}")
    task_s = summary["seconds"].to_list()
    # the task phase: from the start of the first task to the end of the last
    first = min(when - seconds for when, seconds in finished)
    return {"workers": workers, "wall_s": wall, "phase_s": max(w for w, _ in finished) - first,
            "task_s": task_s, "cpu_s_per_task": cpu / summary.height,
            "max_rss_mb": max(summary["max_rss_mb"].to_list())}


def _season(measured: dict, args: argparse.Namespace) -> dict:
    """The season's numbers from the measured ones."""
    data_s = args.subruns * args.subrun_s
    per_night = round(args.hours * 3600 / args.subrun_s)
    magic_files = measured["magic_files"] / data_s * args.hours * 3600
    task_s = measured["cpu_s_per_task"]  # what a worker with a core of its own takes
    efficiency = min(1.0, measured["speedup_2"] / 2)
    cache_night_s = measured["cache_s"] / data_s * args.hours * 3600
    rows = []
    for workers in args.workers:
        night_s = [cache_night_s + per_night * task_s / (workers * e) for e in (1.0, efficiency)]
        rows.append({"workers": workers, "night_h": [t / 3600 for t in night_s],
                     "season_h": [args.nights * t / 3600 for t in night_s]})
    return {
        "subruns_per_night": per_night,
        "tasks_per_season": per_night * args.nights,
        "scheduler_s_per_night": per_night * measured["scheduler_ms"] / 1000,
        "submitted_mb_per_night": per_night * measured["task_bytes"] / 1e6,
        "cache_pickle_mb_per_night": (measured["cache_pickle_bytes"] + (
            magic_files - measured["magic_files"]) * measured["cache_index_bytes_per_file"]
        ) / 1e6,
        "cache_gb_per_night": measured["cache_bytes"] / data_s * args.hours * 3600 / 1e9,
        "magic_files_per_night": magic_files,
        "magic_gb_per_night": measured["magic_bytes"] / data_s * args.hours * 3600 / 1e9,
        "cache_build_h_per_night": cache_night_s / 3600,
        "lst_gb_per_night": measured["lst_bytes"] / data_s * args.hours * 3600 / 1e9,
        "efficiency": efficiency,
        "worker_cpu_h_per_season": per_night * args.nights * task_s / 3600,
        "task_s": task_s,
        "clusters": rows,
    }


def _print(measured: dict, season: dict, args: argparse.Namespace) -> None:
    data_s = args.subruns * args.subrun_s
    print(f"\nmachine: {platform.node()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f} (1 min) at the end")
    print(f"measured on {args.subruns} subruns of {args.subrun_s:g} s "
          f"({data_s:g} s of data, {measured['magic_files']} MAGIC files):")
    for workers in (1, 2):
        runs = measured[f"runs_{workers}"]
        print(f"  {workers} worker(s): task phase "
              + ", ".join(f"{r['phase_s']:.1f}" for r in runs)
              + " s; batch wall " + ", ".join(f"{r['wall_s']:.1f}" for r in runs) + " s")
    print(f"  per subrun task: median wall {statistics.median(measured['task_s_1']):.2f} s "
          f"(1 worker), {statistics.median(measured['task_s_2']):.2f} s (2 workers); CPU "
          f"{measured['cpu_s_per_task']:.2f} s (workers' CPU time / subruns, median); "
          f"worker peak RSS {measured['max_rss_mb']:.0f} MB")
    print(f"  speed-up 1 -> 2 workers: {measured['speedup_2']:.2f} (task phase, median)")
    print(f"  MAGIC cache: {measured['cache_s']:.2f} s to build (1 process), "
          f"{measured['cache_bytes'] / 1e6:.1f} MB for {measured['magic_bytes'] / 1e6:.1f} MB "
          "of MAGIC files")
    print(f"  one task as sent to the scheduler: {measured['task_bytes'] / 1e3:.1f} kB, and "
          f"once the MAGIC cache: {measured['cache_pickle_bytes'] / 1e3:.0f} kB "
          f"(+{measured['cache_index_bytes_per_file']:.0f} B per MAGIC file); scheduler cost "
          f"{measured['scheduler_ms']:.2f} ms per task")
    print(f"\nseason: {args.nights} nights x {args.hours:g} h of {args.subrun_s:g} s subruns")
    print(f"  tasks: {season['subruns_per_night']} per night, "
          f"{season['tasks_per_season']} in the season (+1 worker check per night)")
    print(f"  scheduler: {season['scheduler_s_per_night']:.0f} s of its time per night; "
          f"{season['submitted_mb_per_night']:.0f} MB of tasks submitted at once, and the "
          f"MAGIC cache once: {season['cache_pickle_mb_per_night']:.1f} MB "
          f"({season['magic_files_per_night']:.0f} MAGIC files)")
    print(f"  MAGIC cache: {season['cache_gb_per_night']:.1f} GB per night (for "
          f"{season['magic_gb_per_night']:.1f} GB of MAGIC files), removed at the batch's "
          f"end; built in {season['cache_build_h_per_night']:.2f} h by one process "
          "(-j N divides it)")
    print(f"  worker time: {season['worker_cpu_h_per_season']:.1f} h in the season; "
          f"LST-1 files read: {season['lst_gb_per_night']:.0f} GB per night")
    print("  wall time (cache built by one process, then the subruns' CPU time on W workers "
          f"with a core each), at parallel efficiency 1 / the {season['efficiency']:.2f} "
          "measured here from 1 to 2 workers:")
    for row in season["clusters"]:
        print(f"  {row['workers']:>4} workers: " + " / ".join(
            f"{h * 60:.1f}" for h in row["night_h"]) + " min per night, " + " / ".join(
            f"{h:.1f}" for h in row["season_h"]) + " h for the season")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subruns", type=int, default=24)
    parser.add_argument("--subrun-s", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--workers", type=lambda t: [int(w) for w in t.split(",")],
                        default=[20, 50, 100, 200])
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "lmcoinc-bench-cluster")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.getLogger("lmcoinc").setLevel(logging.ERROR)  # the subruns' warnings
    night = _simulate(args.cache, args.subruns, args.subrun_s)
    work = args.cache / "work"
    work.mkdir(parents=True, exist_ok=True)
    measured, cache = _magic_cache(night, work)
    measured.update(_task_bytes(night, work, cache))
    measured["scheduler_ms"] = _scheduler_ms_per_task()
    for workers in (1, 2):
        measured[f"runs_{workers}"] = []
    for _ in range(args.repeat):
        for workers in (1, 2):
            measured[f"runs_{workers}"].append(_batch(night, work, workers))
    for workers in (1, 2):
        runs = measured[f"runs_{workers}"]
        measured[f"task_s_{workers}"] = [s for r in runs for s in r["task_s"]]
        measured[f"phase_{workers}"] = statistics.median(r["phase_s"] for r in runs)
    measured["cpu_s_per_task"] = statistics.median(r["cpu_s_per_task"] for w in (1, 2)
                                                   for r in measured[f"runs_{w}"])
    measured["speedup_2"] = measured["phase_1"] / measured["phase_2"]
    measured["max_rss_mb"] = max(r["max_rss_mb"] for w in (1, 2)
                                 for r in measured[f"runs_{w}"])
    season = _season(measured, args)
    _print(measured, season, args)
    if args.json is not None:
        args.json.write_text(json.dumps({"measured": measured, "season": season}, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
