"""A night of LST-1 subruns with one MAGIC directory: ``lmcoinc batch``.

:func:`run_batch` (:mod:`.runner`) finds the subruns (:mod:`.discovery`),
caches the MAGIC events once (:mod:`.cache`, :mod:`.cache_runs`), runs one
task per subrun (:mod:`.task`) in this process, worker processes
(:mod:`.workers`) or on Dask (:mod:`.executors`, :mod:`.dask_client`, a
cluster it starts: :mod:`.cluster`), resumes what an earlier
batch completed (:mod:`.records`), runs weak subruns again with what the
night teaches (:mod:`.run_model`, :mod:`.night`, :mod:`.redo`), holds the
output directory (:mod:`.lock`) and writes the summary (:mod:`.summary`).
"""

from .discovery import LST_GLOB, LstSelection, find_lst_files, subrun_ids
from .runner import BatchReporter, BatchResult, run_batch
from .summary import STATUSES

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
