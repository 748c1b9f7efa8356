"""Output of a subrun: the HDF5 file read by magic-cta-pipe's next steps, and Parquet.

Everything of one subrun (the HDF5 file and its Parquet tables: beside it for
``run``, the subrun's partition of the night's dataset for ``batch``) is
written by a :class:`SubrunWriter`: under temporary names, renamed into place
together when it commits (:func:`lmcoinc.io.atomic.atomic_outputs`). Its
caller produces each table once, a block of rows at a time, and every block
goes to both files that hold the table; every file carries the provenance
(:mod:`.provenance`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import polars as pl

from ..errors import OutputError
from .atomic import atomic_outputs, is_write_error, write_error_text
from .columns import PARQUET_ONLY
from .dataset import partition_file
from .hdf5 import describe_error
from .hdf5_image import HDF5Image
from .parquet import ParquetStream, parquet_frame
from .provenance import hdf5_attributes

__all__ = [
    "TABLES",
    "DatasetPartition",
    "SubrunWriter",
    "TableWriter",
    "hdf5_node",
    "output_names",
    "parquet_frames",
    "to_structured",
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
    """

    root: Path
    obs_id: int | None
    subrun: int


def output_names(
    lst_file: Path, output_dir: Path, tables: Sequence[str] = tuple(TABLES),
    dataset: DatasetPartition | None = None,
) -> dict[str, Path]:
    """Output paths: the reference's HDF5 name ("LST" → "MAGIC_LST") and a Parquet file
    per table: ``<stem>.<table>.parquet`` beside it (``run``), or the table's partition
    of ``dataset`` (``batch``: its Parquet tables are in the dataset only)."""
    name = Path(lst_file).name.replace("LST", "MAGIC_LST")
    stem = name[:-3] if name.endswith(".h5") else name
    out = {"hdf5": Path(output_dir) / name}
    if dataset is None:
        out.update({table: Path(output_dir) / f"{stem}.{table}.parquet" for table in tables})
        return out
    if dataset.obs_id is None:
        raise ValueError("the partition's obs_id is not known yet")
    out.update({table: partition_file(dataset.root, table, dataset.obs_id, dataset.subrun)
                for table in tables})
    return out


def to_structured(frame: pl.DataFrame, exclude: Sequence[str] = ()) -> np.ndarray:
    """A polars frame as a numpy structured array (nulls as NaN), but the columns
    ``exclude``."""
    columns = {}
    for col in frame.get_columns():
        if col.name in exclude:
            continue
        if col.null_count():
            col = col.cast(pl.Float64).fill_null(np.nan)
        columns[col.name] = col.to_numpy()
    dtype = np.dtype([(name, arr.dtype) for name, arr in columns.items()])
    out = np.empty(frame.height, dtype=dtype)
    for name, arr in columns.items():
        out[name] = arr
    return out


def parquet_frames(tables_: dict[str, pl.DataFrame], magic_tel_ids: Sequence[int] = ()
                   ) -> dict[str, pl.DataFrame]:
    """The tables as their Parquet files hold them (the same schema), in memory."""
    return {name: parquet_frame(name, frame, magic_tel_ids) for name, frame in tables_.items()}


class _Hdf5Sink:
    """A table of an HDF5 file (:meth:`~.hdf5_image.HDF5Image.add_table`), its type that of
    the first block; the Parquet-only columns (:data:`~.columns.PARQUET_ONLY`) are left out."""

    key = "hdf5"

    def __init__(self, image: HDF5Image, name: str) -> None:
        self.image, self.name, self.rows = image, name, None
        self.drop = PARQUET_ONLY.get(name, ())

    def write(self, block: pl.DataFrame) -> None:
        data = to_structured(block, exclude=self.drop)
        if self.rows is None:
            self.rows = self.image.add_table(*hdf5_node(self.name), data.dtype)
        self.rows.append(data)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class _ParquetSink:
    """A Parquet file (zstd) of a table in the Parquet schema (:mod:`.parquet`), built in
    memory block by block (:class:`~.parquet.ParquetStream`); :meth:`save` writes it.

    Held until the HDF5 file is written, so that the outputs reach the disk in the
    order of their importance (and a full disk is reported on the HDF5 file first).
    """

    def __init__(self, path: Path, table: str, magic_tel_ids: Sequence[int],
                 provenance: str | None) -> None:
        self.path, self.key = path, table
        self.magic_tel_ids = magic_tel_ids
        self.buffer = io.BytesIO()
        self.stream = ParquetStream(self.buffer, table, provenance)

    def write(self, block: pl.DataFrame) -> None:
        self.stream.write(parquet_frame(self.key, block, self.magic_tel_ids))

    def close(self) -> None:
        self.stream.close()

    def abort(self) -> None:
        """Give the file up (its table was not completed)."""
        self.stream.abort()

    def save(self) -> None:
        """Write the file (plain writes: their errors are raised) and free its memory."""
        with open(self.path, "wb") as out:
            out.write(self.buffer.getbuffer())
        self.buffer = io.BytesIO()


