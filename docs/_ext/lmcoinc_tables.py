"""Tables of the docs generated from the code, so that the two cannot disagree.

``{lmcoinc-exit-codes}``: the exit codes, from :data:`lmcoinc.errors.EXIT_CODES`.
``{lmcoinc-columns} TABLE``: every column of an output table (events, feature,
profile, offset_model, offset_segments, summary, night) with its type, unit and
description. The columns are read from real outputs, written once per build by
``lmcoinc batch`` (in the default mode and in drift mode, which adds its tables
and columns) on a small simulated night; the unit and description come from each
Parquet field's metadata (``unit``, ``description``), which the code writes from
one registry (:mod:`lmcoinc.io.columns`). A column with no description is a
warning: with ``-W`` (``make docs``) the build fails.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

log = logging.getLogger(__name__)

#: table → the files of the batch output that hold it
TABLE_FILES = {
    **{table: f"parquet/{table}/**/*.parquet" for table in (
        "events", "feature", "profile", "offset_model", "offset_segments")},
    "summary": "summary.parquet", "night": "night.parquet",
}
_SCHEMAS: dict[str, pa.Schema] = {}


def exit_code_rows() -> list[list[str]]:
    """One row per exit code: code, meaning."""
    from lmcoinc.errors import EXIT_CODES

    return [[str(code), meaning] for code, meaning in sorted(EXIT_CODES.items())]


def write_outputs(root: Path) -> dict[str, Path]:
    """A small simulated night (two 2 s subruns) through ``lmcoinc batch``, in the default
    (constant) mode and in drift mode: mode → output directory."""
    from lmcoinc.config import default_config_text
    from lmcoinc.simulate import simulate_night

    night = simulate_night(root / "night", n_subruns=2, subrun_s=2.0)
    outputs = {}
    for mode in ("constant", "drift"):
        config = root / f"{mode}.yaml"
        config.write_text(default_config_text() + f"    offset_model: {mode}\n")
        outputs[mode] = root / mode
        subprocess.run([sys.executable, "-m", "lmcoinc", "batch", "-l", str(night.lst_dir),
                        "-m", str(night.magic_dir), "-o", str(outputs[mode]), "-c", str(config),
                        "-q", "--no-progress"], check=True, capture_output=True)
    return outputs


def merged_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """The fields of all schemas, in order of first appearance; a field that is all null in
    one output (a column the mode leaves empty) takes its type from another."""
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for field in schema:
            if field.name not in fields or pa.types.is_null(fields[field.name].type):
                fields[field.name] = field
    return pa.schema(list(fields.values()))


def output_schemas() -> dict[str, pa.Schema]:
    """The Parquet schema of each output table (written on first use)."""
    if not _SCHEMAS:
        with tempfile.TemporaryDirectory() as tmp:
            outputs = write_outputs(Path(tmp))
            for table, pattern in TABLE_FILES.items():
                _SCHEMAS[table] = merged_schema([pq.read_schema(files[0])
                                                 for out in outputs.values()
                                                 if (files := sorted(out.glob(pattern)))])
    return _SCHEMAS


def generic_name(name: str) -> str:
    """``offset_us_tel2`` → ``offset_us_tel{N}``, ``n_coincidence_tel12`` → ``..._tel{C}``."""
    match = re.fullmatch(r"(.*_tel)(\d+)", name)
    if match is None:
        return name
    return match[1] + ("{C}" if len(match[2]) > 1 else "{N}")


def column_rows(table: str, schema: pa.Schema) -> tuple[list, list[str]]:
    """Rows (column, type, unit, description) of a table, and the problems found."""
    rows, seen, problems = [], set(), []
    for field in schema:
        name = generic_name(field.name)
        if name in seen:
            continue
        seen.add(name)
        meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
        unit, text = meta.get("unit", ""), meta.get("description", "")
        if not text:
            problems.append(f"{table}.{name}: no description in the Parquet metadata")
        rows.append([name, str(field.type), unit, text])
    return rows, problems


def table_node(headers: list[str], rows: list[list[str]], literal_first: bool = True):
    """A docutils table."""
    table = nodes.table()
    group = nodes.tgroup(cols=len(headers))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in headers]
    head, body = nodes.thead(), nodes.tbody()
    group += [head, body]

    def row_node(cells: list[str], literal: bool) -> nodes.row:
        row = nodes.row()
        for i, cell in enumerate(cells):
            text = nodes.literal(text=cell) if literal and i == 0 and cell else nodes.Text(cell)
            row += nodes.entry("", nodes.paragraph("", "", text))
        return row

    head += row_node(headers, False)
    for cells in rows:
        body += row_node(cells, literal_first)
    return table


class ExitCodes(SphinxDirective):
    """``{lmcoinc-exit-codes}``: the table of exit codes."""

    def run(self) -> list:
        return [table_node(["code", "meaning"], exit_code_rows())]


class Columns(SphinxDirective):
    """``{lmcoinc-columns} TABLE``: the columns of an output table."""

    required_arguments = 1

    def run(self) -> list:
        table = self.arguments[0]
        rows, problems = column_rows(table, output_schemas()[table])
        for problem in problems:
            log.warning(problem, location=self.get_location())
        return [table_node(["column", "type", "unit", "description"], rows)]


def setup(app) -> dict:
    app.add_directive("lmcoinc-exit-codes", ExitCodes)
    app.add_directive("lmcoinc-columns", Columns)
    return {"parallel_read_safe": True, "version": "1"}
