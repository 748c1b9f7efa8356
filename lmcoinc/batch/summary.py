"""The batch summary: one row per LST-1 subrun (``OUT/summary.parquet``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ..config import MAGIC_NAMES, CoincidenceConfig
from ..io.atomic import atomic_file

__all__ = [
    "STATUSES",
    "magic_tel_ids",
    "max_rss_mb",
    "summary_frame",
    "summary_schema",
    "write_summary",
]

#: Statuses of a subrun in the summary.
STATUSES = ("ok", "skipped", "no_coincidence", "failed")


def magic_tel_ids(config: CoincidenceConfig) -> list[int]:
    """The MAGIC telescope ids in use, in config order."""
    return [config.tel_ids[n] for n in MAGIC_NAMES if config.tel_ids.get(n, 0) > 0]


def summary_schema(tel_ids: Sequence[int]) -> dict[str, pl.DataType]:
    """Columns and types of the summary table for the given MAGIC telescope ids."""
    schema: dict[str, Any] = {
        "lst_file": pl.String,
        "obs_id": pl.Int64,
        "subrun": pl.Int64,
        "status": pl.String,
        "exit_code": pl.Int64,
        "error": pl.String,
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


def write_summary(summary: pl.DataFrame, path: Path) -> None:
    """Write the summary atomically."""
    with atomic_file(path) as temp:
        summary.write_parquet(temp)


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
