"""A night of LST-1 subruns with one MAGIC directory: ``lmcoinc batch``.

:func:`run_batch` (:mod:`.runner`) finds the subruns (:mod:`.discovery`),
caches the MAGIC events once (:mod:`.cache`, :mod:`.cache_runs`), runs one
task per subrun (:mod:`.task`) in this process, worker processes
(:mod:`.workers`) or on Dask (:mod:`.executors`, :mod:`.dask_client`, a
cluster it starts: :mod:`.cluster`), resumes what an earlier
batch completed (:mod:`.records`), runs weak subruns again with what the
night teaches (:mod:`.run_model`, :mod:`.night`, :mod:`.redo`), holds the
output directory (:mod:`.lock`) and writes the summary (:mod:`.summary`).

The names below are imported on first use: ``lmcoinc.batch.workers`` imports
neither polars nor the pipeline, so that a batch can start its worker
processes before it imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "LST_GLOB",
    "STATUSES",
    "BatchReporter",
    "BatchResult",
    "LstSelection",
    "find_lst_files",
    "run_batch",
    "subrun_ids",
]

if TYPE_CHECKING:  # pragma: no cover
    from .discovery import LST_GLOB, LstSelection, find_lst_files, subrun_ids
    from .runner import BatchReporter, BatchResult, run_batch
    from .summary import STATUSES

#: Where each public name is defined.
_PUBLIC = {
    "LST_GLOB": "discovery",
    "LstSelection": "discovery",
    "find_lst_files": "discovery",
    "subrun_ids": "discovery",
    "BatchReporter": "runner",
    "BatchResult": "runner",
    "run_batch": "runner",
    "STATUSES": "summary",
}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'lmcoinc.batch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
