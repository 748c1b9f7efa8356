"""The batch summary: one row per LST-1 subrun (``OUT/summary.parquet``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ..io.atomic import atomic_file
from ..io.parquet import write_parquet

__all__ = [
    "STATUSES",
    "max_rss_mb",
    "summary_frame",
    "summary_schema",
    "write_summary",
]

#: Statuses of a subrun in the summary.
STATUSES = ("ok", "skipped", "no_coincidence", "failed")


def summary_schema(tel_ids: Sequence[int]) -> dict[str, pl.DataType]:
    """Columns and types of the summary table for the given MAGIC telescope ids."""
    schema: dict[str, Any] = {
        "lst_file": pl.String,
        "obs_id": pl.Int64,
        "subrun": pl.Int64,
        "status": pl.String,
        "exit_code": pl.Int64,
        "error": pl.String,
        "warnings": pl.List(pl.String),
        "n_lst_events": pl.Int64,
    }
    for tel_id in tel_ids:
        schema[f"offset_us_tel{tel_id}"] = pl.Float64
        schema[f"n_coincidence_tel{tel_id}"] = pl.Int64
        schema[f"n_events_magic_tel{tel_id}"] = pl.Int64
        schema[f"fraction_tel{tel_id}"] = pl.Float64
        schema[f"clock_offset_us_tel{tel_id}"] = pl.Float64
        schema[f"night_offset_us_tel{tel_id}"] = pl.Float64
        schema[f"deviation_us_tel{tel_id}"] = pl.Float64
        schema[f"accidental_tel{tel_id}"] = pl.Float64
        schema[f"drift_us_per_s_tel{tel_id}"] = pl.Float64
        schema[f"n_offset_steps_tel{tel_id}"] = pl.Int64
    schema["magic_obs_id"] = pl.Int64
    schema["offset_source"] = pl.String
    schema["effective_time_s"] = pl.Float64
    schema["seconds"] = pl.Float64
    schema["max_rss_mb"] = pl.Float64
    return schema


def summary_frame(rows: list[dict[str, Any]], tel_ids: Sequence[int]) -> pl.DataFrame:
    """The summary table of the rows (in the given order)."""
    schema = summary_schema(tel_ids)
    return pl.DataFrame([[row.get(c) for c in schema] for row in rows], schema=schema,
                        orient="row")


def write_summary(summary: pl.DataFrame, path: Path, table: str = "summary",
                  provenance: dict[str, Any] | None = None) -> None:
    """Write the summary (or the night model's ``table="night"``) atomically, its columns
    described and the batch's provenance in its metadata (:mod:`lmcoinc.io.parquet`)."""
    with atomic_file(path) as temp:
        write_parquet(temp, table, summary, None if provenance is None else json.dumps(provenance))


def max_rss_mb() -> float | None:
    """Peak resident memory of this process so far (MB).

    Linux's VmHWM, which starts anew at exec; ``ru_maxrss`` would include the
    memory of the parent that forked a spawned worker.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
