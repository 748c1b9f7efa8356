"""``lmcoinc info FILE``: where an output file comes from (its provenance)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from .base import DebugOption, app, errors_as_exit_codes
from .logs import logging_options

_SOFTWARE_ORDER = ("python", "polars", "numpy", "pyarrow", "nanoarrow", "tables", "h5py",
                   "hdf5plugin", "astropy")


@app.command(epilog="Exit codes: 16 the file is not a readable lmcoinc output (no provenance).")
@logging_options(logging.WARNING)
def info(
    file: Annotated[Path, typer.Argument(help="An output file of lmcoinc (HDF5 or Parquet).")],
    as_json: Annotated[bool, typer.Option("--json", help="The provenance as JSON.")] = False,
    debug: DebugOption = False,
) -> None:
    """Print the provenance of an output file: lmcoinc's version, the software, the
    configuration (YAML), the input files, when and where it was made.

    Every output holds it: the HDF5 files as root attributes, the Parquet files
    (the run and batch tables, summary.parquet, night.parquet) as key-value
    metadata under the key "lmcoinc".
    """
    with errors_as_exit_codes(debug):
        from ..errors import ReportInputError, input_roles
        from ..io.provenance import read_provenance

        with input_roles({file: ReportInputError}):
            document = read_provenance(file)
    typer.echo(json.dumps(document, indent=1) if as_json else provenance_text(file, document))


def provenance_text(path: Path, doc: dict[str, Any]) -> str:
    """A provenance document as text for the terminal."""
    software = doc.get("software", {})
    versions = ", ".join(f"{name} {software[name]}" for name in _SOFTWARE_ORDER
                         if software.get(name))
    lines = [
        f"{path}",
        f"  made by: lmcoinc {doc.get('lmcoinc_version')} (output format "
        f"{doc.get('format_version')}), lmcoinc {doc.get('command')}",
        f"  software: {versions}",
        f"  host: {doc.get('host')}",
        f"  started: {doc.get('started')}",
        f"  finished: {doc.get('finished')}",
    ]
    output = doc.get("output") or {}
    if output:
        lines.append("  output: " + ", ".join(f"{k} {v}" for k, v in output.items()))
    inputs = doc.get("inputs", [])
    lines.append(f"  inputs ({len(inputs)}):")
    for entry in inputs:
        ids = "" if entry.get("obs_id") is None else f"  obs_id {entry['obs_id']}" + (
            "" if entry.get("subrun") is None else f" subrun {entry['subrun']}")
        lines.append(f"    {entry.get('role', ''):<6} {entry.get('path')}  "
                     f"{entry.get('size')} bytes  modified {entry.get('mtime')}{ids}")
    lines.append("  configuration:")
    lines += [f"    {line}" for line in str(doc.get("config", "")).splitlines()]
    return "\n".join(lines)
