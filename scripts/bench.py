#!/usr/bin/env python
"""Benchmark of ``lmcoinc run`` on simulated subruns, against the reference.

Usage: python scripts/bench.py [--durations 10 40 160] [--cache DIR] [--json PATH]
                               [--reference-40s] [--night]

For each duration (default 10 s, 40 s and 160 s) it simulates an LST-1 subrun and the
overlapping MAGIC files at the simulator's default, realistic rates (cached in
``--cache``, default ~/.cache/lmcoinc-bench, by duration and seed), then runs
``lmcoinc run`` end to end ``--repeats`` times, each in its own process, and reports

* the median wall time and the peak RSS (the largest of the runs),
* the median time of each stage (from ``lmcoinc run --timings``); "imports" is the wall
  time minus the top-level stages: interpreter start and exit, imports, CLI, config and
  the little code outside the stages,
* the read floor: the time to merely read every row of the LST parameter table and of the
  MAGIC parameter tables with PyTables, in a fresh process (median of ``--repeats``),
* the work between reading and writing (prepare + timestamps + offsets + match + stereo)
  relative to that floor.

On the 10 s case (and the 40 s case with ``--reference-40s``: ~250 s, ~18 GB) it runs the
reference once: magic-cta-pipe 0.6.2's ``lst1_magic_event_coincidence`` from its venv
(``--reference-python``, else $LMCOINC_REFERENCE_PYTHON or .venv-ref),
or, without one, ``scripts/reference_scan.py``, a reimplementation of its algorithm
(Decimal timestamps, N_LST × N_MAGIC masks per offset) that skips its ctapipe/lstchain
imports and subarray I/O, so that the ratios are then lower bounds. It also measures the
start-up (``python -X importtime -m lmcoinc --help``, ``import lmcoinc.cli``) and checks
that neither ``lmcoinc --help`` nor ``lmcoinc run`` imports lstchain or ctapipe.

It prints a table and the target checks (PASS/FAIL) and writes everything to ``--json``.
The exit code is 0 whatever the checks say, 1 if a measured process failed.
Peak RSS comes from GNU ``/usr/bin/time -f %M`` when present, else from
``getrusage(RUSAGE_CHILDREN)`` in a small wrapper process (Linux, kB).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("read", "prepare", "timestamps", "offsets", "match", "stereo", "write")
WORK_STAGES = ("prepare", "timestamps", "offsets", "match", "stereo")
NESTED_STAGES = ("subarray", "images")  # parts of "write"
STAGE_LABELS = {
    "read": "read",
    "prepare": "prepare (filter, sort, units)",
    "timestamps": "timestamps (exact ns)",
    "offsets": "offsets (search, scan, pairs)",
    "match": "match (pair rows)",
    "stereo": "stereo",
    "write": "write",
    "subarray": "  of which subarray",
    "images": "  of which images",
    "imports": "imports etc. (wall − stages)",
}
LST_KEY = "/dl1/event/telescope/parameters/LST_LSTCam"
MAGIC_KEY = "/events/parameters"
REFERENCE_MODULE = "magicctapipe.scripts.lst1_magic.lst1_magic_event_coincidence"
HEAVY_MODULES = ("lstchain", "ctapipe", "astropy", "pandas", "tables", "polars", "pyarrow")
GB = 1e9
MB = 1e6

# --- code run in child processes --------------------------------------------------------
_SIMULATE = """
import json, sys
from lmcoinc.simulate import SimulationConfig, simulate
config = SimulationConfig(duration_s=float(sys.argv[2]), seed=int(sys.argv[3]))
files = simulate(sys.argv[1], config)
print(json.dumps({"lst_file": files.lst_file.name, "magic_dir": files.magic_dir.name,
                  "magic_files": [p.name for p in files.magic_files],
                  "true_offset_ns": files.true_offset_ns, "n_common": files.n_common}))