def _cannot_write(path: Path, error: BaseException) -> BaseException:
    """The error to raise for a failed write of ``path``: an :class:`OutputError` naming
    the file and the cause ("no space left on device") if the write failed, else ``error``."""
    if is_write_error(error):
        cause = write_error_text(error)
    elif _is_hdf5_error(error):
        cause = describe_error(error)
    else:
        return error
    return OutputError(f"{path}: cannot write ({cause})")


def _is_hdf5_error(error: BaseException | None) -> bool:
    from tables.exceptions import HDF5ExtError

    return isinstance(error, HDF5ExtError)


class TableWriter:
    """One table of a subrun on its way to its files (:meth:`SubrunWriter.table`): each
    block given to :meth:`write` goes to every file that holds the table."""

    def __init__(self, name: str, sinks: list, finals: dict[str, Path]) -> None:
        self.name, self.sinks, self.finals, self.blocks = name, sinks, finals, 0

    def write(self, block: pl.DataFrame) -> None:
        """Add the rows of ``block`` (the blocks of a table share their columns)."""
        for sink in self.sinks:
            try:
                sink.write(block)
            except (OSError, pl.exceptions.ComputeError) as err:
                raise _cannot_write(self.finals[sink.key], err) from None
        self.blocks += 1

    def close(self) -> None:
        """End the table (its Parquet file complete in memory, saved by the commit)."""
        if not self.blocks:
            raise ValueError(f"table {self.name}: no block written")
        for sink in self.sinks:
            try:
                sink.close()
            except OSError as err:
                raise _cannot_write(self.finals[sink.key], err) from None

    def abort(self) -> None:
        """Give the table up (an error while it was produced): its files are not written."""
        for sink in self.sinks:
            sink.abort()


