"""The documentation: tables generated from the code, a short README that links into the site.

The site itself is built by ``make docs`` (warnings are errors), which CI runs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from lmcoinc.errors import EXIT_CODES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytest.importorskip("sphinx")
sys.path.insert(0, str(DOCS / "_ext"))
import lmcoinc_tables  # noqa: E402


def test_exit_code_table_is_the_codes_list() -> None:
    assert lmcoinc_tables.exit_code_rows() == [[str(c), m] for c, m in sorted(EXIT_CODES.items())]
    assert "{lmcoinc-exit-codes}" in (DOCS / "errors.md").read_text()


@pytest.mark.parametrize("path", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))],
                         ids=lambda p: p.name)
def test_no_page_writes_the_exit_codes_by_hand(path: Path) -> None:
    """A hand-written table of codes could disagree with the code (it once said 16 for 17)."""
    rows = re.findall(r"^\| *(\d+) *\|", path.read_text(), re.M)
    assert not [int(r) for r in rows if int(r) in EXIT_CODES and int(r) > 2], rows


def test_column_rows_come_from_the_parquet_metadata_and_flag_what_is_missing() -> None:
    schema = pa.schema([
        pa.field("average_offset", pa.float64(), metadata={"unit": "us", "description": "d"}),
        pa.field("offset_us_tel2", pa.float64(), metadata={"unit": "us", "description": "o"}),
        pa.field("offset_us_tel3", pa.float64(), metadata={"unit": "us", "description": "o"}),
        pa.field("mystery", pa.int64()),
    ])
    rows, problems = lmcoinc_tables.column_rows("t", schema)
    assert rows == [["average_offset", "double", "us", "d"],
                    ["offset_us_tel{N}", "double", "us", "o"],
                    ["mystery", "int64", "", ""]]
    assert problems == ["t.mystery: no description in the Parquet metadata"]


def test_generic_names() -> None:
    assert lmcoinc_tables.generic_name("n_coincidence_tel12") == "n_coincidence_tel{C}"
    assert lmcoinc_tables.generic_name("fraction_tel3") == "fraction_tel{N}"
    assert lmcoinc_tables.generic_name("tel_id") == "tel_id"


def test_merged_schema_takes_types_from_where_a_column_is_filled() -> None:
    constant = pa.schema([("a", pa.int64()), ("b", pa.null())])
    drift = pa.schema([("a", pa.int64()), ("b", pa.float64()), ("c", pa.bool_())])
    assert lmcoinc_tables.merged_schema([constant, drift]) == pa.schema(
        [("a", pa.int64()), ("b", pa.float64()), ("c", pa.bool_())])


def test_readme_is_the_door() -> None:
    """At most 150 lines; every link goes to a file of the repository; each topic has one."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert links and all((ROOT / link).is_file() for link in links), links
    topics = {"getting-started", "run", "batch", "offsets", "outputs", "report", "api", "errors",
              "cli", "methods", "performance", "architecture", "development"}
    assert {f"docs/{topic}.md" for topic in topics} <= set(links)
    for command in ("make demo", "make test"):
        assert command in readme


def test_api_page_lists_the_public_api() -> None:
    """The reference of api.md is an autosummary of every name of ``lmcoinc.__all__``."""
    import lmcoinc

    text = (DOCS / "api.md").read_text()
    listed = re.search(r"\.\. autosummary::\n(?:   :.*\n)*\n((?:   \S+\n)+)", text)
    assert listed is not None
    assert set(listed[1].split()) == set(lmcoinc.__all__) - {"__version__"}


def test_outputs_page_shows_every_table() -> None:
    text = (DOCS / "outputs.md").read_text()
    shown = set(re.findall(r"^```\{lmcoinc-columns\} (\w+)$", text, re.M))
    assert shown == set(lmcoinc_tables.TABLE_FILES)