"""
_READ_FLOOR = """
import glob, json, sys, time
import tables
lst, magic_dir, lst_key, magic_key = sys.argv[1:5]
magic = sorted(glob.glob(magic_dir + "/dl1_*.h5"))
# The first access to a table makes PyTables unpickle its attributes, which imports
# ctapipe and astropy: done once untimed, so that the floor is the reading of the rows.
start = time.perf_counter()
for path, key in [(lst, lst_key)] + [(p, magic_key) for p in magic[:1]]:
    with tables.open_file(path) as f:
        if key in f:
            f.get_node(key)
first_touch = time.perf_counter() - start
start = time.perf_counter()
with tables.open_file(lst) as f:
    n_lst = len(f.get_node(lst_key).read())
lst_done = time.perf_counter()
n_magic = 0
for path in magic:
    with tables.open_file(path) as f:
        if magic_key in f:
            n_magic += len(f.get_node(magic_key).read())
end = time.perf_counter()
print(json.dumps({"lst_rows": n_lst, "magic_rows": n_magic, "lst_s": lst_done - start,
                  "magic_s": end - lst_done, "floor_s": end - start,
                  "first_touch_s": first_touch}))
"""
_MODULES = """
import contextlib, io, json, sys
from lmcoinc.cli import app
args, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
status = None
with contextlib.redirect_stdout(io.StringIO()):
    try:
        status = app(args, prog_name="lmcoinc", standalone_mode=False)
    except SystemExit as err:
        status = err.code
    except Exception as err:
        status = f"{type(err).__name__}: {err}"
print(json.dumps({"status": status, "loaded": [m for m in watched if m in sys.modules]}))
"""
_RUSAGE_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[2:]).returncode
wall = time.perf_counter() - start
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as f:
    json.dump({"kb": kb, "wall": wall}, f)
sys.exit(code if code >= 0 else 128 - code)
"""


# --- measuring a child process -----------------------------------------------------------
@dataclass
class Proc:
    """One measured child process."""

    cmd: list[str]
    wall_s: float
    rss_bytes: int
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)

    def check(self, what: str) -> Proc:
        if self.returncode != 0:
            tail = "\n".join(self.stderr.strip().splitlines()[-15:])
            raise MeasureError(f"{what} failed (exit {self.returncode}): "
                               f"{shlex.join(self.cmd)}\n{tail}")
        return self


class MeasureError(RuntimeError):
    """A measured process failed."""


