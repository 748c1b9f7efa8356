#!/usr/bin/env python
"""Targets of the clock offsets: geometric delay, offset history, night model (issue #10).

Usage: python scripts/offsets_targets.py [--work DIR] [--subruns 6] [--seed 1] [--jobs 2]

1. Simulates a night (``lmcoinc.simulate.simulate_night``) of ``--subruns`` LST-1
   subruns of 10 s at realistic rates with one clock offset (-3.2 µs), the
   geometric delay in the MAGIC times and three pointings (alt/az 70°/170°,
   35°/80°, 45°/300°, each for a third of the night), on 2023-12-08 (the
   history says -3.2 µs); its last subrun is sparse (MAGIC at 1 Hz: at most
   ten true coincidences). Also writes the LST run merged into one file.
2. ``lmcoinc batch`` with the default config: prints the summary (raw offsets,
   clock offsets, offset_source, deviation from the night model) and checks
   every clock offset of the other subruns against the true one (≤ 20 ns)
   while the raw offsets spread over hundreds of ns.
3. The merged file with ``lmcoinc run`` (defaults, then ``geometric_delay:
   true``) against the subruns of the batch: recall and purity on the true
   pairs of all subruns whose LST event the merged file keeps.
4. The sparse subrun: ``run`` with the defaults (the reference's behaviour),
   ``batch`` with the history only (no night model), with the night model only
   (``offset_history.fallback: false``), and with both; its recall on its true
   pairs (target ≥ 90 % through the night model or the history).

Prints a table of the targets; the exit code is 0 whatever the checks say.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import polars as pl
import yaml

import lmcoinc
from lmcoinc.batch import run_batch
from lmcoinc.config import default_config_text, load_config, parse_config
from lmcoinc.errors import NoCoincidenceError
from lmcoinc.io.lst_events import load_lst
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.simulate import simulate_night
from lmcoinc.simulate.truth import found_pairs, recall_purity

TRUE_OFFSET_NS = -3200
START_UNIX_S = 1_702_000_000.0  # 2023-12-08 01:46 UTC
POINTINGS = ((70.0, 170.0), (35.0, 80.0), (45.0, 300.0))
SUBRUN_S = 10.0
TEL_IDS = (2, 3)
#: The telescopes of the default config (MAGIC files with others are an error).
TEL_NAMES = load_config(None).tel_names


def config(**keys):
    """The default config with event_coincidence keys set."""
    raw = yaml.safe_load(default_config_text())
    raw["event_coincidence"].update(keys)
    return parse_config(raw, "targets")


def simulate(work: Path, n_subruns: int, seed: int, jobs: int):
    third = n_subruns * SUBRUN_S / 3
    schedule = tuple((START_UNIX_S + k * third, alt, az) for k, (alt, az) in enumerate(POINTINGS))
    return simulate_night(
        work / "night", n_subruns=n_subruns, subrun_s=SUBRUN_S, seed=seed,
        true_offset_ns=TRUE_OFFSET_NS, start_unix_s=START_UNIX_S, geometric_delay=True,
        pointing_schedule=schedule, merged=True, processes=jobs,
        subrun_settings={n_subruns - 1: {"magic_stereo_rate_hz": 1.0}},
    )


def batch(night, out: Path, jobs: int, night_model: bool = True, **keys):
    shutil.rmtree(out, ignore_errors=True)
    return run_batch(night.lst_dir, night.magic_dir, out, config(**keys), jobs=jobs,
                     night=night_model)


def score(out: Path, names: list[str], true_pairs: list[Path], lst_keys=None):
    """Recall/purity of the events of the given subrun outputs (missing: none found), on
    the pairs whose LST event is in ``lst_keys`` (obs_id_lst, event_id_lst) if given."""
    events = [lmcoinc.scan(out / f"{n}.h5", "events").collect() for n in names
              if (out / f"{n}.h5").is_file()]  # of run (beside it) or batch (its dataset)
    found = (found_pairs(pl.concat(events, how="diagonal_relaxed")) if events else
             pl.DataFrame(schema=dict.fromkeys(
                 ["obs_id_lst", "event_id_lst", "tel_id", "obs_id_magic", "event_id_magic"],
                 pl.Int64)))
    true = pl.concat([pl.read_parquet(p) for p in true_pairs])
    if lst_keys is not None:
        found, true = (f.join(lst_keys, on=["obs_id_lst", "event_id_lst"], how="semi")
                       for f in (found, true))
    return recall_purity(found, true).overall


def output_stems(night) -> list[str]:
    return [p.name.replace("LST", "MAGIC_LST").removesuffix(".h5") for p in night.lst_files]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("offsets_targets"))
    parser.add_argument("--subruns", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    night = simulate(args.work, args.subruns, args.seed, args.jobs)
    sound, sparse = slice(0, args.subruns - 1), args.subruns - 1
    stems = output_stems(night)
    checks = []

    # 2. the night with the defaults
    result = batch(night, args.work / "batch", args.jobs)
    summary = result.summary
    pl.Config.set_tbl_cols(30)
    pl.Config.set_tbl_width_chars(220)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    columns = ["subrun", "status"] + [f"{c}_tel{t}" for t in TEL_IDS for c in (
        "offset_us", "clock_offset_us", "n_coincidence", "deviation_us")] + ["offset_source"]
    print("lmcoinc batch, default config: summary")
    print(summary.select(columns))
    print("night model levels (OUT/night.parquet)")
    print(result.night)
    ok_rows = summary[sound]
    for tel in TEL_IDS:
        error = (ok_rows[f"clock_offset_us_tel{tel}"] * 1000 - TRUE_OFFSET_NS).abs().max()
        spread = (ok_rows[f"offset_us_tel{tel}"].max() - ok_rows[f"offset_us_tel{tel}"].min())
        checks += [(f"tel {tel}: max |clock offset - true| over {args.subruns - 1} subruns",
                    f"{error:.1f} ns", error <= 20),
                   (f"tel {tel}: spread of the raw offsets", f"{spread * 1000:.0f} ns",
                    spread * 1000 >= 200)]

    # 3. the merged file, scored on the LST events it keeps: the simulator numbers each
    # subrun's events from subrun × 50 000, so ids repeat across subruns of more events
    # and the reference's rule drops them from the merged file
    kept = load_lst(night.merged_lst_file, "dragon_time").keys.select(
        pl.col("obs_id_lst").cast(pl.Int64), pl.col("event_id_lst").cast(pl.Int64))
    per_subrun = score(args.work / "batch", stems, night.true_pairs, kept)
    merged_stem = night.merged_lst_file.name.replace("LST", "MAGIC_LST").removesuffix(".h5")
    print(f"\nmerged file {night.merged_lst_file.name}: scored on the true pairs whose LST "
          "event the merged file keeps")
    print(f"  per-subrun batch: recall {per_subrun.recall:.5f} purity {per_subrun.purity:.5f} "
          f"({per_subrun.n_true} true pairs)")
    merged = {}
    for geometric in (False, True):
        out = args.work / f"merged_geometric_{geometric}"
        shutil.rmtree(out, ignore_errors=True)
        report = process_subrun(night.merged_lst_file, MagicDirectory(night.magic_dir, TEL_NAMES),
                                out, config(geometric_delay=geometric))
        merged[geometric] = score(out, [merged_stem], night.true_pairs, kept)
        offsets = ", ".join(f"tel {t}: {f.average_offset_ns / 1000:.3f} us" for t, f in
                            sorted(report.result.telescopes.items()))
        print(f"  run, geometric_delay {str(geometric).lower():5}: recall "
              f"{merged[geometric].recall:.5f} purity {merged[geometric].purity:.5f} "
              f"(offset {offsets})")
    checks += [("merged, geometric_delay: recall >= per-subrun",
                f"{merged[True].recall:.5f} vs {per_subrun.recall:.5f}",
                merged[True].recall >= per_subrun.recall),
               ("merged, geometric_delay: purity >= per-subrun",
                f"{merged[True].purity:.5f} vs {per_subrun.purity:.5f}",
                merged[True].purity >= per_subrun.purity)]

    # 4. the sparse subrun
    truth = [night.true_pairs[sparse]]
    n_true = pl.read_parquet(truth[0]).select("obs_id_lst", "event_id_lst").n_unique()
    print(f"\nsparse subrun {stems[sparse]}: {n_true} true coincidences "
          f"({pl.read_parquet(truth[0]).height} true pairs)")
    checks.append(("sparse subrun: true coincidences <= 10", str(n_true), n_true <= 10))
    out = args.work / "sparse_run"
    shutil.rmtree(out, ignore_errors=True)
    try:
        report = process_subrun(night.lst_files[sparse], MagicDirectory(night.magic_dir, TEL_NAMES),
                                out, config())
        offsets = {t: f.average_offset_ns / 1000 for t, f in report.result.telescopes.items()}
    except NoCoincidenceError:
        offsets = "no coincidence"
    ways = {"run (defaults, as the reference)": (out, offsets)}
    for label, out, keys, night_model in (
            ("batch, history only", "sparse_history", {}, False),
            ("batch, night model only", "sparse_night", {"offset_history": {"fallback": False}},
             True),
            ("batch, defaults (both)", "batch", None, True)):
        if keys is not None:
            found = batch(night, args.work / out, args.jobs, night_model, **keys).summary
        else:
            found = summary
        row = found.row(sparse, named=True)
        ways[label] = (args.work / out, {t: row[f"offset_us_tel{t}"] for t in TEL_IDS}
                       | {"source": row["offset_source"]})
    for label, (out, offsets) in ways.items():
        got = score(out, [stems[sparse]], truth)
        print(f"  {label:34}: recall {got.recall:.3f} purity {got.purity:.3f}  {offsets}")
        if label.startswith("run"):  # the pre-offset search fails: the case to rescue
            checks.append(("sparse subrun, run with the defaults fails (recall < 90 %)",
                           f"{got.recall:.3f}", got.recall < 0.9))
        else:
            checks.append((f"sparse subrun, {label}: recall >= 90 %", f"{got.recall:.3f}",
                           got.recall >= 0.9))

    print("\ntargets")
    for what, value, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {what}: {value}")


if __name__ == "__main__":
    main()
