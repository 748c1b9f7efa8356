"""Resume records: which subruns an earlier batch completed, with the same inputs.

After a subrun's outputs are in place, ``OUT/.lmcoinc/records/<output>.json``
holds its summary row and a fingerprint of its inputs (the LST file and the
MAGIC files: names, sizes, mtimes; the configuration). A later batch skips
a subrun whose record matches and whose outputs exist (``ok``), or whose
record says ``no_coincidence``; failed subruns are always retried.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..config import CoincidenceConfig
from ..io.atomic import atomic_file

__all__ = ["STATE_DIR", "file_stat", "fingerprint", "read_record", "record_path", "write_record"]

#: Directory of the batch's own state (records, cache) in the output directory.
STATE_DIR = ".lmcoinc"
_COMPLETE = ("ok", "no_coincidence")


def file_stat(path: Path) -> list:
    """Name, size and modification time of a file."""
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def fingerprint(config: CoincidenceConfig, lst_file: Path, magic_stats: list) -> str:
    """Digest of a subrun's inputs: the config, the LST file and the MAGIC files."""
    payload = json.dumps([repr(config), file_stat(lst_file), magic_stats], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def record_path(output_dir: Path, output_name: str) -> Path:
    """Where the record of the subrun whose HDF5 output is ``output_name`` goes."""
    return output_dir / STATE_DIR / "records" / f"{output_name}.json"


def write_record(path: Path, print_: str, row: dict[str, Any]) -> None:
    """Write a record (atomically): the fingerprint and the summary row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as temp:
        temp.write_text(json.dumps({"fingerprint": print_, "row": row}))


def read_record(
    path: Path, print_: str, outputs: Callable[[dict[str, Any]], Iterable[Path]]
) -> dict[str, Any] | None:
    """The summary row of a complete earlier run of a subrun, or None.

    Complete: a record with the same fingerprint, status ``ok`` with all
    files ``outputs(row)`` present, or status ``no_coincidence``.
    """
    try:
        record = json.loads(path.read_text())
        row, found = record["row"], record["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if found != print_ or row.get("status") not in _COMPLETE:
        return None
    if row["status"] == "ok" and not all(p.is_file() for p in outputs(row)):
        return None
    return row