def measure(cmd: list[str], method: str, env: dict[str, str] | None = None) -> Proc:
    """Run ``cmd``; its wall time (s) and peak RSS (bytes)."""
    with tempfile.TemporaryDirectory(prefix="lmcoinc-bench-") as tmp:
        report = Path(tmp) / "rss"
        if method == "time":
            full = ["/usr/bin/time", "-f", "%M", "-o", str(report), *cmd]
        else:
            full = [sys.executable, "-c", _RUSAGE_WRAPPER, str(report), *cmd]
        start = time.perf_counter()
        proc = subprocess.run(full, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        text = report.read_text() if report.exists() else ""
    if method == "time":  # "Command exited with non-zero status N" may come first
        lines = text.split()
        kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    else:
        data = json.loads(text) if text else {"kb": 0, "wall": wall}
        kb, wall = data["kb"], data["wall"]
    return Proc(cmd, wall, kb * 1024, proc.returncode, proc.stdout, proc.stderr)


def rss_method(choice: str) -> str:
    if choice != "auto":
        return choice
    if Path("/usr/bin/time").exists():
        probe = subprocess.run(["/usr/bin/time", "-f", "%M", "true"], capture_output=True,
                               text=True)
        if probe.returncode == 0 and probe.stderr.strip().isdigit():
            return "time"
    return "rusage"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- simulated inputs ------------------------------------------------------------------
@dataclass
class Case:
    """The simulated inputs of one duration."""

    duration_s: float
    seed: int
    directory: Path
    lst_file: Path
    magic_dir: Path
    meta: dict


def simulator_digest() -> str:
    digest = hashlib.sha256()
    for source in sorted((REPO / "lmcoinc" / "simulate").glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def simulate_case(cache: Path, duration: float, seed: int, python: str, method: str,
                  resimulate: bool) -> Case:
    """The cached inputs of (duration, seed), simulated in a separate process if missing."""
    directory = cache / f"sim-{duration:g}s-seed{seed}"
    marker = directory / "case.json"
    if resimulate and directory.exists():
        shutil.rmtree(directory)
    if marker.exists():
        meta = json.loads(marker.read_text())
        meta["cached"] = True
        if meta.get("simulator") != simulator_digest():
            print(f"note: {directory} was simulated by another version of lmcoinc/simulate/"
                  " (use --resimulate to refresh)")
    else:
        print(f"simulating {duration:g} s (seed {seed}) into {directory} ...", flush=True)
        partial = cache / f".partial-{duration:g}s-seed{seed}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        proc = measure([python, "-c", _SIMULATE, str(partial), str(duration), str(seed)],
                       method).check(f"simulation of {duration:g} s")
        meta = json.loads(proc.stdout.strip().splitlines()[-1])
        meta.update(duration_s=duration, seed=seed, simulator=simulator_digest(),
                    simulate_wall_s=proc.wall_s, simulate_rss_bytes=proc.rss_bytes)
        (partial / "case.json").write_text(json.dumps(meta, indent=1))
        shutil.rmtree(directory, ignore_errors=True)
        partial.rename(directory)
        meta["cached"] = False
        print(f"  {proc.wall_s:.1f} s, peak RSS {proc.rss_bytes / MB:.0f} MB", flush=True)
    lst_file = directory / meta["lst_file"]
    magic_dir = directory / meta["magic_dir"]
    meta["input_bytes"] = lst_file.stat().st_size + sum(
        p.stat().st_size for p in magic_dir.glob("dl1_*.h5"))
    return Case(duration, seed, directory, lst_file, magic_dir, meta)


# --- the measurements ------------------------------------------------------------------
def lmcoinc_command(python: str) -> list[str]:
    script = Path(python).parent / "lmcoinc"
    return [str(script)] if script.exists() else [python, "-m", "lmcoinc"]


def read_floor(case: Case, python: str, repeats: int, method: str) -> dict:
    runs = []
    for _ in range(repeats):
        proc = measure([python, "-c", _READ_FLOOR, str(case.lst_file), str(case.magic_dir),
                        LST_KEY, MAGIC_KEY], method).check("read floor")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]) | {"wall_s": proc.wall_s})
    return {
        "floor_s": median([r["floor_s"] for r in runs]),
        "lst_s": median([r["lst_s"] for r in runs]),
        "magic_s": median([r["magic_s"] for r in runs]),
        "process_wall_s": median([r["wall_s"] for r in runs]),
        "first_touch_s": median([r["first_touch_s"] for r in runs]),
        "lst_rows": runs[0]["lst_rows"],
        "magic_rows": runs[0]["magic_rows"],
        "runs": [r["floor_s"] for r in runs],
    }


def run_lmcoinc(case: Case, python: str, config: Path, repeats: int, method: str,
                work: Path) -> dict:
    runs, last_output = [], None
    for i in range(repeats):
        out = work / f"lmcoinc-{case.duration_s:g}s-{i}"
        shutil.rmtree(out, ignore_errors=True)
        timings_file = work / f"timings-{case.duration_s:g}s-{i}.json"
        cmd = [*lmcoinc_command(python), "run", "-l", str(case.lst_file), "-m",
               str(case.magic_dir), "-o", str(out), "-c", str(config), "--timings",
               str(timings_file)]
        proc = measure(cmd, method).check(f"lmcoinc run on {case.duration_s:g} s")
        stages = json.loads(timings_file.read_text())
        stages["imports"] = proc.wall_s - sum(stages.get(s, 0.0) for s in STAGES)
        runs.append({"wall_s": proc.wall_s, "rss_bytes": proc.rss_bytes, "stages": stages,
                     "load1": os.getloadavg()[0]})
        if last_output is not None:
            shutil.rmtree(last_output.parent, ignore_errors=True)
        last_output = next(out.glob("*.h5"))
        print(f"  lmcoinc {case.duration_s:g} s run {i + 1}/{repeats}: {proc.wall_s:.2f} s, "
              f"{proc.rss_bytes / MB:.0f} MB", flush=True)
    names = [*STAGES, *NESTED_STAGES, "imports"]
    present = [n for n in names if any(n in r["stages"] for r in runs)]
    return {
        "command": shlex.join(cmd),
        "wall_s": median([r["wall_s"] for r in runs]),
        "wall_min_s": min(r["wall_s"] for r in runs),
        "wall_max_s": max(r["wall_s"] for r in runs),
        "rss_bytes": max(r["rss_bytes"] for r in runs),
        "stages": {n: median([r["stages"].get(n, 0.0) for r in runs]) for n in present},
        "runs": runs,
        "output": str(last_output),
    }


