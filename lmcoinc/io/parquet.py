"""The Parquet form of the output tables: one schema, self-describing columns.

:func:`parquet_frame` gives a table the schema every Parquet output of
lmcoinc has, for ``run``'s files and ``batch``'s dataset alike: integers as
Int64 (ids that may be missing, :data:`~.columns.INTEGER_IDS`, as nullable
Int64 instead of the HDF5 tables' float NaN), floats as Float64, and the
profile with a column for every MAGIC telescope of the config (null where a
telescope was skipped). :func:`arrow_schema` puts each column's unit and
description (:mod:`.columns`) in its Arrow field metadata and the provenance
in the schema's metadata; :func:`write_parquet` writes a table so, with the
provenance in the file's key-value metadata too, and :class:`ParquetStream`
writes one a block of rows at a time, in bounded memory.

polars writes the files (zstd level 1, statistics), given the Arrow schema as a
``nanoarrow`` schema: neither imports pyarrow, a large import that ``run`` and
``batch`` do without.
"""

from __future__ import annotations

import base64
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import nanoarrow as na
import polars as pl
from polars.io.plugins import register_io_source

from .columns import INTEGER_IDS, describe
from .provenance import KEY

__all__ = ["ROW_GROUP_ROWS", "ZSTD_LEVEL", "ParquetStream", "arrow_schema", "parquet_frame",
           "write_parquet"]

#: The largest row group of a file written by :class:`ParquetStream` or :func:`write_parquet`
#: (rows; a stereo block of :mod:`lmcoinc.stereo.events`).
ROW_GROUP_ROWS = 65_536
#: The zstd level of the files: level 1 compresses the stereo events to within 1 % of the
#: default level 3's size, in 12 % less time.
ZSTD_LEVEL = 1
#: The key-value key of the Arrow schema stored in a Parquet file.
_ARROW_SCHEMA = "ARROW:schema"
#: Arrow types of polars' export that the files store as their classic Arrow types (as
#: ``DataFrame.to_arrow`` gives them): what pyarrow reads back.
_CLASSIC_TYPES = {na.Type.STRING_VIEW: na.large_string, na.Type.BINARY_VIEW: na.large_binary}


def _parquet_type(name: str, dtype: pl.DataType) -> pl.DataType:
    """The type of a column in the Parquet schema."""
    if dtype.is_integer() or (name in INTEGER_IDS and dtype.is_numeric()):
        return pl.Int64
    if dtype.is_float():
        return pl.Float64
    return dtype


def _cast(schema: pl.Schema, name: str) -> pl.Expr:
    dtype = _parquet_type(name, schema[name])
    return pl.col(name) if dtype == schema[name] else pl.col(name).cast(dtype)


def parquet_frame(table: str, frame: pl.DataFrame,
                  magic_tel_ids: Sequence[int] = ()) -> pl.DataFrame:
    """A table in the Parquet schema of lmcoinc's outputs.

    Parameters
    ----------
    table : str
        "events", "feature", "profile", "offset_model", ...
    frame : polars.DataFrame
        The table (of one subrun), as the coincidence gives it.
    magic_tel_ids : sequence of int
        The MAGIC telescope ids of the config (a profile column each).

    Returns
    -------
    polars.DataFrame
        Integers and the ids of :data:`~.columns.INTEGER_IDS` as Int64,
        floats as Float64; the profile has ``time_offset`` and one
        ``n_coincidence_tel1{tel_id}`` column per MAGIC telescope, in that order.

    Examples
    --------
    >>> frame = pl.DataFrame({"obs_id_lst": [3265.0, None], "n": pl.Series([1, 2], dtype=pl.UInt8)})
    >>> parquet_frame("events", frame).schema
    Schema([('obs_id_lst', Int64), ('n', Int64)])
    """
    schema = frame.schema  # built once: each ``frame.schema`` builds a new one
    if table != "profile":  # only the columns of other types are cast
        casts = {c: dtype for c, old in schema.items()
                 if (dtype := _parquet_type(c, old)) != old}
        return frame.cast(casts) if casts else frame
    per_tel = [f"n_coincidence_tel1{tel_id}" for tel_id in sorted(magic_tel_ids)]
    columns = [pl.col("time_offset").cast(pl.Float64)]
    for name in per_tel:
        columns.append(pl.col(name).cast(pl.Int64) if name in schema
                       else pl.lit(None, dtype=pl.Int64).alias(name))
    others = [c for c in schema if c != "time_offset" and c not in per_tel]
    return frame.select(*columns, *(_cast(schema, c) for c in others))


def arrow_schema(table: str, schema: pl.Schema, provenance: str | None = None) -> na.Schema:
    """The Arrow schema of a table's Parquet file.

    Parameters
    ----------
    table : str
        The table (its columns' descriptions: :func:`lmcoinc.io.columns.describe`).
    schema : polars.Schema
        Its columns, in the Parquet schema (:func:`parquet_frame`).
    provenance : str, optional
        The provenance document (JSON text).

    Returns
    -------
    nanoarrow.Schema
        A struct whose fields carry ``unit`` and ``description``, whose metadata
        carries ``provenance`` under the key ``lmcoinc``; strings as ``large_string``.
    """
    fields = _fields(table, tuple(schema.items()))
    return na.Schema(na.struct(fields),
                     metadata=None if provenance is None else {KEY: provenance})


_FIELDS: dict[tuple[str, tuple], list[na.Schema]] = {}


