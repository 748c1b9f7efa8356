"""Tables created by the real writers, then filled with simulated rows at once.

To stay fast, a real writer only writes a first (template) row, which creates
the table with its schema, attributes and filters; the table is then emptied
and the simulated rows are appended as structured arrays of the same dtype.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

__all__ = ["CHUNK_ROWS", "append_columns", "template_table"]

#: rows appended at a time
CHUNK_ROWS = 100_000


def template_table(
    writer: Any, group: str, table_name: str, containers: list[Any]
) -> tuple[Any, np.void]:
    """Create a table with the real writer (one template row), then empty it.

    Returns the PyTables table ``/{group}/{table_name}`` and the template row
    (used for the columns that the simulation does not fill).
    """
    level = writer.log.level
    writer.log.setLevel(logging.ERROR)  # "Found duplicated column ..." as in every lstchain run
    try:
        writer.write(table_name=table_name, containers=containers)
    finally:
        writer.log.setLevel(level)
    table = writer.h5file.get_node(f"/{group}/{table_name}")
    table.flush()
    template = table[0]
    table.truncate(0)
    return table, template


def append_columns(
    table: Any, template: np.void, cols: dict[str, np.ndarray], n: int, chunk: int = CHUNK_ROWS
) -> None:
    """Append ``n`` rows given as column arrays; missing columns repeat the template value."""
    unknown = set(cols) - set(table.colnames)
    if unknown:
        raise KeyError(f"columns not in table {table._v_pathname}: {sorted(unknown)}")
    dtype = table.dtype
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = np.empty(stop - start, dtype=dtype)
        for name in dtype.names:
            if name in cols:
                rows[name] = cols[name][start:stop]
            else:
                rows[name] = template[name]
        table.append(rows)
    table.flush()