def find_reference_python(explicit: str | None) -> str | None:
    candidates = [explicit] if explicit else [
        os.environ.get("LMCOINC_REFERENCE_PYTHON"),
        str(REPO / ".venv-ref" / "bin" / "python"),
    ]
    for python in filter(None, candidates):
        if Path(python).exists():
            probe = subprocess.run([python, "-c", "import magicctapipe"], capture_output=True)
            if probe.returncode == 0:
                return python
    return None


def run_reference(case: Case, ref_python: str | None, python: str, config: Path,
                  method: str, work: Path) -> dict:
    out = work / f"reference-{case.duration_s:g}s"
    shutil.rmtree(out, ignore_errors=True)
    args = ["-l", str(case.lst_file), "-m", str(case.magic_dir), "-o", str(out), "-c",
            str(config)]
    if ref_python:
        kind = "magic-cta-pipe 0.6.2"
        cmd = [ref_python, "-m", REFERENCE_MODULE, *args]
    else:
        kind = "reimplementation (scripts/reference_scan.py, lower bound)"
        cmd = [python, str(REPO / "scripts" / "reference_scan.py"), *args]
    print(f"  reference on {case.duration_s:g} s: {kind} ...", flush=True)
    proc = measure(cmd, method).check(f"reference on {case.duration_s:g} s")
    print(f"  reference {case.duration_s:g} s: {proc.wall_s:.1f} s, "
          f"{proc.rss_bytes / MB:.0f} MB", flush=True)
    outputs = sorted(out.glob("*.h5"))
    return {"kind": kind, "command": shlex.join(cmd), "wall_s": proc.wall_s,
            "rss_bytes": proc.rss_bytes, "load1": os.getloadavg()[0],
            "output": str(outputs[0]) if outputs else None}


def reference_startup(ref_python: str | None, method: str) -> float | None:
    if not ref_python:
        return None
    walls = [measure([ref_python, "-c", f"import {REFERENCE_MODULE}"], method)
             .check("reference import").wall_s for _ in range(2)]
    return min(walls)


def output_summary(path: str | None) -> dict | None:
    """Per coincidence_id (n_coincidence, average_offset) and the number of event rows."""
    if not path:
        return None
    import tables

    with tables.open_file(path) as f:
        feature = f.get_node("/coincidence/feature").read()
        n_rows = f.get_node("/events/parameters").nrows
    per_tel = {int(r["coincidence_id"]): [int(r["n_coincidence"]), round(
        float(r["average_offset"]), 3)] for r in feature}
    return {"telescopes": per_tel, "event_rows": int(n_rows)}


def import_profile(cmd: list[str], method: str) -> dict:
    """Total import time (sum of -X importtime's self times) and the largest top-level ones."""
    proc = measure(cmd, method).check(shlex.join(cmd))
    entries = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            entries.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
    top = sorted((e for e in entries if not e[2].startswith("  ")), key=lambda e: -e[1])
    return {"command": shlex.join(cmd), "total_s": sum(e[0] for e in entries) * 1e-6,
            "wall_s": proc.wall_s, "top": [[name.strip(), cum * 1e-6] for _, cum, name in top[:8]]}


