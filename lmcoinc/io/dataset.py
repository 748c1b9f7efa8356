"""Hive-partitioned Parquet dataset of a night's coincidence tables.

Layout, one file per table and LST-1 subrun::

    OUT/parquet/events/lst_obs_id=3265/lst_subrun=40/part-0.parquet
    OUT/parquet/feature/lst_obs_id=3265/lst_subrun=40/part-0.parquet
    OUT/parquet/profile/lst_obs_id=3265/lst_subrun=40/part-0.parquet

The partition keys are named ``lst_obs_id`` and ``lst_subrun`` because the
events table has its own ``obs_id`` column (the LST run for coincident
events, the MAGIC run for MAGIC-only stereo events), which a hive key of the
same name would silently overwrite when reading.

Every subrun's tables are written with one schema across the night: integer
columns as Int64, floating-point ones as Float64, and the profile with a
``n_coincidence_tel1{tel_id}`` column for every MAGIC telescope of the config
(null where that telescope was skipped in the subrun).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

__all__ = [
    "PARTITION_KEYS",
    "TABLES",
    "dataset_dir",
    "normalize",
    "partition_file",
    "scan",
]

#: Tables of the dataset.
TABLES = ("events", "feature", "profile")
#: Hive partition keys, outermost first.
PARTITION_KEYS = ("lst_obs_id", "lst_subrun")
_HIVE_SCHEMA = {key: pl.Int64 for key in PARTITION_KEYS}
_PART_NAME = "part-0.parquet"


def dataset_dir(output_dir: str | Path, table: str) -> Path:
    """Directory of one table of the dataset: ``OUT/parquet/<table>``."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    return Path(output_dir) / "parquet" / table


def partition_file(output_dir: str | Path, table: str, obs_id: int, subrun: int) -> Path:
    """Path of the Parquet file of one table and LST-1 subrun."""
    return (
        dataset_dir(output_dir, table)
        / f"{PARTITION_KEYS[0]}={int(obs_id)}"
        / f"{PARTITION_KEYS[1]}={int(subrun)}"
        / _PART_NAME
    )


def normalize(table: str, frame: pl.DataFrame, magic_tel_ids: Sequence[int]) -> pl.DataFrame:
    """Cast a table to the night-wide schema of the dataset.

    Parameters
    ----------
    table : str
        "events", "feature" or "profile".
    frame : polars.DataFrame
        The table of one subrun, as :func:`lmcoinc.coincidence.coincidence` gives it.
    magic_tel_ids : sequence of int
        The MAGIC telescope ids of the config (their profile columns are
        always present).

    Returns
    -------
    polars.DataFrame
        Integers as Int64, floats as Float64; the profile has ``time_offset``
        and one ``n_coincidence_tel1{tel_id}`` column per MAGIC telescope, in
        that order.
    """
    if table == "profile":
        columns = [pl.col("time_offset").cast(pl.Float64)]
        for tel_id in sorted(magic_tel_ids):
            name = f"n_coincidence_tel1{tel_id}"
            if name in frame.columns:
                columns.append(pl.col(name).cast(pl.Int64))
            else:
                columns.append(pl.lit(None, dtype=pl.Int64).alias(name))
        extra = [c for c in frame.columns if c != "time_offset" and c not in
                 {f"n_coincidence_tel1{t}" for t in magic_tel_ids}]
        return frame.select(*columns, *(_cast(frame, c) for c in extra))
    return frame.select(_cast(frame, c) for c in frame.columns)


def _cast(frame: pl.DataFrame, name: str) -> pl.Expr:
    dtype = frame.schema[name]
    if dtype.is_integer():
        return pl.col(name).cast(pl.Int64)
    if dtype.is_float():
        return pl.col(name).cast(pl.Float64)
    return pl.col(name)


def scan(output_dir: str | Path, table: str = "events") -> pl.LazyFrame:
    """Lazy frame over one table of a batch output, all subruns of the night.

    Parameters
    ----------
    output_dir : str or pathlib.Path
        The ``-o`` directory of ``lmcoinc batch``.
    table : str
        "events", "feature" or "profile".

    Returns
    -------
    polars.LazyFrame
        The table's columns plus the hive keys ``lst_obs_id`` and
        ``lst_subrun`` (Int64); nothing is read until it is collected.

    Raises
    ------
    ValueError
        If ``table`` is not one of the three tables.
    FileNotFoundError
        If the output directory has no file of that table.

    Examples
    --------
    >>> import polars as pl, lmcoinc
    >>> (lmcoinc.scan("night_out", "events")
    ...     .filter(pl.col("intensity") > 100)
    ...     .group_by("lst_obs_id", "lst_subrun").agg(pl.len())
    ...     .collect())  # doctest: +SKIP
    """
    directory = dataset_dir(output_dir, table)
    if not directory.is_dir() or next(directory.glob(f"*/*/{_PART_NAME}"), None) is None:
        raise FileNotFoundError(f"{directory}: no Parquet files of table {table!r}")
    return pl.scan_parquet(
        directory / "**" / "*.parquet",
        hive_partitioning=True,
        hive_schema=_HIVE_SCHEMA,
        missing_columns="insert",
    )
