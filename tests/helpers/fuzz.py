"""Seeded random corruptions of LST-1 and MAGIC files, and ``lmcoinc run`` on each.

A case damages one input file (byte flips, a zeroed block or a truncation, at
a random place: anywhere in the file or in its HDF5 metadata, i.e. outside the
stored chunks) and runs ``lmcoinc run`` on it in a worker process, in
process (``typer.testing.CliRunner``), many cases per worker. The parent
reads one JSON line per case with a timeout: a case that does not end in
time is a hang, a worker that dies a crash. Each outcome is classified:

* ``identical``: exit 0, outputs equal to those of the undamaged input
  (the damage hit bytes that are not used);
* ``changed``: exit 0, other outputs; allowed only where no checksum covers
  the damaged bytes (``checked`` tells whether one does);
* ``exit N``: a documented exit code with one ``lmcoinc: error:`` line;
* ``internal``, ``traceback``, ``undocumented``, ``hang``, ``crash``: bugs.

``python -m tests.fuzz WORK SEED FIRST COUNT`` is the worker; use
:func:`run_cases` (tests) or ``scripts/fuzz.py`` (larger runs).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KINDS = ("flip", "zero", "truncate")
#: The commands run on each damaged input.
COMMANDS = ("run", "convert")
#: Outcomes that are bugs.
BUGS = ("internal", "traceback", "undocumented", "hang", "crash", "changed-checked")


@dataclass(frozen=True)
class Case:
    """One corruption: which file, what, where."""

    index: int
    target: str  # "lst" or the name of a MAGIC file
    kind: str
    offset: int
    length: int
    in_metadata: bool

    def damaged(self, old: bytes, seed: int) -> bytes:
        """The bytes at ``offset`` after the damage (flips or zeros)."""
        if self.kind == "zero":
            return bytes(len(old))
        masks = np.random.default_rng([seed, self.index, 1]).integers(1, 256, len(old))
        return bytes(b ^ int(m) for b, m in zip(old, masks, strict=True))

    def apply(self, path: Path, seed: int) -> None:
        """Damage the file at ``path`` (a copy)."""
        if self.kind == "truncate":
            os.truncate(path, self.offset)
            return
        with open(path, "r+b") as handle:
            handle.seek(self.offset)
            old = handle.read(self.length)
            handle.seek(self.offset)
            handle.write(self.damaged(old, seed))

    def changed(self, path: Path, seed: int) -> np.ndarray:
        """Offsets of the bytes of the (undamaged) file at ``path`` that the damage changes."""
        if self.kind == "truncate":
            return np.arange(self.offset, path.stat().st_size)
        with open(path, "rb") as handle:
            handle.seek(self.offset)
            old = handle.read(self.length)
        new = self.damaged(old, seed)
        return self.offset + np.flatnonzero(np.frombuffer(old, np.uint8)
                                            != np.frombuffer(new, np.uint8))


def chunk_ranges(path: Path) -> list[tuple[int, int, bool]]:
    """(start, end, fletcher32) of every stored chunk of every dataset of a file."""
    import h5py
    import hdf5plugin  # noqa: F401

    ranges = []
    with h5py.File(path, "r") as handle:

        def visit(_, node):
            if not isinstance(node, h5py.Dataset):
                return
            if node.chunks is None:
                offset = node.id.get_offset()
                if offset is not None:
                    ranges.append((offset, offset + node.id.get_storage_size(), False))
                return
            for i in range(node.id.get_num_chunks()):
                info = node.id.get_chunk_info(i)
                ranges.append((info.byte_offset, info.byte_offset + info.size, node.fletcher32))

        handle.visititems(visit)
    return sorted(ranges)


def make_cases(inputs: Path, seed: int, first: int, count: int) -> list[Case]:
    """The cases ``first`` … ``first + count - 1`` of a seed (each its own random stream)."""
    files = {"lst": _lst(inputs)} | {p.name: p for p in sorted((inputs / "magic").glob("*.h5"))}
    names = list(files)
    cases = []
    for index in range(first, first + count):
        rng = np.random.default_rng([seed, index])
        target = "lst" if rng.random() < 0.5 else str(rng.choice(names[1:]))
        size = files[target].stat().st_size
        kind = str(rng.choice(KINDS, p=[0.5, 0.3, 0.2]))
        length = int(rng.integers(1, 9)) if kind == "flip" else int(2 ** rng.integers(3, 13))
        metadata = _metadata_ranges(files[target], size)
        in_metadata = kind != "truncate" and rng.random() < 0.4
        if in_metadata:
            start, end = metadata[int(rng.integers(len(metadata)))]
            offset = int(rng.integers(start, end))
        else:
            offset = int(rng.integers(0, size))
        cases.append(Case(index, target, kind, offset, min(length, size - offset), in_metadata))
    return cases


_METADATA: dict[Path, list[tuple[int, int]]] = {}


def _metadata_ranges(path: Path, size: int) -> list[tuple[int, int]]:
    """The byte ranges of a file outside its stored chunks (HDF5 metadata, free space)."""
    if path not in _METADATA:
        gaps, position = [], 0
        for start, end, _ in chunk_ranges(path):
            if start > position:
                gaps.append((position, start))
            position = max(position, end)
        if position < size:
            gaps.append((position, size))
        _METADATA[path] = gaps
    return _METADATA[path]


def _lst(inputs: Path) -> Path:
    return next((inputs / "lst").glob("*.h5"))


def checked(case: Case, inputs: Path, seed: int) -> bool:
    """Whether a fletcher32 checksum covers some of the bytes the damage changed."""
    path = _lst(inputs) if case.target == "lst" else inputs / "magic" / case.target
    changed = case.changed(path, seed)
    return any(c and np.any((changed >= start) & (changed < stop))
               for start, stop, c in chunk_ranges(path))


# --- the worker --------------------------------------------------------------------


def _outputs(directory: Path) -> dict:
    import polars as pl

    from .compare import hdf5_contents

    out = {}
    for path in sorted(directory.iterdir()):
        if path.suffix == ".h5":
            out[path.name] = hdf5_contents(path)
        else:  # as Arrow IPC bytes: equal frames, equal bytes (and NaN equals NaN)
            out[path.name] = pl.read_parquet(path).serialize()
    return out


def _invoke(argv: list[str], out: Path, clean: dict) -> dict:
    """Run an ``lmcoinc`` command in process and classify how it ended."""
    from typer.testing import CliRunner

    from lmcoinc.cli import app
    from lmcoinc.errors import EXIT_CODES

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = CliRunner().invoke(app, argv)
    text, code = result.output, result.exit_code
    errors = [line for line in text.splitlines() if line.startswith("lmcoinc: error:")]
    if "Traceback" in text or (result.exception is not None
                               and not isinstance(result.exception, SystemExit)):
        outcome = "traceback"
    elif code == 0:
        outcome = "identical" if _outputs(out) == clean else "changed"
    elif code == 1:
        outcome = "internal"
    elif code in EXIT_CODES and len(errors) == 1:
        outcome = f"exit {code}"
    else:
        outcome = "undocumented"
    found = {"outcome": outcome, "exit_code": code,
             "error": errors[0] if errors else "\n".join(text.strip().splitlines()[-3:])}
    if outcome == "internal":  # where: the traceback of the same command with --debug
        import traceback

        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        debug = CliRunner().invoke(app, [argv[0], "--debug", *argv[1:]])
        if debug.exc_info is not None:
            found["traceback"] = "".join(traceback.format_exception(*debug.exc_info)[-12:])
    return found


def _commands(inputs: Path, lst: Path, magic: Path, damaged: Path,
              work: Path) -> dict[str, tuple]:
    """The commands run on each case: name → (argv, output directory).

    ``run`` takes the config ``INPUTS/config.yaml`` if there is one (e.g. with
    ``save_images``).
    """
    config = inputs / "config.yaml"
    extra = ["-c", str(config)] if config.exists() else []
    return {
        "run": (["run", "-l", str(lst), "-m", str(magic), "-o", str(work / "out"), *extra],
                work / "out"),
        "convert": (["convert", str(damaged), str(work / "converted" / "converted.parquet")],
                    work / "converted"),
    }


def _run_case(case: Case, inputs: Path, work: Path, seed: int, clean: dict) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    (work / "magic").mkdir(parents=True)
    for path in (inputs / "magic").glob("*.h5"):
        (work / "magic" / path.name).symlink_to(path)
    source = _lst(inputs) if case.target == "lst" else inputs / "magic" / case.target
    if case.target == "lst":
        lst = damaged = work / source.name
    else:
        lst, damaged = _lst(inputs), work / "magic" / case.target
        damaged.unlink()
    shutil.copy(source, damaged)
    case.apply(damaged, seed)
    started = time.perf_counter()
    found: dict = {"index": case.index, "case": case.__dict__}
    for name, (argv, out) in _commands(inputs, lst, work / "magic", damaged, work).items():
        result = _invoke(argv, out, clean[name, case.target])
        if result["outcome"] == "changed" and checked(case, inputs, seed):
            result["outcome"] = "changed-checked"
        found[name] = result
    found["seconds"] = round(time.perf_counter() - started, 3)
    return found


def worker(inputs: Path, work: Path, seed: int, first: int, count: int) -> None:
    """Run cases and print one JSON line per case (after the runs on the undamaged files)."""
    import logging

    logging.getLogger("lmcoinc").setLevel(logging.ERROR)  # the damage is warned about at length
    clean: dict = {}
    magic = sorted((inputs / "magic").glob("*.h5"))
    for target, path in [("lst", _lst(inputs))] + [(p.name, p) for p in magic]:
        for name, (argv, out) in _commands(inputs, _lst(inputs), inputs / "magic", path,
                                           work / "clean").items():
            if name == "run" and clean:  # the same for every damaged file
                clean[name, target] = clean[name, "lst"]
                continue
            result = _invoke(argv, out, {})
            assert result["exit_code"] == 0, result
            clean[name, target] = _outputs(out)
    for case in make_cases(inputs, seed, first, count):
        print(json.dumps(_run_case(case, inputs, work / "case", seed, clean)), flush=True)


# --- the parent ----------------------------------------------------------------------


def _start_worker(inputs: Path, work: Path, seed: int, first: int, count: int,
                  memory_gb: float) -> subprocess.Popen:
    def limits() -> None:  # a corrupt size must fail, not take the machine's memory
        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.fuzz", str(inputs), str(work), str(seed), str(first),
         str(count)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root,
        preexec_fn=limits,
    )


def run_cases(inputs: Path, work: Path, seed: int, first: int, count: int,
              timeout: float = 60.0, memory_gb: float = 8.0) -> list[dict]:
    """Run cases ``first`` … in worker processes, restarting after a hang or crash."""
    import selectors

    results: list[dict] = []
    position = first
    while position < first + count:
        proc = _start_worker(inputs, work, seed, position, first + count - position, memory_gb)
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout + 60  # the worker's start and clean run
        while position < first + count:
            if not selector.select(max(0.0, deadline - time.monotonic())):
                proc.kill()
                results.append(_failed(inputs, seed, position, "hang",
                                       f"no result within {timeout} s"))
                position += 1
                break
            line = proc.stdout.readline()
            if not line:  # the worker died
                proc.wait()
                stderr = proc.stderr.read()
                results.append(_failed(inputs, seed, position, "crash",
                                       f"worker died ({proc.returncode}): {stderr[-2000:]}"))
                position += 1
                break
            results.append(json.loads(line))
            position += 1
            deadline = time.monotonic() + timeout
        selector.close()
        proc.kill()
        proc.wait()
    return results


def _failed(inputs: Path, seed: int, index: int, outcome: str, error: str) -> dict:
    """The record of a case that did not report (the worker hung or died)."""
    failure = {"outcome": outcome, "exit_code": None, "error": error}
    return {"index": index, "case": make_cases(inputs, seed, index, 1)[0].__dict__,
            **{name: failure for name in COMMANDS}}


def counts(results: list[dict], command: str = "run") -> dict[str, int]:
    """Number of cases per outcome of a command."""
    found: dict[str, int] = {}
    for result in results:
        outcome = result[command]["outcome"]
        found[outcome] = found.get(outcome, 0) + 1
    return dict(sorted(found.items()))


def bugs(results: list[dict]) -> list[dict]:
    """The cases where a command ended in one of :data:`BUGS`."""
    return [r for r in results if any(r[c]["outcome"] in BUGS for c in COMMANDS)]


if __name__ == "__main__":
    inputs_, work_, seed_, first_, count_ = sys.argv[1:6]
    worker(Path(inputs_), Path(work_), int(seed_), int(first_), int(count_))