def startup(case: Case, python: str, config: Path, method: str, repeats: int,
            work: Path) -> dict:
    """Interpreter start, CLI import, --help, import profile and the heavy modules loaded."""
    lmcoinc = lmcoinc_command(python)

    def walls(cmd: list[str]) -> float:
        return median([measure(cmd, method).check(shlex.join(cmd)).wall_s
                       for _ in range(repeats)])

    result = {
        "python_start_s": walls([python, "-c", "pass"]),
        "import_cli_s": walls([python, "-c", "import lmcoinc.cli"]),
        "help_s": walls([*lmcoinc, "--help"]),
    }
    out = work / "modules-run"
    run_args = ["run", "-l", str(case.lst_file), "-m", str(case.magic_dir), "-o", str(out),
                "-c", str(config)]
    result["importtime_help"] = import_profile([python, "-X", "importtime", "-m", "lmcoinc",
                                                "--help"], method)
    result["importtime_run"] = import_profile([python, "-X", "importtime", "-m", "lmcoinc",
                                               *run_args], method)
    shutil.rmtree(out, ignore_errors=True)
    for name, args in (("help", ["--help"]), ("run", run_args)):
        proc = subprocess.run([python, "-c", _MODULES, json.dumps(args),
                               json.dumps(HEAVY_MODULES)], capture_output=True, text=True)
        if proc.returncode != 0 or not proc.stdout.strip():
            raise MeasureError(f"module check of `lmcoinc {name}` failed:\n{proc.stderr[-2000:]}")
        result[f"modules_{name}"] = json.loads(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    return result


# --- reporting -------------------------------------------------------------------------
def fmt(value: float | None, spec: str = ".3f") -> str:
    return "—" if value is None or value != value else format(value, spec)


def print_table(cases: dict[str, dict], refs: dict[str, dict]) -> None:
    keys = list(cases)
    header = f"{'':34}" + "".join(f"{k:>12}" for k in keys)
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, getter, spec: str = ".3f") -> None:
        values = []
        for k in keys:
            try:
                values.append(fmt(getter(cases[k]), spec))
            except (KeyError, TypeError):
                values.append("—")
        rows.append((label, values))

    row("LST rows (file)", lambda c: c["floor"]["lst_rows"], ",d")
    row("MAGIC rows (all files)", lambda c: c["floor"]["magic_rows"], ",d")
    row("input size (MB)", lambda c: c["input_bytes"] / MB, ".1f")
    row("load average (1 min)", lambda c: median([r["load1"] for r in c["lmcoinc"]["runs"]]),
        ".2f")
    row("wall, median (s)", lambda c: c["lmcoinc"]["wall_s"])
    row("  min", lambda c: c["lmcoinc"]["wall_min_s"])
    row("  max", lambda c: c["lmcoinc"]["wall_max_s"])
    row("peak RSS (MB)", lambda c: c["lmcoinc"]["rss_bytes"] / MB, ".0f")
    stage_names = [*STAGES, *NESTED_STAGES, "imports"]
    present = [n for n in stage_names if any(n in c["lmcoinc"]["stages"] for c in cases.values())]
    for name in present:
        label = STAGE_LABELS[name]
        if name in NESTED_STAGES:
            row(label, lambda c, n=name: c["lmcoinc"]["stages"].get(n, 0.0))
        else:
            row(f"{label} (s)", lambda c, n=name: c["lmcoinc"]["stages"].get(n, 0.0))
    row("read floor, PyTables (s)", lambda c: c["floor"]["floor_s"])
    row("  excluded: 1st table access (s)", lambda c: c["floor"]["first_touch_s"])
    row("  read / floor", lambda c: c["lmcoinc"]["stages"]["read"] / c["floor"]["floor_s"], ".2f")
    row("work, prepare…stereo (s)", lambda c: c["work_s"])
    row("  work / floor", lambda c: c["work_s"] / c["floor"]["floor_s"], ".2f")
    row("simulation (s, when made)", lambda c: c["simulate_wall_s"], ".1f")
    row("simulation peak RSS (MB)", lambda c: c["simulate_rss_bytes"] / MB, ".0f")
    print("\nlmcoinc run, end to end (wall and stages: median of the runs; RSS: max)")
    print(header)
    for label, values in rows:
        print(f"{label:34}" + "".join(f"{v:>12}" for v in values))
    if refs:
        print("\nreference")
        for key, ref in refs.items():
            lmc = cases[key]["lmcoinc"]
            line = f"  {key}: {ref['kind']}"
            if "wall_s" in ref:
                line += (f": wall {ref['wall_s']:.2f} s ({ref['wall_s'] / lmc['wall_s']:.1f}× "
                         f"lmcoinc), peak RSS {ref['rss_bytes'] / MB:.0f} MB "
                         f"({ref['rss_bytes'] / lmc['rss_bytes']:.1f}× lmcoinc), "
                         f"load {ref['load1']:.2f}")
            else:
                line += f": wall {ref['estimated_wall_s']:.0f} s (estimated: {ref['how']})"
            print(line)
            if ref.get("same_result") is not None:
                print(f"    same coincidences as lmcoinc (per telescope n, offset; event rows): "
                      f"{'yes' if ref['same_result'] else 'NO'}")


