"""The Parquet form of the output tables: one schema, self-describing columns.

:func:`parquet_frame` gives a table the schema every Parquet output of
lmcoinc has, for ``run``'s files and ``batch``'s dataset alike: integers as
Int64 (ids that may be missing, :data:`~.columns.INTEGER_IDS`, as nullable
Int64 instead of the HDF5 tables' float NaN), floats as Float64, and the
profile with a column for every MAGIC telescope of the config (null where a
telescope was skipped). :func:`arrow_table` puts each column's unit and
description (:mod:`.columns`) in its Arrow field metadata and the provenance
in the file's key-value metadata; :func:`write_parquet` writes a table so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import polars as pl

from .columns import INTEGER_IDS, describe
from .provenance import KEY

__all__ = ["arrow_table", "parquet_frame", "write_parquet", "writer_options"]


def _cast(schema: pl.Schema, name: str) -> pl.Expr:
    dtype = schema[name]
    if dtype.is_integer() or (name in INTEGER_IDS and dtype.is_numeric()):
        return pl.col(name).cast(pl.Int64)
    if dtype.is_float():
        return pl.col(name).cast(pl.Float64)
    return pl.col(name)


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
    if table != "profile":
        return frame.select(_cast(schema, c) for c in schema)
    per_tel = [f"n_coincidence_tel1{tel_id}" for tel_id in sorted(magic_tel_ids)]
    columns = [pl.col("time_offset").cast(pl.Float64)]
    for name in per_tel:
        columns.append(pl.col(name).cast(pl.Int64) if name in schema
                       else pl.lit(None, dtype=pl.Int64).alias(name))
    others = [c for c in schema if c != "time_offset" and c not in per_tel]
    return frame.select(*columns, *(_cast(schema, c) for c in others))


def arrow_table(table: str, frame: pl.DataFrame, provenance: str | None = None) -> Any:
    """A ``pyarrow.Table`` of ``frame`` whose fields carry ``unit`` and ``description``
    (:func:`lmcoinc.io.columns.describe`) and whose schema carries the provenance
    document (JSON text) under the key ``lmcoinc``."""
    import pyarrow as pa

    data = frame.to_arrow()
    fields = []
    for field in data.schema:
        column = describe(table, field.name)
        fields.append(field.with_metadata({"unit": column.unit,
                                           "description": column.description}))
    metadata = None if provenance is None else {KEY: provenance}
    return pa.Table.from_arrays(data.columns, schema=pa.schema(fields, metadata=metadata))


def writer_options(schema: Any) -> dict[str, Any]:
    """Options of pyarrow's Parquet writer: zstd; dictionary encoding for the columns
    that are not floats (ids, counts, names), where it pays (on floats it costs 5× the
    time for larger files)."""
    import pyarrow.types as pt

    return {"compression": "zstd",
            "use_dictionary": [f.name for f in schema if not pt.is_floating(f.type)]}


def write_parquet(target: str | Path | IO[bytes], table: str, frame: pl.DataFrame,
                  provenance: str | None = None) -> None:
    """Write ``frame`` as Parquet (zstd, statistics) with :func:`arrow_table`'s metadata."""
    import pyarrow.parquet as pq

    data = arrow_table(table, frame, provenance)
    pq.write_table(data, target, **writer_options(data.schema))
