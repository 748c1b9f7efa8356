"""The shape of the package: stages as packages whose imports only go down, no import cycle,
small modules and functions, no private names across modules, no heavy import on the run path,
and a test file for every module with logic of its own."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lmcoinc

PACKAGE = Path(lmcoinc.__file__).parent
TESTS = Path(__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_TOP_LEVEL_MODULES = 6


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_shape(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES, node.name
        if isinstance(node, ast.ImportFrom) and (node.level or "lmcoinc" in (node.module or "")):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"imports private names {private}"


def test_few_modules_beside_the_stages() -> None:
    """The top level holds the stages as packages and a few modules every stage may use."""
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, package_dir: Path = PACKAGE) -> set[str]:
    """The lmcoinc modules a module imports anywhere: at the top, in functions, in any
    branch (``TYPE_CHECKING`` ones too)."""
    name = module_name(path, package_dir)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            candidates = [target, *(f"{target}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found.update(c for c in candidates if c.startswith("lmcoinc") and c != name)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module → the package's modules it imports."""
    names = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    return {name: imports(path, package) & set(names) for name, path in names.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_a_cycle_through_a_function_local_import_is_found(tmp_path) -> None:
    """The check is not vacuous: a package whose modules import each other, one of them
    inside a function, has a cycle."""
    package = tmp_path / "lmcoinc"
    (package / "stage").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "stage" / "__init__.py").write_text("from .low import f\n")
    (package / "stage" / "low.py").write_text("def f():\n    from ..high import g\n")
    (package / "high.py").write_text("from .stage import f\n\ndef g():\n    pass\n")
    graph = import_graph(package)
    assert graph["lmcoinc.stage.low"] == {"lmcoinc.high"}
    assert cycles(graph) == [{"lmcoinc.high", "lmcoinc.stage", "lmcoinc.stage.low"}]


def test_no_import_cycle_counting_imports_in_functions() -> None:
    graph = import_graph()
    assert sum(len(v) for v in graph.values()) > 200  # the graph is read, not empty
    assert cycles(graph) == []


def test_the_layers_of_the_import_linter_contract() -> None:
    """``lint-imports`` (pyproject.toml's contract) keeps the stages' imports downward."""
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([lint, "--no-cache"], capture_output=True, text=True,
                          cwd=PACKAGE.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout


def test_run_path_imports_neither_lstchain_nor_ctapipe_nor_pyarrow(good, tmp_path) -> None:
    """`lmcoinc run` imports neither lstchain nor ctapipe (without a subarray:
    tests/integration/test_extras.py), and writes its Parquet files without pyarrow
    (~45 MB and ~0.2 s to import)."""
    code = (
        "import sys\n"
        "from lmcoinc.cli import app\n"
        "app(['run', '-l', sys.argv[1], '-m', sys.argv[2], '-o', sys.argv[3]],\n"
        "    standalone_mode=False)\n"
        "heavy = {'lstchain', 'ctapipe', 'pyarrow'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    lst = next((good / "lst").glob("*.h5"))
    proc = subprocess.run([sys.executable, "-c", code, str(lst), str(good / "magic"),
                           str(tmp_path)], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stderr[-2000:]
    assert (tmp_path / lst.name.replace("LST", "MAGIC_LST")).is_file()
    assert len(list(tmp_path.glob("*.parquet"))) == 3


def test_batch_and_its_workers_import_no_pyarrow(good, tmp_path) -> None:
    """Nor does `lmcoinc batch`, in the parent or in a worker (their ``-X importtime``)."""
    code = (
        "import sys\n"
        "from lmcoinc.cli import app\n"
        "app(['batch', '-l', sys.argv[1], '-m', sys.argv[2], '-o', sys.argv[3], '-j', '2'],\n"
        "    standalone_mode=False)\n"
    )
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, str(good / "lst"),
                           str(good / "magic"), str(tmp_path)], capture_output=True, text=True,
                          check=True)
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")]
    assert imported.count("polars") >= 2  # the imports of a worker are there too
    assert [m for m in imported if m.split(".")[0] == "pyarrow"] == []
    assert list((tmp_path / "parquet" / "events").glob("*/*/*.parquet"))


#: Modules with logic of their own but no test file of their own, and why.
WITHOUT_TESTS = {
    # one frozen dataclass of inputs (and a label for messages); every pairing test builds it
    "pairing/inputs.py",
}


def expected_test_file(module: Path, package: Path = PACKAGE, tests: Path = TESTS) -> Path | None:
    """Where the unit tests of a module are: ``tests/<package path>/test_<module>.py``,
    ``test_package.py`` for an ``__init__.py`` and ``test_main.py`` for a ``__main__.py``
    with logic of their own; None for those without (a ``__main__.py`` that only calls,
    an ``__init__.py`` that only re-exports)."""
    relative = module.relative_to(package)
    if module.name in ("__init__.py", "__main__.py"):
        tree = ast.parse(module.read_text())
        logic = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        if not any(isinstance(node, logic) for node in tree.body):
            return None
        name = "test_package.py" if module.name == "__init__.py" else "test_main.py"
        return tests / relative.parent / name
    return tests / relative.parent / f"test_{module.name}"


def missing_tests(package: Path = PACKAGE, tests: Path = TESTS,
                  allowed: set[str] = WITHOUT_TESTS) -> list[str]:
    """The modules of the package with logic and without their test file."""
    missing = []
    for module in sorted(package.rglob("*.py")):
        expected = expected_test_file(module, package, tests)
        name = str(module.relative_to(package))
        if expected is not None and not expected.is_file() and name not in allowed:
            missing.append(f"{name} (expected {expected.relative_to(tests.parent)})")
    return missing


def test_every_module_with_logic_has_its_test_file() -> None:
    """tests/ mirrors the package."""
    assert missing_tests() == []
    stale = [m for m in WITHOUT_TESTS if not (PACKAGE / m).is_file()
             or expected_test_file(PACKAGE / m).is_file()]
    assert stale == []  # the allow-list names only modules that still need it


def test_a_module_without_its_test_file_is_found(tmp_path) -> None:
    package, tests = tmp_path / "lmcoinc", tmp_path / "tests"
    for path, text in [
        ("lmcoinc/__init__.py", "def public():\n    pass\n"),
        ("lmcoinc/__main__.py", "print()\n"),
        ("lmcoinc/stage/__init__.py", "from .tested import f\n__all__ = ['f']\n"),
        ("lmcoinc/stage/tested.py", "def f():\n    pass\n"),
        ("lmcoinc/stage/untested.py", "def g():\n    pass\n"),
        ("lmcoinc/stage/excused.py", "X = 1\n"),
        ("tests/stage/test_tested.py", ""),
    ]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    assert missing_tests(package, tests, {"stage/excused.py"}) == [
        "__init__.py (expected tests/test_package.py)",
        "stage/untested.py (expected tests/stage/test_untested.py)",
    ]
