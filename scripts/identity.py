#!/usr/bin/env python
"""Are the outputs of this checkout identical to those of another one, in every mode?

Usage: python scripts/identity.py --compare-tree DIR [--cache DIR] [--work DIR] [--keep]

Simulates once (cached in ``--cache``, default ~/.cache/lmcoinc-identity) the cases
below, runs each with this checkout's code and with the code of ``DIR`` (an earlier
checkout, ``PYTHONPATH=DIR``), each command as a separate process, and compares the
two output directories file by file:

- HDF5: the same nodes, every dataset byte for byte, every attribute; a field that only
  this checkout's table has (and its ``FIELD_<n>_*`` attributes) is listed as added,
  the other fields compared byte for byte;
- Parquet (the per-subrun files, the batch dataset, ``night.parquet``,
  ``summary.parquet`` without its timings): the same columns and values; a column that
  only this checkout writes is listed as added, not as a difference;
- the tables of ``ADDED_TABLES`` (HDF5 ``/coincidence/<name>``, ``<stem>.<name>.parquet``
  or their dataset partitions), new in this round of work, are listed as added when only
  this checkout writes them;
- the report: the same PNG files byte for byte and the same page.

Output format 2 (provenance in every output, self-describing Parquet, a batch's Parquet
tables in its dataset only) changed some outputs on purpose; against a tree of format 1
these known changes are allowed, each checked, and counted in the verdict line:

- the HDF5 root attributes of the provenance (``lmcoinc``, ``lmcoinc_version``,
  ``lmcoinc_config``) are left out of the comparison, on both sides; everything else of
  the file (tables, subarray, images, every other attribute) stays byte for byte;
- Parquet key-value and field metadata (provenance, units, descriptions) are not
  compared;
- Parquet types may be widened (integers to Int64, Float32 to Float64, the float ids
  ``obs_id_lst``/``event_id_lst`` with NaN to nullable Int64): the other side's table is
  cast to the new types, which must hold every value exactly (casting back gives it
  again), and must then be equal;
- a batch writes each Parquet table once, to its dataset: the other side's per-subrun
  file ``<stem>.<table>.parquet`` of a batch output is compared with the table's dataset
  partition ``parquet/<table>/lst_obs_id=O/lst_subrun=S/part-0.parquet`` here (the drift
  mode's ``offset_model`` included) instead of being missing.

Cases: ``run`` with the defaults on a 10 s subrun; ``run`` with a fixed scan range;
``run`` with ``save_images``; ``run`` with ``geometric_delay`` and the history fallback
on a subrun whose MAGIC data are sparse; ``run`` in drift mode on a broken-GPS subrun
(+2.437 s, +3.1 µs/s); ``batch -j 2`` with the night model on a night of six subruns
(geometric delay, a pointing change, a sparse subrun) and its report; ``batch -j 2`` in
drift mode on a broken-GPS night with a sparse subrun (the run model's second pass).

The exit code is 0 when every case gives identical outputs, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Summary columns that measure the machine, not the result.
TIMING_COLUMNS = ("seconds", "max_rss_mb")
#: Output tables that this round of work adds on purpose (drift mode's segments between
#: clock steps): listed as added when only this checkout writes them.
ADDED_TABLES = ("offset_segments",)
#: HDF5 root attributes of the provenance (output format 2): when and from what, not what.
PROVENANCE_ATTRIBUTES = ("lmcoinc", "lmcoinc_version", "lmcoinc_config")
START = 1_702_000_000.0  # a night of December 2023: the history's offset is -3.2 us


def _config(path: Path, **keys: str) -> Path:
    from lmcoinc.config import default_config_text

    text = default_config_text()
    lines = "".join(f"    {k}: {v}\n" for k, v in keys.items())
    path.write_text(text.replace("event_coincidence:\n", "event_coincidence:\n" + lines, 1))
    return path


def simulate_cases(cache: Path) -> dict[str, dict]:
    """The inputs of every case (simulated when absent): name → {cmd args, config}."""
    from lmcoinc.simulate import SimulationConfig, simulate, simulate_night

    cache.mkdir(parents=True, exist_ok=True)
    done = cache / "done.json"
    if not done.exists():
        print(f"simulating the cases into {cache} ...", flush=True)
        simulate(cache / "subrun", SimulationConfig(duration_s=10.0, seed=21,
                                                    start_unix_s=START))
        simulate(cache / "images", SimulationConfig(duration_s=0.5, seed=22, images=True,
                                                    start_unix_s=START))
        simulate(cache / "gps", SimulationConfig(duration_s=6.0, seed=23,
                                                 true_offset_ns=2_437_000_000,
                                                 drift_ns_per_s=3100.0, start_unix_s=START))
        simulate_night(cache / "night", n_subruns=6, subrun_s=3.0, seed=24, start_unix_s=START,
                       geometric_delay=True, processes=2,
                       pointing_schedule=((START, 70.0, 170.0), (START + 9.0, 35.0, 80.0)),
                       subrun_settings={4: {"magic_stereo_rate_hz": 3.0}})
        simulate_night(cache / "drifting", n_subruns=4, subrun_s=3.0, seed=25,
                       start_unix_s=START, true_offset_ns=1_500_000_000, drift_ns_per_s=6000.0,
                       processes=2, subrun_settings={2: {"magic_stereo_rate_hz": 4.0}})
        done.write_text("{}")
    configs = cache / "configs"
    configs.mkdir(exist_ok=True)
    fixed = configs / "fixed.yaml"
    from lmcoinc.config import default_config_text

    fixed.write_text(default_config_text().replace("pre_offset_search: true",
                                                   "pre_offset_search: false"))
    images = configs / "images.yaml"
    images.write_text(default_config_text() + "\nsave_images: true\n")
    geometric = _config(configs / "geometric.yaml", geometric_delay="true",
                        offset_history="{fallback: true}")
    drift = _config(configs / "drift.yaml", offset_model="drift")
    subrun = sorted((cache / "subrun").glob("dl1_LST-1*.h5"))[0]
    night_lst = sorted((cache / "night" / "lst").glob("dl1_LST-1*.h5"))
    return {
        "run-default": ["run", "-l", subrun, "-m", cache / "subrun" / "magic"],
        "run-fixed-range": ["run", "-l", subrun, "-m", cache / "subrun" / "magic", "-c", fixed],
        "run-images": ["run", "-l", next((cache / "images").glob("dl1_LST-1*.h5")),
                       "-m", cache / "images" / "magic", "-c", images],
        "run-geometric-sparse": ["run", "-l", night_lst[4], "-m", cache / "night" / "magic",
                                 "-c", geometric],
        "run-drift": ["run", "-l", next((cache / "gps").glob("dl1_LST-1*.h5")),
                      "-m", cache / "gps" / "magic", "-c", drift],
        "batch-night": ["batch", "--lst-dir", cache / "night" / "lst", "--magic-dir",
                        cache / "night" / "magic", "-j", "2", "--no-progress", "--report"],
        "batch-drift": ["batch", "--lst-dir", cache / "drifting" / "lst", "--magic-dir",
                        cache / "drifting" / "magic", "-j", "2", "--no-progress", "-c", drift],
    }


def run_case(args: list, tree: Path, out: Path) -> int:
    """``python -m lmcoinc ARGS -o OUT`` with the code of ``tree``; its exit code."""
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "lmcoinc", *map(str, args), "-o", str(out)]
    log = out.parent / f"{out.name}.log"
    with open(log, "w") as handle:  # in a neutral directory: -m puts the cwd on sys.path
        return subprocess.call(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT,
                               cwd=out.parent)


def _added_node(name: str) -> bool:
    return name.rsplit("/", 1)[-1] in ADDED_TABLES


def _compound_differences(node_a, node_b, where: str) -> tuple[list[str], list[str]]:
    """A table (compound dataset) of ours with fields beyond theirs: the common fields byte
    for byte, the others listed as added."""
    fields_a, fields_b = node_a.dtype.names or (), node_b.dtype.names or ()
    if not fields_b or list(fields_a[:len(fields_b)]) != list(fields_b):
        return [f"{where} differs"], []
    data_a, data_b = node_a[()], node_b[()]
    problems = [f"{where}.{f} differs" for f in fields_b
                if data_a[f].dtype != data_b[f].dtype
                or data_a[f].tobytes() != data_b[f].tobytes()]
    return problems, [f"{where}: +{f}" for f in fields_a[len(fields_b):]]


def _attribute_differences(node_a, node_b, where: str) -> list[str]:
    """The same attributes, but those of a field that only ours has (``FIELD_<n>_*``)."""
    skip = PROVENANCE_ATTRIBUTES if node_a.name == "/" else ()
    attrs_a = {k: repr(node_a.attrs[k]) for k in node_a.attrs if k not in skip}
    attrs_b = {k: repr(node_b.attrs[k]) for k in node_b.attrs if k not in skip}
    n_fields = len(getattr(node_b, "dtype", None) and node_b.dtype.names or ())

    def of_added_field(key: str) -> bool:
        parts = key.split("_")
        return (len(parts) > 2 and parts[0] == "FIELD" and parts[1].isdigit()
                and int(parts[1]) >= n_fields and key not in attrs_b)

    kept = {k: v for k, v in attrs_a.items() if not (n_fields and of_added_field(k))}
    return [] if kept == attrs_b else [f"{where} attributes differ"]


def _hdf5_differences(ours: Path, theirs: Path) -> tuple[list[str], list[str]]:
    import h5py
    import hdf5plugin  # noqa: F401 - blosc:zstd images

    problems, added = [], []
    with h5py.File(ours) as a, h5py.File(theirs) as b:
        names_a, names_b = [""], [""]
        a.visit(names_a.append)
        b.visit(names_b.append)
        new = [n for n in names_a if n not in set(names_b)]
        if set(names_b) - set(names_a) or not all(_added_node(n.rsplit("/", 1)[0])
                                                   or _added_node(n) for n in new):
            return [f"{ours.name}: nodes differ: {sorted(set(names_a) ^ set(names_b))}"], []
        added += [f"{ours.name}: +/{n}" for n in new if _added_node(n)]
        for key in names_b:
            node_a, node_b = a[key] if key else a, b[key] if key else b
            where = f"{ours.name}:/{key}"
            problems += _attribute_differences(node_a, node_b, where)
            if isinstance(node_a, h5py.Dataset) and node_a.dtype != node_b.dtype:
                found, more = _compound_differences(node_a, node_b, where)
                problems += found
                added += more
            elif isinstance(node_a, h5py.Dataset) and (
                    node_a[()].tobytes() != node_b[()].tobytes()):
                problems.append(f"{where} differs")
    return problems, added


#: Float columns (ids with NaN for "missing") that output format 2 writes as nullable Int64.
FLOAT_IDS = ("obs_id_lst", "event_id_lst")


def _widened(column: str, old, new) -> bool:
    """Whether type ``old`` of ``column`` may become ``new`` (output format 2's Parquet)."""
    import polars as pl

    if new == pl.Int64:
        return old.is_integer() or (column in FLOAT_IDS and old.is_float())
    return new == pl.Float64 and old.is_float()


def _parquet_differences(ours: Path, theirs: Path, name: str
                         ) -> tuple[list[str], list[str], list[str]]:
    """(differences, columns added, types widened) of two Parquet files of one table."""
    import polars as pl

    new, old = pl.read_parquet(ours), pl.read_parquet(theirs)
    if ours.name == "summary.parquet":
        new, old = new.drop(TIMING_COLUMNS, strict=False), old.drop(TIMING_COLUMNS, strict=False)
    added = [f"{name}: +{c}" for c in new.columns if c not in old.columns]
    missing = [c for c in old.columns if c not in new.columns]
    if missing:
        return [f"{name}: columns missing {missing}"], added, []
    types = {c: new.schema[c] for c in old.columns if new.schema[c] != old.schema[c]}
    bad = [f"{c}: {old.schema[c]} -> {t}" for c, t in types.items()
           if not _widened(c, old.schema[c], t)]
    if bad:
        return [f"{name}: types differ {bad}"], added, []
    # NaN is how the float ids said "missing": null in the nullable integers
    nan_ids = [c for c, t in types.items() if old.schema[c].is_float() and t == pl.Int64]
    cast = old.with_columns(pl.col(nan_ids).fill_nan(None))
    try:
        cast = cast.cast(types, strict=True)
    except pl.exceptions.PolarsError as err:
        return [f"{name}: values do not fit the new types ({err})"], added, []
    if not cast.cast(dict(old.schema)).with_columns(
            pl.col(nan_ids).fill_null(float("nan"))).equals(
            old.with_columns(pl.col(nan_ids).fill_null(float("nan")))):
        return [f"{name}: the new types lose values"], added, []
    if not new.select(old.columns).equals(cast):
        return [f"{name} differs"], added, []
    return [], added, [f"{name}: {c} {old.schema[c]} -> {t}" for c, t in types.items()]


def _moved_to_dataset(ours: Path, theirs: Path, files_a: set[Path], files_b: set[Path]
                      ) -> dict[Path, Path]:
    """A batch output's per-subrun Parquet files of the other side (format 1) → the dataset
    partitions that hold their tables here (format 2)."""
    if not (ours / "summary.parquet").is_file():
        return {}
    from lmcoinc.io.dataset import TABLES, partition_file
    from lmcoinc.io.provenance import run_ids

    moved = {}
    for rel in files_b - files_a:
        parts = rel.name.rsplit(".", 2)
        obs_id, subrun = run_ids(rel.name)
        if len(rel.parts) != 1 or len(parts) != 3 or parts[1] not in TABLES or obs_id is None:
            continue
        partition = partition_file(Path(), parts[1], obs_id, subrun)
        if partition in files_a:
            moved[rel] = partition
    return moved


def differences(ours: Path, theirs: Path) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(differences, columns added, known changes of output format 2) between two output
    directories."""
    problems, added = [], []
    known: dict[str, list[str]] = {"types widened": [], "moved to the dataset": []}
    files_a = {p.relative_to(ours) for p in ours.rglob("*") if p.is_file()}
    files_b = {p.relative_to(theirs) for p in theirs.rglob("*") if p.is_file()}
    state = {p for p in files_a | files_b if p.parts[0] == ".lmcoinc"}  # records, lock
    moved = _moved_to_dataset(ours, theirs, files_a, files_b)
    new_tables = {p for p in files_a - files_b
                  if any(p.name.endswith(f".{t}.parquet") or t in p.parts for t in ADDED_TABLES)}
    added += [f"+{p}" for p in sorted(map(str, new_tables))]
    only_here = (files_a - files_b) - set(moved.values()) - state - new_tables
    only_there = (files_b - files_a) - set(moved) - state
    if only_here or only_there:
        problems.append(f"files differ: {sorted(map(str, only_here | only_there))}")
    pairs = [(rel, rel) for rel in sorted((files_a & files_b) - state)]
    pairs += [(new, old) for old, new in sorted(moved.items())]
    known["moved to the dataset"] = [f"{old} -> {new}" for old, new in sorted(moved.items())]
    for rel_a, rel_b in pairs:
        a, b = ours / rel_a, theirs / rel_b
        if rel_a.suffix == ".h5":
            found, new = _hdf5_differences(a, b)
            problems += found
            added += new
        elif rel_a.suffix == ".parquet":
            found, new, widened = _parquet_differences(a, b, str(rel_a))
            problems += found
            added += new
            known["types widened"] += widened
        elif a.read_bytes() != b.read_bytes():  # the report's page and figures
            problems.append(f"{rel_a} differs")
    return problems, added, known


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare-tree", type=Path, required=True,
                        help="checkout of the lmcoinc to compare with")
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "lmcoinc-identity")
    parser.add_argument("--work", type=Path, default=None, help="where the outputs go")
    parser.add_argument("--only", nargs="*", help="only these cases")
    args = parser.parse_args(argv)
    cases = simulate_cases(args.cache)
    work = args.work or args.cache / "outputs"
    failed = 0
    report = {}
    for name, case in cases.items():
        if args.only and name not in args.only:
            continue
        codes = [run_case(case, tree, work / tree_name / name)
                 for tree_name, tree in (("this", REPO), ("other", args.compare_tree.resolve()))]
        problems, added, known = differences(work / "this" / name, work / "other" / name)
        if codes[0] != codes[1]:
            problems.insert(0, f"exit codes {codes[0]} (this) and {codes[1]} (other)")
        failed += bool(problems)
        report[name] = {"exit_code": codes[0], "differences": problems, "added": added,
                        "known changes": known}
        verdict = "identical" if not problems else f"{len(problems)} DIFFERENCES"
        notes = [f"columns added: {len(added)}"] if added else []
        notes += [f"{what}: {len(items)}" for what, items in known.items() if items]
        print(f"{name:<22} exit {codes[0]:>2}  {verdict}" + (
            f"  ({'; '.join(notes)})" if notes else ""), flush=True)
        for problem in problems[:10]:
            print(f"    {problem}")
    (work / "identity.json").write_text(json.dumps(report, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
