"""Where an output comes from: software, configuration, inputs, time and host.

Every output of lmcoinc carries one JSON document (:func:`provenance`):
lmcoinc's version and output-format version, the versions of Python and of
the libraries that computed and wrote it, the full effective configuration
as YAML text, each input file (name, path as given, size, modification
time, its run and subrun), the start and end of the computation (UTC) and
the host. It is stored

- in Parquet files as the file's key-value metadata, under the key
  :data:`KEY` (``lmcoinc``);
- in HDF5 files as root attributes holding plain strings (:func:`hdf5_attributes`):
  the document under :data:`KEY`, and the version and the configuration
  again, readable with ``h5dump -A``. Plain strings are never unpickled,
  and readers of the tables (pandas, magic-cta-pipe, ctapipe) ignore them.

:func:`read_provenance` reads it back from either.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import platform
import re
import socket
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..errors import InvalidFileError

__all__ = [
    "FORMAT_VERSION",
    "HDF5_ATTRIBUTES",
    "KEY",
    "file_entry",
    "hdf5_attributes",
    "lmcoinc_version",
    "now_utc",
    "provenance",
    "read_provenance",
    "run_ids",
    "software_versions",
]

#: The version of the output format: the tables, their Parquet schema and layout.
#: 1: before provenance; 2: provenance, units, nullable ids, ``timestamp_ns``, a batch
#: writes its Parquet tables to the dataset only.
FORMAT_VERSION = 2
#: The Parquet key-value key and HDF5 root attribute of the provenance document.
KEY = "lmcoinc"
#: The HDF5 root attributes lmcoinc writes (all plain strings).
HDF5_ATTRIBUTES = (KEY, "lmcoinc_version", "lmcoinc_config")
#: Python distributions whose versions are recorded (import name in the document).
_PACKAGES = {"polars": "polars", "numpy": "numpy", "pyarrow": "pyarrow",
             "nanoarrow": "nanoarrow", "tables": "tables", "h5py": "h5py",
             "hdf5plugin": "hdf5plugin", "astropy": "astropy"}
_RUN_RE = re.compile(r"Run(\d+)\.(\d+)")


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


@functools.cache
def lmcoinc_version() -> str:
    """The installed version of lmcoinc ("unknown" when run from a tree not installed)."""
    return _version("lmcoinc") or "unknown"


@functools.cache
def software_versions() -> dict[str, str | None]:
    """Python's version and those of lmcoinc and the libraries it computes and writes with."""
    found = {"lmcoinc": lmcoinc_version(), "python": platform.python_version()}
    found.update({name: _version(dist) for name, dist in _PACKAGES.items()})
    return found


def run_ids(path: str | Path) -> tuple[int | None, int | None]:
    """Run and subrun from a file name such as ``dl1_LST-1.Run03265.0040.h5`` or
    ``dl1_M1.Run05093711.001.h5`` (None, None: no such part)."""
    found = _RUN_RE.search(Path(path).name)
    if found is None:
        return None, None
    return int(found.group(1)), int(found.group(2))


def now_utc() -> str:
    """The current time, UTC, ISO 8601 to the microsecond."""
    return dt.datetime.now(dt.timezone.utc).isoformat()


def file_entry(path: str | Path, role: str, obs_id: int | None = None) -> dict[str, Any]:
    """An input file as the provenance lists it.

    Parameters
    ----------
    path : path
        The file (its path as given is recorded).
    role : str
        "lst", "magic", "config", ...
    obs_id : int, optional
        Its run, where the name does not say it (e.g. read from its table).
    """
    path = Path(path)
    name_obs_id, subrun = run_ids(path)
    entry: dict[str, Any] = {"role": role, "name": path.name, "path": str(path),
                             "size": None, "mtime": None,
                             "obs_id": name_obs_id if name_obs_id is not None else obs_id,
                             "subrun": subrun}
    try:
        st = path.stat()
    except OSError:
        return entry
    entry["size"] = st.st_size
    entry["mtime"] = dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).isoformat()
    return entry


def provenance(
    command: str,
    config_yaml: str,
    inputs: Iterable[dict[str, Any]],
    started: str,
    finished: str | None = None,
    output: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The provenance document of an output.

    Parameters
    ----------
    command : str
        What made it: "run", "batch", "coincide" (the Python API).
    config_yaml : str
        The full effective configuration (:func:`lmcoinc.config.config_yaml`).
    inputs : iterable of dict
        :func:`file_entry` of each input file.
    started, finished : str
        Start and end of the computation (:func:`now_utc`; default end: now).
    output : dict, optional
        What the output is, e.g. ``{"obs_id": 3265, "subrun": 40}`` for a subrun.

    Examples
    --------
    >>> doc = provenance("run", "mc_tel_ids: {}\\n", [], now_utc())
    >>> doc["lmcoinc_version"] == lmcoinc_version(), doc["format_version"] == FORMAT_VERSION
    (True, True)
    """
    return {
        "lmcoinc_version": lmcoinc_version(),
        "format_version": FORMAT_VERSION,
        "command": command,
        "software": software_versions(),
        "config": config_yaml,
        "inputs": list(inputs),
        "output": output or {},
        "started": started,
        "finished": finished or now_utc(),
        "host": socket.gethostname(),
    }


def hdf5_attributes(document: dict[str, Any], text: str | None = None) -> dict[str, str]:
    """The HDF5 root attributes of a provenance document: plain strings only (``text``: the
    document's JSON text, if already made)."""
    return {KEY: json.dumps(document) if text is None else text,
            "lmcoinc_version": str(document["lmcoinc_version"]),
            "lmcoinc_config": str(document["config"])}


def _decode(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_provenance(path: str | Path) -> dict[str, Any]:
    """The provenance document of an output file (HDF5 or Parquet).

    Raises
    ------
    InvalidFileError
        If the file cannot be read, or holds no provenance of lmcoinc.
    """
    path = Path(path)
    text = _read_text(path, _kind(path))
    if text is None:
        raise InvalidFileError(path, "no lmcoinc provenance (not an lmcoinc output, or one "
                                     "made before outputs recorded it)")
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidFileError(path, f"the {KEY!r} metadata is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidFileError(path, f"the {KEY!r} metadata is not a JSON object")
    return document


def _kind(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as err:
        raise InvalidFileError(path, f"cannot read ({err.strerror or err})") from None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head == b"\x89HDF\r\n\x1a\n":
        return "hdf5"
    raise InvalidFileError(path, "neither HDF5 nor Parquet")


def _read_text(path: Path, kind: str) -> str | None:
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            metadata = pq.read_schema(path).metadata or {}
        except (OSError, ValueError) as err:
            raise InvalidFileError(path, f"cannot read Parquet ({err})") from None
        value = metadata.get(KEY.encode())
        return None if value is None else value.decode("utf-8")
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            value = handle.attrs.get(KEY)
    except OSError as err:
        raise InvalidFileError(path, f"cannot read HDF5 ({err})") from None
    return None if value is None else _decode(value)

