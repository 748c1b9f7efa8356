"""Resume records: which subruns an earlier batch completed, with the same inputs and software.

After a subrun's outputs are in place, ``OUT/.lmcoinc/records/<output>.json``
holds its summary row, the digest of its inputs (the LST file and the MAGIC
files: names, sizes, mtimes; the configuration) and the fingerprint: that
digest with lmcoinc's version and the output-format version
(:data:`lmcoinc.io.provenance.FORMAT_VERSION`). A later batch skips a subrun
whose record has its fingerprint and whose outputs exist (``ok``), or whose
record says ``no_coincidence``; failed subruns are always retried. A record
with the same inputs but another fingerprint was made by another version of
lmcoinc (:func:`read_record` says which): the batch redoes it unless told to
keep it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import CoincidenceConfig
from ..io.atomic import atomic_file
from ..io.provenance import FORMAT_VERSION, lmcoinc_version

__all__ = [
    "STATE_DIR",
    "Record",
    "file_stat",
    "fingerprint",
    "inputs_digest",
    "read_record",
    "record_path",
    "software_version",
    "write_record",
]

#: Directory of the batch's own state (records, cache) in the output directory.
STATE_DIR = ".lmcoinc"
_COMPLETE = ("ok", "no_coincidence")


def file_stat(path: Path) -> list:
    """Name, size and modification time of a file."""
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def software_version() -> str:
    """lmcoinc's version and the output format's, as records name them: "0.1.0 (format 2)"."""
    return f"{lmcoinc_version()} (format {FORMAT_VERSION})"


def inputs_digest(config: CoincidenceConfig, lst_file: Path, magic_stats: list) -> str:
    """Digest of a subrun's inputs: the config, the LST file and the MAGIC files (what
    records held as their fingerprint before they named the software)."""
    payload = json.dumps([repr(config), file_stat(lst_file), magic_stats], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def fingerprint(inputs: str, software: str | None = None) -> str:
    """Digest of a subrun's inputs digest and the software (default: this lmcoinc)."""
    payload = json.dumps([inputs, software or software_version()])
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def record_path(output_dir: Path, output_name: str) -> Path:
    """Where the record of the subrun whose HDF5 output is ``output_name`` goes."""
    return output_dir / STATE_DIR / "records" / f"{output_name}.json"


def write_record(path: Path, inputs: str, row: dict[str, Any]) -> None:
    """Write a record (atomically): the fingerprint, inputs digest, software and row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"fingerprint": fingerprint(inputs), "inputs": inputs,
              "software": software_version(), "row": row}
    with atomic_file(path) as temp:
        temp.write_text(json.dumps(record))


@dataclass(frozen=True)
class Record:
    """A complete earlier run of a subrun with the same inputs.

    Attributes
    ----------
    row : dict
        Its summary row.
    software : str or None
        The lmcoinc that made it, when another than this one ("an earlier
        version" when its record predates the versions); None: this one.
    """

    row: dict[str, Any]
    software: str | None = None


def read_record(
    path: Path, inputs: str, outputs: Callable[[dict[str, Any]], Iterable[Path]]
) -> Record | None:
    """The complete earlier run of a subrun with inputs digest ``inputs``, or None.

    Complete: status ``ok`` with all files ``outputs(row)`` present, or status
    ``no_coincidence``. A record of the same inputs made by another version
    of lmcoinc is returned with that version (:attr:`Record.software`).
    """
    try:
        record = json.loads(path.read_text())
        row, found = record["row"], record["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(row, dict) or row.get("status") not in _COMPLETE:
        return None
    if found == fingerprint(inputs):
        software = None
    elif record.get("inputs") == inputs:
        software = str(record.get("software"))
    elif "inputs" not in record and found == inputs:  # records before versions were named
        software = "an earlier version"
    else:
        return None
    if row["status"] == "ok" and not all(p.is_file() for p in outputs(row)):
        return None
    return Record(row, software)
