"""Run lmcoinc under each hostile condition for real and print what it does.

Usage: python scripts/faults.py [--no-mount]

Simulates a short LST-1 subrun with its MAGIC files and a night of three
subruns, then runs ``lmcoinc`` as a user would (separate processes) with: a
pickled payload in every node of the inputs, a file-size limit, a full disk
(a small tmpfs; needs the right to mount, skipped with --no-mount or when
mounting fails), a second batch on the same output directory, a stale lock,
a worker killed with SIGKILL, SIGTERM and Ctrl-C to a batch, SIGTERM to a run
while it writes, a config typo and damaged inputs. Prints a Markdown table:
fault, command, exit code, the ``lmcoinc`` message, what is left on disk.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lmcoinc.batch.workers import KILL_ENV  # noqa: E402
from lmcoinc.config import default_config_text  # noqa: E402
from lmcoinc.simulate import simulate_night  # noqa: E402
from tests.helpers.badinputs import copy_good, flip_chunk_bytes, make_good, truncate  # noqa: E402
from tests.helpers.compare import snapshot  # noqa: E402
from tests.helpers.payloads import poisoned_copy  # noqa: E402

ROWS: list[tuple[str, ...]] = []


def lmcoinc(*args, fsize: int | None = None, env: dict | None = None,
            popen: bool = False):
    """``python -m lmcoinc ARGS`` (files limited to ``fsize`` bytes if given)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    argv = [sys.executable, "-m", "lmcoinc", *map(str, args)]
    kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True,
              "env": {**os.environ, **(env or {})}, "start_new_session": True,
              "preexec_fn": limit if fsize is not None else None}
    if popen:
        return subprocess.Popen(argv, **kwargs)
    proc = subprocess.Popen(argv, **kwargs)
    proc.stdout_text, proc.stderr_text = proc.communicate(timeout=600)
    return proc


def message(stderr: str, root: Path) -> str:
    """The ``lmcoinc: error:`` line (or the first warning), paths shortened."""
    lines = stderr.splitlines()
    found = [ln for ln in lines if ln.startswith("lmcoinc: error:")] or \
        [ln for ln in lines if "unknown key" in ln or "taking over" in ln] or [""]
    return found[0].replace(f"{root}/", "").replace("|", "/")[:200]


def left(directory: Path, before: dict | None = None) -> str:
    """What is in an output directory: files, temporary files, unchanged earlier outputs."""
    if not directory.exists():
        return "nothing (no directory)"
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    temps = [p for p in files if p.name.endswith((".tmp", ".bak"))]
    if before is not None:
        same = snapshot(directory) == before
        return f"earlier output {'untouched' if same else 'CHANGED'}; {len(temps)} temporary"
    if not files:
        return "nothing"
    names = [str(p.relative_to(directory)) for p in files]
    outputs = [n for n in names if n.endswith((".h5", ".parquet")) and "/" not in n]
    others = [n for n in names if n not in outputs]
    text = f"{len(outputs)} output files" if outputs else ""
    if others:
        text += (", " if text else "") + ", ".join(others[:3]) + (" …" if len(others) > 3 else "")
    return text + f"; {len(temps)} temporary"


def row(fault: str, command: str, proc, note: str, root: Path) -> None:
    ROWS.append((fault, command, str(proc.returncode), message(proc.stderr_text, root), note))
    print(f"  {fault}: exit {proc.returncode}", file=sys.stderr)


