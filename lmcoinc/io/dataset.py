"""The Parquet tables of an output, read lazily: ``run``'s files or ``batch``'s dataset.

``lmcoinc run`` writes one Parquet file per table beside the HDF5 file,
``<stem>.<table>.parquet``. ``lmcoinc batch`` writes each table once, to the
hive-partitioned dataset of the night (and no per-subrun Parquet file beside
its HDF5 files), one file per table and LST-1 subrun::

    OUT/parquet/events/lst_obs_id=3265/lst_subrun=40/part-0.parquet
    OUT/parquet/feature/lst_obs_id=3265/lst_subrun=40/part-0.parquet
    OUT/parquet/profile/lst_obs_id=3265/lst_subrun=40/part-0.parquet
    OUT/parquet/offset_model/lst_obs_id=3265/lst_subrun=40/part-0.parquet   (drift mode)
    OUT/parquet/offset_segments/lst_obs_id=3265/lst_subrun=40/part-0.parquet   (drift mode)

The partition keys are named ``lst_obs_id`` and ``lst_subrun`` because the
events table has its own ``obs_id`` column (the LST run for coincident
events, the MAGIC run for MAGIC-only stereo events), which a hive key of the
same name would silently overwrite when reading. Both kinds of files have
the schema of :func:`lmcoinc.io.parquet.parquet_frame`; :func:`scan` reads
either with the same columns, the keys included.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import InvalidFileError
from .provenance import read_provenance, run_ids

__all__ = [
    "PARTITION_KEYS",
    "TABLES",
    "dataset_dir",
    "partition_file",
    "run_table_files",
    "scan",
]

#: Tables of the outputs (``offset_model`` and ``offset_segments`` in drift mode only).
TABLES = ("events", "feature", "profile", "offset_model", "offset_segments")
#: Hive partition keys, outermost first.
PARTITION_KEYS = ("lst_obs_id", "lst_subrun")
_HIVE_SCHEMA = {key: pl.Int64 for key in PARTITION_KEYS}
_PART_NAME = "part-0.parquet"


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")


def dataset_dir(output_dir: str | Path, table: str) -> Path:
    """Directory of one table of the dataset: ``OUT/parquet/<table>``."""
    _check_table(table)
    return Path(output_dir) / "parquet" / table


def partition_file(output_dir: str | Path, table: str, obs_id: int, subrun: int) -> Path:
    """Path of the Parquet file of one table and LST-1 subrun."""
    return (
        dataset_dir(output_dir, table)
        / f"{PARTITION_KEYS[0]}={int(obs_id)}"
        / f"{PARTITION_KEYS[1]}={int(subrun)}"
        / _PART_NAME
    )


def _stem(path: Path) -> str:
    """The output name of a subrun's file: ``X`` of ``X.h5`` or ``X.<table>.parquet``."""
    name = path.name
    if name.endswith(".h5"):
        return name[:-3]
    stem = name.removesuffix(".parquet")
    return stem.rsplit(".", 1)[0] if stem.rsplit(".", 1)[-1] in TABLES else stem


def run_table_files(path: str | Path, table: str) -> list[Path]:
    """The ``run`` Parquet files of a table: the one of a subrun's output file, or all of
    a directory and its subdirectories (those of a batch dataset excepted)."""
    _check_table(table)
    path = Path(path)
    if path.is_file():
        found = path.parent / f"{_stem(path)}.{table}.parquet"
        return [found] if found.is_file() else []
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob(f"*.{table}.parquet")
                  if "parquet" not in p.relative_to(path).parts[:-1])


def _batch_partition(path: Path, table: str) -> tuple[Path, int, int] | None:
    """The dataset partition of a batch subrun's HDF5 file and its keys (those its
    provenance names, else its name's), if there is one."""
    if not path.name.endswith(".h5"):
        return None
    try:
        keys = read_provenance(path).get("output", {})
        obs_id, subrun = keys["obs_id"], keys["subrun"]
    except (InvalidFileError, KeyError, AttributeError):
        obs_id, subrun = run_ids(path)
    if obs_id is None or subrun is None:
        return None
    found = partition_file(path.parent, table, obs_id, subrun)
    return (found, obs_id, subrun) if found.is_file() else None


def _scan_files(files: list[tuple[Path, int | None, int | None]]) -> pl.LazyFrame:
    """Files of one table, each with its LST-1 run and subrun as the partition keys."""
    return pl.concat([
        pl.scan_parquet(path).with_columns(pl.lit(obs_id, pl.Int64).alias(PARTITION_KEYS[0]),
                                           pl.lit(subrun, pl.Int64).alias(PARTITION_KEYS[1]))
        for path, obs_id, subrun in files
    ], how="diagonal_relaxed")


def scan(path: str | Path, table: str = "events") -> pl.LazyFrame:
    """Lazy frame over one table of an lmcoinc output, ``run`` or ``batch``.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``-o`` directory of ``lmcoinc batch`` (its dataset), a directory
        of ``lmcoinc run`` outputs (searched recursively), or one file of a
        subrun's output (its HDF5 file or any of its Parquet files): that
        subrun's table, in a ``run`` or a ``batch`` output.
    table : str
        "events", "feature", "profile", or "offset_model" or "offset_segments"
        (drift mode).

    Returns
    -------
    polars.LazyFrame
        The table's columns, then the LST-1 run and subrun as ``lst_obs_id``
        and ``lst_subrun`` (Int64: the batch dataset's hive keys; for a
        ``run`` output, from the file names); the same columns either way.
        Nothing is read until it is collected.

    Raises
    ------
    ValueError
        If ``table`` is not one of :data:`TABLES`.
    FileNotFoundError
        If the path holds no Parquet file of that table.

    Examples
    --------
    >>> import polars as pl, lmcoinc
    >>> (lmcoinc.scan("night_out", "events")
    ...     .filter(pl.col("intensity") > 100)
    ...     .group_by("lst_obs_id", "lst_subrun").agg(pl.len())
    ...     .collect())  # doctest: +SKIP
    """
    _check_table(table)
    path = Path(path)
    directory = dataset_dir(path, table)
    if path.is_dir() and next(directory.glob(f"*/*/{_PART_NAME}"), None) is not None:
        return pl.scan_parquet(directory / "**" / "*.parquet", hive_partitioning=True,
                               hive_schema=_HIVE_SCHEMA, missing_columns="insert")
    files = [(p, *run_ids(p)) for p in run_table_files(path, table)]
    partition = _batch_partition(path, table) if path.is_file() and not files else None
    if files or partition is not None:
        return _scan_files(files or [partition])
    raise FileNotFoundError(f"{path}: no Parquet files of table {table!r}")
