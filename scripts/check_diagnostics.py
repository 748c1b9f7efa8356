#!/usr/bin/env python
"""Accidental pairs and effective time of simulated subruns against the simulator's truth.

Usage: python scripts/check_diagnostics.py [--seeds 31 32 33] [--duration 3]

For each seed, a busy subrun (25 kHz LST-1, 3 kHz MAGIC: many accidentals) and a
realistic one (5 kHz, 250 Hz): the pairs each MAGIC telescope finds that are not true
pairs (``truth/true_pairs.parquet``) against the ``accidental`` feature column (from the
rates), ``accidental_sideband`` (from the profile) and the estimate a constant
``n_magic × rate × window`` would give; ``effective_time_s`` against the true live time
(``truth/truth.json``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[31, 32, 33])
    parser.add_argument("--duration", type=float, default=3.0, help="subrun length (s)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from lmcoinc.config import load_config
    from lmcoinc.io.magic_source import MagicDirectory
    from lmcoinc.pipeline import process_subrun
    from lmcoinc.simulate import SimulationConfig, simulate
    from lmcoinc.simulate.truth import found_pairs, recall_purity

    logging.disable(logging.WARNING)
    config = load_config(None)
    tel_names = config.tel_names
    rates = {"busy": (25000.0, 3000.0), "realistic": (5000.0, 250.0)}
    print(f"{'subrun':>14} {'tel':>3} {'pairs':>6} {'false':>6} {'accidental':>10} "
          f"{'side bands':>10} {'n·ρ·2w':>8} {'effective s':>11} {'true live s':>11} {'ratio':>7}")
    for seed in args.seeds:
        for name, (lst_hz, magic_hz) in rates.items():
            with tempfile.TemporaryDirectory() as work:
                files = simulate(Path(work) / "in", SimulationConfig(
                    duration_s=args.duration, seed=seed, lst_rate_hz=lst_hz,
                    magic_stereo_rate_hz=magic_hz))
                report = process_subrun(files.lst_file, MagicDirectory(files.magic_dir, tel_names),
                                        Path(work) / "out", config)
                score = recall_purity(found_pairs(report.result.events.plan), files.true_pairs)
            extra = report.result.feature_extra
            live = files.live_time.live_s
            for i, (tel_id, found) in enumerate(report.result.telescopes.items()):
                counted = score.per_tel[tel_id]
                naive = len(found.candidates) * extra["lst_rate_hz"][i] * 600e-9
                false = counted.n_found - counted.n_found_true
                effective = extra["effective_time_s"][i]
                print(f"{f'{name} {seed}':>14} {tel_id:>3} {counted.n_found:>6} "
                      f"{false:>6} {extra['accidental'][i]:>10.1f} "
                      f"{extra['accidental_sideband'][i]:>10.1f} {naive:>8.1f} {effective:>11.4f} "
                      f"{live:>11.4f} {effective / live:>7.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
