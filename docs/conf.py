"""Sphinx configuration of the lmcoinc documentation (``make docs``)."""

from __future__ import annotations

import sys
from pathlib import Path

import lmcoinc

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "lmcoinc"
author = "lmcoinc developers"
copyright = "lmcoinc developers"  # noqa: A001 - Sphinx's name
version = release = lmcoinc.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_click",
    "myst_nb",
    "lmcoinc_tables",
]

# Pages in MyST Markdown; notebooks as jupytext percent-format scripts (notebook_night.py),
# executed at build.
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb",
                 ".py": "myst-nb"}
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "auto"
nb_execution_raise_on_error = True
nb_execution_timeout = 600

exclude_patterns = ["_build", "_ext", "conf.py", "jupyter_execute", "**.ipynb_checkpoints"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "show-inheritance": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_xref_param_type = False
# numpydoc reads "optional", "or", types: not references to check
nitpicky = False

intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

html_theme = "pydata_sphinx_theme"
html_title = f"lmcoinc {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
}
html_static_path = ["_static"]
html_css_files = ["lmcoinc.css"]
# one level of pages: no left sidebar, the tables get its width
html_sidebars: dict[str, list[str]] = {"**": []}
