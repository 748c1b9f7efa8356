"""Output: the HDF5 file read by magic-cta-pipe's next steps, and Parquet tables.

Everything of one subrun is written under temporary names in the output
directory and renamed into place at the end, so that a failure or an
interruption leaves no partial output and keeps an earlier complete one.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from ..checks import check_output_dir
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
    check_output_dir(next(iter(finals.values())).parent, finals.values())
    token = uuid.uuid4().hex[:8]
    temps = {k: p.with_name(f".{p.name}.{token}.tmp") for k, p in finals.items()}
    try:
        yield temps
        _commit(temps, finals)
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        raise


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM at the OS level; they are delivered on exit."""
    hold = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, hold)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _commit(temps: dict[str, Path], finals: dict[str, Path]) -> None:
    """Rename the temporary files into place, all or none.

    SIGINT and SIGTERM are held during the renames (an interrupt arriving
    then takes effect once all outputs are complete); one that arrived
    before stops the commit (:func:`lmcoinc.signals.raise_if_interrupted`).
    If a rename fails, or an interrupt received just before still fires,
    the renames done are undone: earlier outputs come back from hard-link
    backups, new ones are removed.
    """
    from ..signals import raise_if_interrupted

    with _signals_held():
        backups: dict[str, Path] = {}
        done: list[str] = []
        try:
            raise_if_interrupted()  # an interrupt that an extension module swallowed
            for key, final in finals.items():
                if os.path.lexists(final):
                    backup = temps[key].with_suffix(".bak")
                    try:
                        os.link(final, backup)
                    except OSError:  # no hard links on this file system
                        shutil.copy2(final, backup)
                    backups[key] = backup
            for key, temp in temps.items():
                os.replace(temp, finals[key])
                done.append(key)
        except BaseException as err:
            for key in reversed(done):
                if key in backups:
                    os.replace(backups.pop(key), finals[key])
                else:
                    finals[key].unlink(missing_ok=True)
            if isinstance(err, OSError):
                raise OutputError(
                    f"{finals[next(iter(finals))].parent}: cannot rename the outputs into place "
                    f"({err.strerror or err})"
                ) from None
            raise
        finally:
            for backup in backups.values():
                backup.unlink(missing_ok=True)


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
    from tables.exceptions import HDF5ExtError

    with atomic_outputs(finals) as temps:
        try:
            write_hdf5_tables(temps["hdf5"], tables_)
            if extra is not None:
                extra(temps["hdf5"])
            write_parquet_tables(temps, tables_)
        except (OSError, HDF5ExtError) as err:  # e.g. no space left on the device
            from .hdf5 import describe_error

            raise OutputError(
                f"{finals['hdf5'].parent}: cannot write output ({describe_error(err)})"
            ) from None