def session_left(sid: int) -> int:
    """Live processes of a session."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            count += int(fields[3]) == sid and fields[0] not in "ZX"
    return count


def summary_note(out: Path) -> str:
    import polars as pl

    summary = pl.read_parquet(out / "summary.parquet")
    statuses = ", ".join(f"{s}" for s in summary["status"])
    errors = {e for e in summary["error"] if e}
    codes = sorted({c for c in summary["exit_code"] if c})
    return (f"summary: {statuses}; exit_code {codes}; "
            + (f"error: {next(iter(errors))[:90]}" if errors else ""))


# --- the faults --------------------------------------------------------------------


def payloads(good: Path, work: Path) -> None:
    work.mkdir(parents=True)
    marker = work / "MARKER"
    poisoned = work / "poisoned"
    places = poisoned_copy(good, poisoned, marker)
    for kind, source in (("clean", good), ("poisoned", poisoned)):
        lst = next((source / "lst").glob("*.h5"))
        (work / kind / "convert").mkdir(parents=True)
        for command, args in (
            ("run", ["run", "-l", lst, "-m", source / "magic", "-o", work / kind / "run"]),
            ("convert", ["convert", lst, work / kind / "convert" / "lst.parquet"]),
            ("batch -j 2", ["batch", "-l", source / "lst", "-m", source / "magic",
                            "-o", work / kind / "batch", "--no-progress", "-j", "2"]),
        ):
            proc = lmcoinc(*args)
            assert proc.returncode == 0, proc.stderr_text
            if kind == "poisoned":
                same = contents(work / "clean" / _out(command)) == contents(
                    work / kind / _out(command))
                row(f"pickled payload in {len(places)} places of the inputs (every node, "
                    "column attributes, subarray tables)", command, proc,
                    f"payload run: {'YES' if marker.exists() else 'no'}; outputs "
                    f"{'equal to' if same else 'DIFFER from'} those of the clean inputs", work)


def _out(command: str) -> str:
    return command.split()[0]


def contents(directory: Path) -> dict:
    """Every output file of a directory by its content (HDF5 read with h5py)."""
    import polars as pl

    from tests.helpers.compare import hdf5_contents

    out = {}
    for path in sorted(directory.rglob("*")):
        name = str(path.relative_to(directory))
        if path.suffix == ".h5":
            out[name] = hdf5_contents(path)
        elif path.suffix == ".parquet" and path.name != "summary.parquet":
            out[name] = pl.read_parquet(path).serialize()
    return out


def file_size_limit(good: Path, work: Path) -> None:
    work.mkdir(parents=True)
    run = copy_good(good, work / "a")
    proc = lmcoinc(*run.argv(), fsize=20_000)
    row("file-size limit 20 kB (RLIMIT_FSIZE)", "run", proc, left(run.out), work)
    run = copy_good(good, work / "b")
    assert lmcoinc(*run.argv()).returncode == 0
    before = snapshot(run.out)
    size = next(run.out.glob("*.h5")).stat().st_size
    proc = lmcoinc(*run.argv(), fsize=size - 100)
    row("file-size limit 100 B below the HDF5 output, earlier output present", "run", proc,
        left(run.out, before), work)
    target = work / "c.parquet"
    proc = lmcoinc("convert", run.lst, target, fsize=20_000)
    row("file-size limit 20 kB", "convert", proc, left(work / "c.parquet"), work)


def full_disk(good: Path, night, work: Path) -> None:
    work.mkdir(parents=True)
    for size, what in (("64k", "run"), ("1200k", "batch -j 2")):
        fs = work / f"fs-{size}"
        fs.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                                  f"lmcoinc-{uuid.uuid4().hex[:6]}", str(fs)],
                                 capture_output=True)
        if mounted.returncode != 0:
            ROWS.append((f"full disk (tmpfs {size})", what, "-", "cannot mount here", "-"))
            return
        try:
            if what == "run":
                run = copy_good(good, work / "d")
                run.out = fs / "out"
                proc = lmcoinc(*run.argv())
                note = left(run.out)
            else:
                proc = lmcoinc("batch", "-l", night.lst_dir, "-m", night.magic_dir, "-o", fs,
                               "--no-progress", "-j", "2")
                note = left(fs) + "; " + summary_note(fs).replace(f"{work}/", "")
            row(f"full disk (tmpfs {size})", what, proc, note, work)
        finally:
            subprocess.run(["umount", str(fs)], check=True)


def lock(night, work: Path) -> None:
    work.mkdir(parents=True)
    out = work / "locked"
    args = ["batch", "-l", night.lst_dir, "-m", night.magic_dir, "-o", out, "--no-progress"]
    first = lmcoinc(*args, popen=True)
    lock_file = out / ".lmcoinc" / "lock"
    while first.poll() is None and not (lock_file.exists() and lock_file.read_text()):
        time.sleep(0.01)
    os.kill(first.pid, signal.SIGSTOP)
    try:
        proc = lmcoinc(*args)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first.communicate()
    row("second batch on the same output directory", "batch", proc,
        f"first batch: exit {first.returncode}, untouched", work)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from lmcoinc.batch."
         "lock import output_lock\nwith output_lock(Path(sys.argv[1])):\n print(flush=True)\n "
         "time.sleep(600)", str(work / "stale")], stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    holder.kill()
    holder.wait()
    proc = lmcoinc("batch", "-l", night.lst_dir, "-m", night.magic_dir, "-o", work / "stale",
                   "--no-progress")
    row("stale lock of a batch killed with SIGKILL", "batch", proc,
        left(work / "stale"), work)


def killed_worker(night, work: Path) -> None:
    out = work / "killed"
    args = ["batch", "-l", night.lst_dir, "-m", night.magic_dir, "-o", out, "--no-progress",
            "-j", "2"]
    proc = lmcoinc(*args, env={KILL_ENV: night.lst_files[1].name})
    note = summary_note(out) + f"; processes left {session_left(proc.pid)}"
    row("worker killed with SIGKILL during subrun 1", "batch -j 2", proc, note, work)
    proc = lmcoinc(*args)
    row("… started again", "batch -j 2", proc, summary_note(out), work)


def interrupts(night, work: Path) -> None:
    for name, group in (("SIGTERM", False), ("Ctrl-C (SIGINT to the process group)", True)):
        out = work / f"int-{group}"
        proc = lmcoinc("batch", "-l", night.lst_dir, "-m", night.magic_dir, "-o", out,
                       "--no-progress", "-j", "2", popen=True)
        records = out / ".lmcoinc" / "records"
        while proc.poll() is None and not any(records.glob("*.json")):
            time.sleep(0.005)
        workers = session_left(proc.pid) - 1
        (os.killpg if group else os.kill)(proc.pid, signal.SIGINT if group else signal.SIGTERM)
        proc.stdout_text, proc.stderr_text = proc.communicate(timeout=120)
        time.sleep(0.5)
        done = len(list(records.glob("*.json")))
        note = (f"{workers} child processes before, {session_left(proc.pid)} after; "
                f"{done} finished subrun(s) kept; " + left(out))
        row(f"{name} to the batch after its first subrun", "batch -j 2", proc, note, work)


def run_interrupted(good: Path, work: Path) -> None:
    run = copy_good(good, work / "run")
    proc = lmcoinc(*run.argv(), popen=True)
    while proc.poll() is None and not run.out.is_dir():  # checked before the inputs are read
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGTERM)
    proc.stdout_text, proc.stderr_text = proc.communicate(timeout=120)
    row("SIGTERM to a run while it reads its inputs", "run", proc, left(run.out), work)


def config_typo(good: Path, work: Path) -> None:
    work.mkdir(parents=True)
    run = copy_good(good, work / "typo")
    text = default_config_text().replace("pre_offset_search:", "pre_offset_serch:")
    run.config = work / "typo.yaml"
    run.config.write_text(text)
    proc = lmcoinc(*run.argv())
    row("config typo pre_offset_serch", "run", proc, left(run.out), work)


def damaged(good: Path, work: Path) -> None:
    run = copy_good(good, work / "cs")
    flip_chunk_bytes(run.lst, "/dl1/event/telescope/parameters/LST_LSTCam", chunk=1)
    row("LST-1 file with a flipped byte in a table chunk", "run", lmcoinc(*run.argv()),
        left(run.out), work)
    run = copy_good(good, work / "tr")
    truncate(sorted(run.magic.glob("*.h5"))[1], 0.6)
    row("MAGIC file truncated", "run", lmcoinc(*run.argv()), left(run.out), work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-mount", action="store_true", help="skip the full-disk cases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        good = make_good(work / "good", duration_s=1.0, seed=0)
        night = simulate_night(work / "night", n_subruns=3, subrun_s=2.0, seed=5)
        for fault in (payloads, file_size_limit):
            fault(good, work / fault.__name__)
        if not args.no_mount:
            full_disk(good, night, work / "full_disk")
        lock(night, work / "lock")
        killed_worker(night, work / "killed_worker")
        interrupts(night, work / "interrupts")
        run_interrupted(good, work / "run_interrupted")
        config_typo(good, work / "config")
        damaged(good, work / "damaged")
    print("| fault | command | exit | message | left on disk |")
    print("|---|---|---|---|---|")
    for fields in ROWS:
        print("| " + " | ".join(fields) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
