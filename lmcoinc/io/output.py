"""Output: the HDF5 file read by magic-cta-pipe's next steps, and Parquet tables.

Everything of one subrun is written under temporary names in the output
directory and renamed into place at the end, so that a failure or an
interruption leaves no partial output and keeps an earlier complete one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import OutputError

__all__ = [
    "TABLES",
    "atomic_outputs",
    "output_names",
    "to_structured",
    "write_hdf5_tables",
    "write_parquet_tables",
]

#: HDF5 node of each output table.
TABLES = {
    "events": ("/events", "parameters"),
    "feature": ("/coincidence", "feature"),
    "profile": ("/coincidence", "profile"),
}


def output_names(lst_file: Path, output_dir: Path) -> dict[str, Path]:
    """Output paths: the reference's HDF5 name ("LST" → "MAGIC_LST") and Parquet."""
    name = Path(lst_file).name.replace("LST", "MAGIC_LST")
    stem = name[:-3] if name.endswith(".h5") else name
    out = {"hdf5": output_dir / name}
    out.update({table: output_dir / f"{stem}.{table}.parquet" for table in TABLES})
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


def write_hdf5_tables(path: Path, tables_: dict[str, pl.DataFrame]) -> None:
    """Write the tables as plain PyTables tables (readable by ``pandas.read_hdf``)."""
    import tables

    with tables.open_file(str(path), mode="w") as handle:
        for name, frame in tables_.items():
            group, table = TABLES[name]
            handle.create_table(group, table, createparents=True, obj=to_structured(frame))


def write_parquet_tables(paths: dict[str, Path], tables_: dict[str, pl.DataFrame]) -> None:
    """Write each table to its Parquet file (zstd)."""
    for name, frame in tables_.items():
        frame.write_parquet(paths[name], compression="zstd", statistics=True)


@contextmanager
def atomic_outputs(finals: dict[str, Path]) -> Iterator[dict[str, Path]]:
    """Yield temporary paths for ``finals``; rename them all into place on success.

    On any exception (including KeyboardInterrupt) the temporary files are
    removed and the final paths are left untouched.
    """
    directory = next(iter(finals.values())).parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{directory}: cannot create output directory ({err.strerror})") from None
    if not os.access(directory, os.W_OK):
        raise OutputError(f"{directory}: output directory is not writable")
    token = uuid.uuid4().hex[:8]
    temps = {k: p.with_name(f".{p.name}.{token}.tmp") for k, p in finals.items()}
    try:
        yield temps
        for key, temp in temps.items():
            os.replace(temp, finals[key])
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        raise


def write_outputs(
    finals: dict[str, Path],
    tables_: dict[str, pl.DataFrame],
    extra: Callable[[Path], None] | None = None,
) -> None:
    """Write the HDF5 and Parquet outputs of one subrun atomically.

    Parameters
    ----------
    finals : dict
        Final paths, from :func:`output_names`.
    tables_ : dict
        "events", "feature" and "profile" frames.
    extra : callable, optional
        Called with the temporary HDF5 path to add content (subarray, images).
    """
    with atomic_outputs(finals) as temps:
        try:
            write_hdf5_tables(temps["hdf5"], tables_)
            if extra is not None:
                extra(temps["hdf5"])
            write_parquet_tables(temps, tables_)
        except OSError as err:
            raise OutputError(f"{finals['hdf5'].parent}: cannot write output ({err})") from None
