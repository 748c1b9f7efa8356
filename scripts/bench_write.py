#!/usr/bin/env python
"""CPU time of the write side of a subrun, as a batch writes it (HDF5 file and dataset).

Usage: python scripts/bench_write.py --night DIR [--config PATH] [--subruns N]
                                     [--passes 5] [--work DIR] [--profile]

Computes the coincidence of the night's first ``--subruns`` LST-1 subruns once, in this
process, with the batch's MAGIC cache (:func:`lmcoinc.pipeline.coincide_subrun`), then
writes each of them ``--passes`` times (:meth:`~lmcoinc.pipeline.Coincidence.write` to a
dataset partition, as ``lmcoinc batch`` does) and prints the process CPU time of a write:
the median over the passes of each subrun's, summed and per subrun. A first pass runs
before the timed ones (what a process makes once is not counted). ``--profile`` prints
where the timed passes spent their time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import shutil
import statistics
import time
from pathlib import Path

from lmcoinc.batch.cache import build_magic_cache
from lmcoinc.batch.overlap import lst_window
from lmcoinc.config import load_config
from lmcoinc.io.output import DatasetPartition
from lmcoinc.io.provenance import run_ids
from lmcoinc.pairing import command_priors
from lmcoinc.pipeline import coincide_subrun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--night", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--subruns", type=int, default=30)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--work", type=Path,
                        default=Path.home() / ".cache" / "lmcoinc-bench" / "write-work",
                        help="where outputs go (replaced)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the timed passes (cProfile) and print the top entries")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the offset history's warnings, once per subrun

    config = load_config(args.config) if args.config else load_config()
    priors = command_priors(config, batch=True)
    lst_files = sorted((args.night / "lst").glob("*.h5"))[: args.subruns]
    shutil.rmtree(args.work, ignore_errors=True)
    magic = build_magic_cache(args.night / "magic", args.work / "cache", config.tel_names,
                              None, lst_window(lst_files, config))
    out = args.work / "out"
    started = time.process_time()
    found = [coincide_subrun(path, magic, config, priors=priors, command="batch")
             for path in lst_files]
    print(f"coincidence of {len(found)} subruns: {time.process_time() - started:.2f} s CPU")

    times: list[list[float]] = [[] for _ in found]
    first = 0.0
    profile = cProfile.Profile() if args.profile else None
    for n in range(args.passes + 1):
        if n == 1 and profile is not None:
            profile.enable()
        shutil.rmtree(out, ignore_errors=True)
        for i, (path, coincidence) in enumerate(zip(lst_files, found, strict=True)):
            dataset = DatasetPartition(out, None, run_ids(path)[1])
            start = time.process_time()
            coincidence.write(out, dataset=dataset)
            if n:
                times[i].append(time.process_time() - start)
            else:
                first += time.process_time() - start
    if profile is not None:
        profile.disable()
        pstats.Stats(profile).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(60)
    medians = [statistics.median(t) for t in times]
    total = sum(medians)
    print(f"write, median of {args.passes} passes: {total:.3f} s CPU for {len(found)} "
          f"subruns, {1000 * total / len(found):.1f} ms a subrun "
          f"(min {1000 * min(medians):.1f}, max {1000 * max(medians):.1f}); "
          f"the first pass: {first:.3f} s")


if __name__ == "__main__":
    main()
