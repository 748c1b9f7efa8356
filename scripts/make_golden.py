"""Regenerate the golden outputs of the reference for the differential tests.

Usage: python scripts/make_golden.py REFERENCE_PYTHON [CASE ...]

REFERENCE_PYTHON is the python of a venv with magic-cta-pipe 0.6.2
(``make reference`` builds one in .venv-ref). For each case of
tests/cases.py it simulates the inputs, runs the reference and stores its
output file, exit code and an input digest in tests/golden/CASE/.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.cases import CASES, GOLDEN, input_digest, make_case, run_reference  # noqa: E402


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    python, names = argv[0], argv[1:] or list(CASES)
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            files, config = make_case(name, tmp)
            proc = run_reference(python, files.lst_file, files.magic_dir, tmp / "out", config)
            target = GOLDEN / name
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            outputs = sorted((tmp / "out").glob("*.h5"))
            for out in outputs:
                shutil.copy(out, target / out.name)
            meta = {"returncode": proc.returncode, "input_digest": input_digest(files),
                    "outputs": [p.name for p in outputs]}
            (target / "case.json").write_text(json.dumps(meta, indent=1) + "\n")
            print(f"{name}: reference exit {proc.returncode}, outputs {meta['outputs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
