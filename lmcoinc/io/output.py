"""Output of a subrun: the HDF5 file read by magic-cta-pipe's next steps, and Parquet.

Everything of one subrun (the HDF5 file, its three Parquet tables and, in a
batch, its partition of the Parquet dataset) is written under temporary
names and renamed into place together (:func:`lmcoinc.io.atomic.atomic_outputs`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from ..checks import check_output_dir
from ..errors import OutputError
from .atomic import atomic_outputs, is_write_error, write_error_text
from .dataset import TABLES as DATASET_TABLES
from .dataset import normalize, partition_file
from .hdf5 import describe_error
from .hdf5_image import HDF5Image, open_output

__all__ = [
    "TABLES",
    "BlockTable",
    "DatasetPartition",
    "hdf5_node",
    "output_names",
    "to_structured",
    "write_hdf5_tables",
    "write_subrun_files",
]

#: HDF5 node of each of the reference's output tables; others go to /coincidence/<name>.
TABLES = {
    "events": ("/events", "parameters"),
    "feature": ("/coincidence", "feature"),
    "profile": ("/coincidence", "profile"),
}


def hdf5_node(table: str) -> tuple[str, str]:
    """(group, name) of an output table in the HDF5 file."""
    return TABLES.get(table, ("/coincidence", table))


@dataclass(frozen=True)
class DatasetPartition:
    """A subrun's partition of the night's Parquet dataset (``lmcoinc batch``).

    Attributes
    ----------
    root : pathlib.Path
        The batch output directory (the dataset is under ``root/parquet``).
    obs_id, subrun : int
        The LST-1 run and subrun (the hive keys); ``obs_id`` None until known.
    magic_tel_ids : sequence of int
        The MAGIC telescopes of the config (a profile column each).
    """

    root: Path
    obs_id: int | None
    subrun: int
    magic_tel_ids: Sequence[int]

    def paths(self) -> dict[str, Path]:
        """Table name → final path, keyed ``dataset:<table>``."""
        if self.obs_id is None:
            raise ValueError("the partition's obs_id is not known yet")
        return {
            f"dataset:{table}": partition_file(self.root, table, self.obs_id, self.subrun)
            for table in DATASET_TABLES
        }


def output_names(
    lst_file: Path, output_dir: Path, tables: Sequence[str] = tuple(TABLES)
) -> dict[str, Path]:
    """Output paths: the reference's HDF5 name ("LST" → "MAGIC_LST") and a Parquet file
    per table (``<stem>.<table>.parquet``)."""
    name = Path(lst_file).name.replace("LST", "MAGIC_LST")
    stem = name[:-3] if name.endswith(".h5") else name
    out = {"hdf5": Path(output_dir) / name}
    out.update({table: Path(output_dir) / f"{stem}.{table}.parquet" for table in tables})
    return out


def to_structured(frame: pl.DataFrame) -> np.ndarray:
    """A polars frame as a numpy structured array (nulls as NaN)."""
    columns = {}
    for name in frame.columns:
        col = frame[name]
        if col.null_count():
            col = col.cast(pl.Float64).fill_null(np.nan)
        columns[name] = col.to_numpy()
    dtype = np.dtype([(name, arr.dtype) for name, arr in columns.items()])
    out = np.empty(frame.height, dtype=dtype)
    for name, arr in columns.items():
        out[name] = arr
    return out


class BlockTable(Protocol):
    """A table written a block of rows at a time (e.g. :class:`lmcoinc.stereo.StereoEvents`)."""

    height: int

    def iter_blocks(self) -> Iterator[pl.DataFrame]:
        """The rows, block by block (at least one block)."""


Table = pl.DataFrame | BlockTable


def _blocks(table: Table) -> Iterator[pl.DataFrame]:
    return iter([table]) if isinstance(table, pl.DataFrame) else table.iter_blocks()


def write_hdf5_tables(output: Path | HDF5Image, tables_: dict[str, Table]) -> None:
    """Write the tables as plain PyTables tables (readable by ``pandas.read_hdf``)."""
    with open_output(output) as handle:
        for name, table in tables_.items():
            group, node = hdf5_node(name)
            blocks = _blocks(table)
            first = to_structured(next(blocks))
            out = handle.create_table(group, node, createparents=True, obj=first)
            for block in blocks:
                out.append(to_structured(block).astype(first.dtype, copy=False))


def _write_parquet(table: Table, path: Path, normal: Callable | None = None) -> None:
    """Write a table to Parquet (zstd); block tables of several blocks row group by row group.

    A table of one block is written by polars in one go, as a frame is.
    """
    blocks = _blocks(table)
    first = next(blocks)
    second = next(blocks, None)
    normal = normal or (lambda frame: frame)
    if second is None:
        normal(first).write_parquet(path, compression="zstd", statistics=True)
        return
    import pyarrow.parquet as pq

    batch = normal(first).to_arrow()
    with pq.ParquetWriter(path, batch.schema, compression="zstd") as writer:
        for block in (first, second, *blocks):
            writer.write_table(normal(block).to_arrow().cast(batch.schema))


def write_subrun_files(
    finals: dict[str, Path],
    tables_: dict[str, Table],
    extra: Callable[[Path], None] | None = None,
    dataset: DatasetPartition | None = None,
    parquet_tables: dict[str, Table] | None = None,
) -> dict[str, Path]:
    """Write the HDF5 and Parquet outputs of one subrun atomically.

    Parameters
    ----------
    finals : dict
        Final paths, from :func:`output_names` (a Parquet file per table).
    tables_ : dict
        The tables of the HDF5 file ("events", "feature", "profile", ...).
    extra : callable, optional
        Called with the HDF5 output (an :class:`~lmcoinc.io.hdf5_image.HDF5Image`,
        built in memory and written at the end) to add content (subarray, images).
    dataset : DatasetPartition, optional
        Also write the tables, in the dataset's schema, to this partition.
    parquet_tables : dict, optional
        The tables of the Parquet files when they differ from ``tables_``.

    Returns
    -------
    dict
        Every file written: ``finals`` plus the dataset files.

    Raises
    ------
    OutputError
        If a file cannot be written (the cause named: "no space left on device").
    """
    from tables.exceptions import HDF5ExtError

    check_output_dir(next(iter(finals.values())).parent, finals.values())
    finals = dict(finals)
    if dataset is not None:
        finals.update(dataset.paths())
    with atomic_outputs(finals) as temps:
        current = "hdf5"  # the output being written, for the message
        try:
            with HDF5Image(temps["hdf5"]) as hdf5:
                write_hdf5_tables(hdf5, tables_)
                if extra is not None:
                    extra(hdf5)
                hdf5.save()
            for name, table in (parquet_tables or tables_).items():
                current = name
                _write_parquet(table, temps[name])
                if dataset is not None and name in DATASET_TABLES:
                    current = f"dataset:{name}"
                    _write_parquet(table, temps[current],
                                   partial(normalize, name, magic_tel_ids=dataset.magic_tel_ids))
        except (OSError, HDF5ExtError, pl.exceptions.ComputeError) as err:
            if not (is_write_error(err) or isinstance(err, HDF5ExtError)):
                raise
            cause = write_error_text(err) if is_write_error(err) else describe_error(err)
            raise OutputError(f"{finals[current]}: cannot write ({cause})") from None
    return finals