class SubrunWriter:
    """The output files of one subrun, written together or not at all.

    Use it as a context manager; within it, give each table to :meth:`table`
    (or :meth:`write_table`) block by block, add what else the HDF5 file
    holds to :meth:`hdf5_image`, and :meth:`commit`. Until then everything is
    in memory or under temporary names (:func:`~.atomic.atomic_outputs`): the
    HDF5 file is an :class:`~.hdf5_image.HDF5Image`, each Parquet file a
    buffer. The commit writes the HDF5 file first, then the Parquet files in
    the order of ``finals``, then renames them all into place. Leaving the
    block by an error, or without committing, removes every temporary file
    and leaves the final paths as they were.

    Parameters
    ----------
    finals : dict
        Final paths, from :func:`output_names`: "hdf5" and a Parquet file per
        table (beside it, or a dataset partition).
    magic_tel_ids : sequence of int
        The MAGIC telescopes of the config (the profile's Parquet columns).
    provenance : dict, optional
        The provenance document (:func:`lmcoinc.io.provenance.provenance`): HDF5
        root attributes and Parquet key-value metadata.

    Raises
    ------
    OutputError
        If a file cannot be written ("<path>: cannot write (no space left on
        device)"), from the call that fails or on leaving the block (a failed
        write into :meth:`hdf5_image` names the HDF5 file).

    Examples
    --------
    >>> with SubrunWriter(output_names(lst_file, out_dir)) as out:  # doctest: +SKIP
    ...     with out.table("events") as events:
    ...         for block in blocks:
    ...             events.write(block)
    ...     out.write_table("feature", feature)
    ...     out.write_table("profile", profile)
    ...     written = out.commit()
    """

    def __init__(self, finals: dict[str, Path], *, magic_tel_ids: Sequence[int] = (),
                 provenance: dict[str, Any] | None = None) -> None:
        self.finals, self.magic_tel_ids, self.provenance = finals, magic_tel_ids, provenance
        self._text = None if provenance is None else json.dumps(provenance)
        self._stack = ExitStack()
        self._image: HDF5Image | None = None
        self._temps: dict[str, Path] = {}
        self._parquet: dict[str, _ParquetSink] = {}
        self._hdf5_tables: set[str] = set()
        self._tables_done = self._committed = False

    def __enter__(self) -> SubrunWriter:
        self._temps = self._stack.enter_context(atomic_outputs(self.finals))
        self._image = self._stack.enter_context(HDF5Image(self._temps["hdf5"]))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if error is None:
            if not self._committed:  # nothing is written: the temporary files are removed
                self._stack.__exit__(_NotCommitted, _NotCommitted(), None)
            return
        self._stack.__exit__(kind, error, traceback)  # the temporary files are removed
        if isinstance(error, OSError | pl.exceptions.ComputeError) or _is_hdf5_error(error):
            found = _cannot_write(self.finals["hdf5"], error)  # a write into the HDF5 image
            if found is not error:
                raise found from None

    @contextmanager
    def table(self, name: str, *, hdf5: bool = True, parquet: bool = True
              ) -> Iterator[TableWriter]:
        """A table to write block by block (at least one block): to the HDF5 file (node
        :func:`hdf5_node`, before :meth:`hdf5_image`) and to its Parquet file
        ``finals[name]``, each file receiving a table once.

        The HDF5 table leaves out the Parquet-only columns; the Parquet file has
        the Parquet schema (:func:`~.parquet.parquet_frame`) and each column's unit
        and description. The table is complete when the ``with`` block ends.
        """
        if hdf5 and (name in self._hdf5_tables or self._tables_done):
            raise ValueError(f"table {name}: written to the HDF5 file already, or after its "
                             "tables were ended (hdf5_image)")
        if parquet and (name not in self.finals or name in self._parquet):
            raise ValueError(f"table {name}: no Parquet file for it, or written already")
        sinks: list = []
        if hdf5:
            sinks.append(_Hdf5Sink(self._output(), name))
            self._hdf5_tables.add(name)
        if parquet:
            self._parquet[name] = _ParquetSink(self._temps[name], name, self.magic_tel_ids,
                                               self._text)
            sinks.append(self._parquet[name])
        writer = TableWriter(name, sinks, self.finals)
        try:
            yield writer
            writer.close()
        except BaseException:
            writer.abort()
            raise

    def write_table(self, name: str, frame: pl.DataFrame, *, hdf5: bool = True,
                    parquet: bool = True) -> None:
        """Write a table held in one frame (:meth:`table`, one block)."""
        with self.table(name, hdf5=hdf5, parquet=parquet) as table:
            table.write(frame)

    def hdf5_image(self) -> HDF5Image:
        """The HDF5 file, to add to it after its tables (the subarray, images) with the
        writers of :mod:`lmcoinc.io`.

        The first call ends the HDF5 tables; the provenance attributes are written
        with them when the file is saved.
        """
        image = self._output()
        if not self._tables_done:
            self._tables_done = True
            if self.provenance is not None:
                image.set_attributes(hdf5_attributes(self.provenance, self._text))
        return image

    def commit(self) -> dict[str, Path]:
        """Write the HDF5 file, then the Parquet files, and rename them all into place.

        Returns
        -------
        dict
            Every file written: ``finals``.
        """
        missing = [key for key in self.finals if key != "hdf5" and key not in self._parquet]
        if missing:
            raise ValueError(f"tables not written: {', '.join(missing)}")
        self.hdf5_image().save()
        for key in self.finals:
            if key in self._parquet:
                try:
                    self._parquet.pop(key).save()
                except OSError as err:
                    raise _cannot_write(self.finals[key], err) from None
        self._stack.close()  # the renames
        self._committed = True
        return self.finals

    def _output(self) -> HDF5Image:
        if self._image is None:
            raise RuntimeError("SubrunWriter used outside its with block")
        return self._image


class _NotCommitted(Exception):
    """Leaving a :class:`SubrunWriter` without committing: its outputs are discarded."""