def dominant(case: dict, names: tuple[str, ...] = (*STAGES, "imports")) -> str:
    stages = case["lmcoinc"]["stages"]
    biggest = sorted(((stages.get(n, 0.0), n) for n in names), reverse=True)[:3]
    return ", ".join(f"{n} {t:.2f} s" for t, n in biggest)


def target_checks(cases: dict[str, dict], refs: dict[str, dict], start: dict) -> list[dict]:
    checks: list[dict] = []

    def check(name: str, ok: bool | None, measured: str, hint: str = "") -> None:
        checks.append({"target": name, "status": "n/a" if ok is None else
                       ("PASS" if ok else "FAIL"), "measured": measured,
                       "dominant": "" if ok or ok is None else hint})

    def lmc(key: str) -> dict | None:
        return cases.get(key, {}).get("lmcoinc")

    for key, factor_t, factor_m in (("10 s", 20, 5), ("40 s", 100, None)):
        ref, mine = refs.get(key), lmc(key)
        if not ref or not mine:
            check(f"{key}: wall ≤ 1/{factor_t} of the reference's", None, "not measured")
            continue
        ref_wall = ref.get("wall_s", ref.get("estimated_wall_s"))
        est = "" if "wall_s" in ref else " (reference estimated)"
        ratio = ref_wall / mine["wall_s"]
        check(f"{key}: wall ≤ 1/{factor_t} of the reference's", ratio >= factor_t,
              f"{ratio:.1f}× faster ({mine['wall_s']:.2f} s vs {ref_wall:.1f} s){est}",
              dominant(cases[key]))
        if factor_m and "rss_bytes" in ref:
            ratio = ref["rss_bytes"] / mine["rss_bytes"]
            check(f"{key}: peak RSS ≤ 1/{factor_m} of the reference's", ratio >= factor_m,
                  f"{ratio:.1f}× smaller ({mine['rss_bytes'] / MB:.0f} MB vs "
                  f"{ref['rss_bytes'] / MB:.0f} MB)")
    mine = lmc("40 s")
    check("40 s: peak RSS < 1 GB", None if not mine else mine["rss_bytes"] < GB,
          f"{mine['rss_bytes'] / MB:.0f} MB" if mine else "not measured")
    small, big = lmc("40 s"), lmc("160 s")
    for what, unit in (("wall_s", "wall"), ("rss_bytes", "peak RSS")):
        if small and big:
            ratio = big[what] / small[what]
            check(f"160 s: {unit} ≤ 4.5× the 40 s figure", ratio <= 4.5, f"{ratio:.2f}×",
                  dominant(cases["160 s"]))
        else:
            check(f"160 s: {unit} ≤ 4.5× the 40 s figure", None, "not measured")
    for key, case in cases.items():
        ratio = case["work_s"] / case["floor"]["floor_s"]
        check(f"{key}: work between reading and writing ≤ 2× the read floor", ratio <= 2,
              f"{ratio:.2f}× ({case['work_s']:.3f} s vs {case['floor']['floor_s']:.3f} s)",
              dominant(case, WORK_STAGES))
    for name in ("help", "run"):
        loaded = start[f"modules_{name}"]["loaded"]
        bad = [m for m in ("lstchain", "ctapipe") if m in loaded]
        status = start[f"modules_{name}"]["status"]
        check(f"`lmcoinc {'--help' if name == 'help' else 'run'}` imports neither lstchain "
              "nor ctapipe", not bad, f"exit {0 if status is None else status}; "
              "heavy modules loaded: "
              f"{', '.join(loaded) or 'none'}")
    return checks