def _fields(table: str, columns: tuple[tuple[str, pl.DataType], ...]) -> list[na.Schema]:
    """The Arrow fields of a table's columns (name, polars type), with their unit and
    description: made once per table and columns in a process."""
    key = (table, columns)
    found = _FIELDS.get(key)
    if found is None:
        found = []
        for field in na.Schema(pl.Schema(columns)).fields:
            column = describe(table, field.name)
            found.append(na.Schema(_classic(field), name=field.name, nullable=field.nullable,
                                   metadata={"unit": column.unit,
                                             "description": column.description}))
        if len(_FIELDS) >= 64:
            _FIELDS.clear()
        _FIELDS[key] = found
    return found


def _classic(field: na.Schema) -> na.Schema:
    """The type of ``field`` with string and binary views as their classic types, in
    lists too (``List(String)``: ``large_list<item: large_string>``)."""
    classic = _CLASSIC_TYPES.get(field.type)
    if classic is not None:
        return classic()
    if field.type == na.Type.LARGE_LIST:
        return na.large_list(_classic(field.value_type))
    return field


def _options(table: str, schema: pl.Schema, provenance: str | None) -> dict[str, Any]:
    """polars' Parquet writer options: zstd, statistics, the metadata.

    polars leaves the schema's metadata out of the Arrow schema it stores
    (``ARROW:schema``) when a column is nested (the summary's ``warnings``): the
    stored schema is then given, serialized as pyarrow stores it.
    """
    arrow = arrow_schema(table, schema, provenance)
    metadata = {} if provenance is None else {KEY: provenance}
    if provenance is not None and any(dtype.is_nested() for dtype in schema.dtypes()):
        metadata[_ARROW_SCHEMA] = base64.b64encode(arrow.serialize()).decode()
    return {"compression": "zstd", "compression_level": ZSTD_LEVEL, "statistics": True,
            "row_group_size": ROW_GROUP_ROWS,
            "metadata": metadata or None, "arrow_schema": arrow}


def write_parquet(target: str | Path | IO[bytes], table: str, frame: pl.DataFrame,
                  provenance: str | None = None) -> None:
    """Write ``frame`` as Parquet (zstd, statistics) with :func:`arrow_schema`'s metadata,
    and ``provenance`` in the file's key-value metadata too."""
    frame.write_parquet(target, **_options(table, frame.schema, provenance))


class _Aborted(Exception):
    """The writing of a :class:`ParquetStream` given up (:meth:`ParquetStream.abort`)."""


_END, _ABORT = object(), object()


class ParquetStream:
    """A Parquet file of a table written a block of rows at a time, in bounded memory.

    The file is :func:`write_parquet`'s. One block is written at :meth:`close`;
    from the second on, polars' streaming Parquet sink, in a thread of its own,
    takes the blocks one by one as they come (one waits at most) and writes
    row groups of at most :data:`ROW_GROUP_ROWS` rows.

    Parameters
    ----------
    target : file-like
        Where the file goes (binary, writable).
    table : str
        The table (:func:`arrow_schema`).
    provenance : str, optional
        The provenance document (JSON text).
    """

    def __init__(self, target: IO[bytes], table: str, provenance: str | None = None) -> None:
        self.target, self.table, self.provenance = target, table, provenance
        self._first: pl.DataFrame | None = None
        self._schema: pl.Schema | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def write(self, block: pl.DataFrame) -> None:
        """Add the rows of ``block`` (in the Parquet schema; the first block's types rule)."""
        if self._schema is None:
            self._first, self._schema = block, block.schema
            return
        if block.schema != self._schema:
            block = block.cast(dict(self._schema))
        if self._thread is None:
            self._start()
            first, self._first = self._first, None
            self._put(first)
        self._put(block)

    def close(self) -> None:
        """End the file: every block written.

        Raises
        ------
        ValueError
            If no block was given.
        """
        if self._schema is None:
            raise ValueError(f"table {self.table}: no block written")
        if self._thread is None:
            if self._first is not None:
                first, self._first = self._first, None
                write_parquet(self.target, self.table, first, self.provenance)
            return
        self._put(_END)
        self._thread.join()
        self._thread = None
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Give the file up (an error of the caller): stop the writing thread."""
        self._first = None
        if self._thread is None:
            return
        while True:  # the queue emptied, the writer's next block is the end
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put_nowait(_ABORT)
        self._thread.join()
        self._thread = None

    def _start(self) -> None:
        assert self._schema is not None
        schema = self._schema
        frames = register_io_source(self._blocks, schema=schema)
        options = _options(self.table, schema, self.provenance)
        self._thread = threading.Thread(target=self._sink, args=(frames, options),
                                        name=f"parquet-{self.table}", daemon=True)
        self._thread.start()

    def _sink(self, frames: pl.LazyFrame, options: dict[str, Any]) -> None:
        try:
            frames.sink_parquet(self.target, **options)
        except BaseException as err:  # raised by close(), or dropped by abort()
            self._error = err

    def _blocks(self, with_columns: list[str] | None, predicate: pl.Expr | None,
                n_rows: int | None, batch_size: int | None) -> Iterator[pl.DataFrame]:
        """The blocks as they come, for polars' sink (its projection and filter applied)."""
        while True:
            block = self._queue.get()
            if block is _END:
                return
            if block is _ABORT:
                raise _Aborted
            if with_columns is not None:
                block = block.select(with_columns)
            if predicate is not None:
                block = block.filter(predicate)
            if n_rows is not None:
                block, n_rows = block.head(n_rows), n_rows - min(n_rows, block.height)
            yield block

    def _put(self, item: object) -> None:
        """Hand ``item`` to the writing thread, waiting while it is busy (not if it failed)."""
        assert self._thread is not None
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        self._thread.join()
        self._thread = None
        raise self._error or RuntimeError(f"table {self.table}: the Parquet writer stopped")
