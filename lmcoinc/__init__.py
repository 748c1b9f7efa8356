"""lmcoinc: offline coincidence of LST-1 and MAGIC events from DL1 files.

The public API, for scripts and notebooks (what ``lmcoinc run`` and
``lmcoinc batch`` are built on):

- :func:`load_config`: the validated configuration (a YAML file, the default,
  keys overridden);
- :func:`coincide`: the coincidence of one LST-1 subrun in memory, its tables
  as polars DataFrames (:class:`Coincidence`; ``.write(out_dir)`` writes what
  ``lmcoinc run`` writes);
- :func:`scan`: a lazy polars frame over a table of any output of ``run`` or
  ``batch``;
- :func:`read_provenance`: where an output file comes from.

Errors are :class:`lmcoinc.errors.LmcoincError` subclasses. ``import lmcoinc``
stays cheap: the names above (and ``__version__``, from the installed
package's metadata) are imported on first use.

Examples
--------
>>> import lmcoinc
>>> config = lmcoinc.load_config(window_half_width="300 ns")
>>> found = lmcoinc.coincide("dl1_LST-1.Run03265.0040.h5", "dl1/MAGIC", config)  # doctest: +SKIP
>>> found.feature["average_offset"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Coincidence", "CoincidenceConfig", "__version__", "coincide", "load_config",
           "read_provenance", "scan"]

if TYPE_CHECKING:  # pragma: no cover
    from .config import CoincidenceConfig, load_config
    from .io.dataset import scan
    from .io.provenance import read_provenance
    from .pipeline import Coincidence, coincide

    __version__: str

#: Where each public name is defined.
_PUBLIC = {
    "Coincidence": "pipeline",
    "CoincidenceConfig": "config",
    "coincide": "pipeline",
    "load_config": "config",
    "read_provenance": "io.provenance",
    "scan": "io.dataset",
}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("lmcoinc")
    raise AttributeError(f"module 'lmcoinc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