def print_startup(start: dict, case_key: str) -> None:
    print("\nstart-up (median wall of separate processes)")
    print(f"  python -c pass                         {start['python_start_s']:.3f} s")
    print(f"  python -c 'import lmcoinc.cli'         {start['import_cli_s']:.3f} s")
    print(f"  lmcoinc --help                         {start['help_s']:.3f} s")
    for name, what in (("help", "lmcoinc --help"), ("run", f"lmcoinc run ({case_key})")):
        prof = start[f"importtime_{name}"]
        print(f"  imports of {what}, -X importtime: {prof['total_s']:.3f} s (process "
              f"{prof['wall_s']:.3f} s); largest top-level:")
        print("    " + ", ".join(f"{n} {t:.3f} s" for n, t in prof["top"]))


def print_checks(checks: list[dict]) -> None:
    print("\ntargets")
    for c in checks:
        print(f"  [{c['status']:4}] {c['target']}: {c['measured']}")
        if c["dominant"]:
            print(f"         largest stages: {c['dominant']}")


def machine() -> dict:
    mem = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, value = line.split(":", 1)
        mem[key] = int(value.split()[0]) * 1024
    return {"host": platform.node(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "mem_total_bytes": mem.get("MemTotal"),
            "mem_available_bytes": mem.get("MemAvailable"), "loadavg_start": os.getloadavg()}


# --- main --------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--durations", type=float, nargs="+", default=[10.0, 40.0, 160.0],
                   help="subrun lengths (s) to simulate and run (default: 10 40 160)")
    p.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lmcoinc-bench",
                   help="directory of the simulated inputs (default ~/.cache/lmcoinc-bench)")
    p.add_argument("--resimulate", action="store_true", help="simulate again, ignore the cache")
    p.add_argument("--repeats", type=int, default=3, help="lmcoinc runs per case (default 3)")
    p.add_argument("--config", type=Path, default=REPO / "configs" / "config.yaml")
    p.add_argument("--python", default=sys.executable,
                   help="python of the venv with lmcoinc (default: this one)")
    p.add_argument("--reference-python", help="python of a venv with magic-cta-pipe 0.6.2")
    p.add_argument("--no-reference", action="store_true", help="do not time the reference")
    p.add_argument("--reimplementation", action="store_true",
                   help="time scripts/reference_scan.py even if the reference venv exists")
    p.add_argument("--reference-40s", action="store_true",
                   help="also time the reference on 40 s (~250 s, ~18 GB)")
    p.add_argument("--rss", choices=("auto", "time", "rusage"), default="auto",
                   help="peak RSS from /usr/bin/time or getrusage (default auto)")
    p.add_argument("--json", type=Path, help="write the results to this JSON file")
    p.add_argument("--night", action="store_true",
                   help="afterwards run scripts/bench_night.py if it exists")
    p.add_argument("--night-args", default="", help="arguments for bench_night.py (one string)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    method = rss_method(args.rss)
    info = machine()
    print(f"lmcoinc benchmark: {info['cpus']} CPUs, "
          f"{info['mem_total_bytes'] / GB:.1f} GB RAM ({info['mem_available_bytes'] / GB:.1f} GB"
          f" available), load average {' '.join(f'{x:.2f}' for x in info['loadavg_start'])} "
          f"(1/5/15 min); peak RSS via {'/usr/bin/time' if method == 'time' else 'getrusage'}")
    args.cache.mkdir(parents=True, exist_ok=True)
    ref_python = None
    if not args.no_reference and not args.reimplementation:
        ref_python = find_reference_python(args.reference_python)
        if ref_python is None:
            print("no venv with magic-cta-pipe 0.6.2 found: timing the reimplementation "
                  "scripts/reference_scan.py instead (ratios are lower bounds)")
    results: dict = {"machine": info, "rss_method": method, "cases": {}, "reference": {},
                     "config": str(args.config), "python": args.python,
                     "reference_python": ref_python}
    failed = False
    work = Path(tempfile.mkdtemp(prefix="runs-", dir=args.cache))
    try:
        cases = [simulate_case(args.cache, d, args.seed, args.python, method, args.resimulate)
                 for d in args.durations]
        print("start-up and imports ...", flush=True)
        results["startup"] = startup(cases[0], args.python, args.config, method,
                                     args.repeats, work)
        for case in cases:
            key = f"{case.duration_s:g} s"
            print(f"case {key}: read floor ...", flush=True)
            entry = {"input_bytes": case.meta["input_bytes"], "cached": case.meta["cached"],
                     "simulate_wall_s": case.meta.get("simulate_wall_s"),
                     "simulate_rss_bytes": case.meta.get("simulate_rss_bytes"),
                     "n_common": case.meta.get("n_common"),
                     "floor": read_floor(case, args.python, args.repeats, method)}
            entry["lmcoinc"] = run_lmcoinc(case, args.python, args.config, args.repeats,
                                           method, work)
            lmcoinc_output = entry["lmcoinc"].pop("output")
            entry["work_s"] = sum(entry["lmcoinc"]["stages"].get(s, 0.0) for s in WORK_STAGES)
            results["cases"][key] = entry
            if not args.no_reference and (case.duration_s == 10 or (
                    case.duration_s == 40 and args.reference_40s)):
                ref = run_reference(case, ref_python, args.python, args.config, method, work)
                mine, theirs = (output_summary(lmcoinc_output),
                                output_summary(ref.pop("output")))
                ref["same_result"] = None if theirs is None else mine == theirs
                results["reference"][key] = ref
        ref10, case10 = results["reference"].get("10 s"), results["cases"].get("10 s")
        case40 = results["cases"].get("40 s")
        if ref10 and case40 and "40 s" not in results["reference"]:
            # N_LST × N_MAGIC masks per offset: the reference's time beyond its start-up
            # grows like the product of the numbers of rows.
            boot = reference_startup(ref_python, method) or 0.0
            scale = (case40["floor"]["lst_rows"] * case40["floor"]["magic_rows"]) / (
                case10["floor"]["lst_rows"] * case10["floor"]["magic_rows"])
            results["reference"]["40 s"] = {
                "kind": ref10["kind"], "startup_s": boot,
                "estimated_wall_s": boot + (ref10["wall_s"] - boot) * scale,
                "how": f"start-up {boot:.1f} s + (10 s wall − start-up) × {scale:.1f}, the "
                       "ratio of N_LST × N_MAGIC; measure with --reference-40s",
            }
    except MeasureError as err:
        print(f"\nERROR: {err}", file=sys.stderr)
        failed = True
    finally:
        shutil.rmtree(work, ignore_errors=True)

    info["loadavg_end"] = os.getloadavg()
    if results["cases"]:
        print_table(results["cases"], results["reference"])
    if "startup" in results:
        print_startup(results["startup"], next(iter(results["cases"]), "first case"))
        results["checks"] = target_checks(results["cases"], results["reference"],
                                          results["startup"])
        print_checks(results["checks"])
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in info['loadavg_end'])}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
        print(f"results written to {args.json}")
    if args.night:
        night = REPO / "scripts" / "bench_night.py"
        if night.exists():
            print(f"\nnight benchmark: {night}", flush=True)
            env = os.environ | {"LMCOINC_BENCH_CACHE": str(args.cache)}
            code = subprocess.run([args.python, str(night), *shlex.split(args.night_args)],
                                  env=env).returncode
            failed |= code != 0
        else:
            print(f"\n--night: {night} does not exist yet; skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
