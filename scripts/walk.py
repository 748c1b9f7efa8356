#!/usr/bin/env python
"""The walk of one subrun through the package: which module calls which, in order.

Usage: python scripts/walk.py [--command run|batch] [--work DIR] [--all]

Simulates a short subrun (or a night of three, for ``batch``), runs the command in this
process under a profiler hook and records every call from one lmcoinc module into
another (the caller being the nearest lmcoinc frame, so that a library calling back into
lmcoinc counts as the lmcoinc module that called the library). It prints the walk as a
tree of first calls (each module-to-module step once, indented by depth) and every step
that climbs: a call from a module of a lower layer into one of a higher layer of the
import-linter contract in pyproject.toml, whatever the way (a callback, a method of an
object a higher layer handed down): the code of a higher layer running below a lower
one. The pipeline calling its stages in turn descends each time (the tree shows it
coming back to the pipeline between stages); its calls into a higher layer climb as any
other. The calls of :data:`NOTIFICATIONS` are listed apart. The exit code is 1 if a step
climbs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]

#: Calls up that only tell the caller how far the work is, listed but not counted as
#: climbs: (module, function) → why. They pass nothing back down, and happen once a
#: subrun's outputs are complete, outside its walk.
NOTIFICATIONS = {
    ("lmcoinc.cli.display", "BatchProgress.start"):
        "run_batch tells the progress bar of the command (its BatchReporter) the tasks start",
    ("lmcoinc.cli.display", "BatchProgress.done"):
        "run_batch tells the progress bar of the command (its BatchReporter) a task is done",
}


def layers() -> dict[str, int]:
    """Top-level name under lmcoinc → layer rank (0: the top) from pyproject.toml."""
    contract = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    ranks = {}
    for rank, layer in enumerate(contract["contracts"][0]["layers"]):
        for name in layer.replace(":", "|").split("|"):
            ranks[name.strip()] = rank
    return ranks


def module_of(filename: str, package: Path) -> str | None:
    """``lmcoinc.x.y`` of a source file of the package, None for other files."""
    path = Path(filename)
    if package not in path.parents:
        return None
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class Walk:
    """The module-to-module calls of a run: first-seen order, depth, climbs."""

    def __init__(self, package: Path, ranks: dict[str, int]) -> None:
        self.package, self.ranks = package, ranks
        self.steps: dict[tuple[str, str], int] = {}
        self.climbs: dict[tuple[str, str], int] = {}
        self.told: dict[tuple[str, str, str], int] = {}

    def rank(self, module: str) -> int:
        top = module.split(".")[1] if "." in module else module
        return self.ranks.get(top, -1)

    def hook(self, frame, event, arg):  # noqa: ANN001 - sys.setprofile's signature
        if event != "call" or frame.f_code.co_name == "<module>":  # imports are not the walk
            return
        callee = module_of(frame.f_code.co_filename, self.package)
        if callee is None:
            return
        depth, caller, back = 0, None, frame.f_back
        while back is not None:
            found = module_of(back.f_code.co_filename, self.package)
            if found is not None:
                depth += 1
                caller = caller or found
            back = back.f_back
        if caller is None or caller == callee:
            return
        key = (caller, callee)
        if key not in self.steps:
            self.steps[key] = depth
        if (self.rank(callee) < self.rank(caller)
                and caller.split(".")[1:2] != callee.split(".")[1:2]):
            function = frame.f_code.co_qualname
            if (callee, function) in NOTIFICATIONS:
                told = (caller, callee, function)
                self.told[told] = self.told.get(told, 0) + 1
            else:
                self.climbs[key] = self.climbs.get(key, 0) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--command", choices=("run", "batch"), default="run")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--all", action="store_true", help="also the steps within a package")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import lmcoinc
    from lmcoinc.cli import app
    from lmcoinc.simulate import simulate_night

    work = args.work or Path(tempfile.mkdtemp(prefix="lmcoinc-walk-"))
    night = simulate_night(work / "in", n_subruns=3 if args.command == "batch" else 1,
                           subrun_s=2.0, seed=3)
    argv_ = (["run", "-l", str(night.lst_files[0]), "-m", str(night.magic_dir)]
             if args.command == "run" else
             ["batch", "--lst-dir", str(night.lst_dir), "--magic-dir", str(night.magic_dir),
              "--no-progress"])
    walk = Walk(Path(lmcoinc.__file__).parent, layers())
    sys.setprofile(walk.hook)
    try:
        app([*argv_, "-o", str(work / "out")], prog_name="lmcoinc", standalone_mode=False)
    finally:
        sys.setprofile(None)
    print(f"lmcoinc {args.command}: module-to-module calls in the order of their first call")
    for (caller, callee), depth in walk.steps.items():
        same = caller.split(".")[1:2] == callee.split(".")[1:2]
        if same and not args.all:
            continue
        mark = "  CLIMBS" if (caller, callee) in walk.climbs else (
            "  (notification)" if any(t[:2] == (caller, callee) for t in walk.told) else "")
        print(f"{'  ' * min(depth, 12)}{caller.removeprefix('lmcoinc.')} → "
              f"{callee.removeprefix('lmcoinc.')}{mark}")
    between = sum(1 for c, e in walk.steps if c.split(".")[1:2] != e.split(".")[1:2])
    print(f"\nsteps between packages: {between}; climbs (a lower layer calling a higher "
          f"one): {len(walk.climbs)}")
    for (caller, callee), count in walk.climbs.items():
        print(f"  {caller} → {callee} ({count} calls)")
    for (caller, callee, function), count in walk.told.items():
        print(f"notification, not counted: {caller} → {callee}.{function} ({count} calls): "
              f"{NOTIFICATIONS[callee, function]}")
    return 1 if walk.climbs else 0


if __name__ == "__main__":
    sys.exit(main())
