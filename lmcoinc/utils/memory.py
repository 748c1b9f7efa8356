"""Give memory that the process has freed back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["MALLOC_CONF", "MALLOC_CONF_RETURN", "MALLOC_CONF_WORKERS", "TRIM_BYTES",
           "release_free_memory"]

#: Free heap memory below which nothing is given back (the pages would only be faulted in
#: again by the next subrun: ~8 ms of system time for each 16 MB LST-1 file).
TRIM_BYTES = 64 * 2**20
#: The environment variable of polars' allocator (jemalloc), read as polars is imported.
MALLOC_CONF = "_RJEM_MALLOC_CONF"
#: Freed pages given back at once (the console's processes, unless set): the resident
#: memory of a merged run or of a batch's parent is that of the data held.
MALLOC_CONF_RETURN = "dirty_decay_ms:0,muzzy_decay_ms:0"
#: Freed pages kept for a second (a batch's workers): the next subrun reuses them instead of
#: faulting in new ones (given back at once: half the page faults of a night, ~0.3 s of
#: system time on 30 subruns; ~10 MB more resident per worker).
MALLOC_CONF_WORKERS = "dirty_decay_ms:1000,muzzy_decay_ms:1000"


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@functools.cache
def _libc() -> tuple:
    """glibc's ``malloc_trim`` and ``mallinfo2`` (None where absent)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None, None
    trim = getattr(libc, "malloc_trim", None)
    info = getattr(libc, "mallinfo2", None)
    if info is not None:
        info.restype = _MallInfo2
    return trim, info


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``) when they amount
    to :data:`TRIM_BYTES` or more.

    After the first pass over a large file the many freed block buffers stay
    in the heap and count in the resident memory; trimming keeps the peak
    memory that of the data kept. Less is left to the next use. Without
    glibc it does nothing; without ``mallinfo2`` (glibc < 2.33) it always trims.
    """
    trim, info = _libc()
    if trim is not None and (info is None or info().fordblks >= TRIM_BYTES):
        trim(0)
