"""Give memory that the process has freed back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release_free_memory"]


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``).

    After the first pass over a large file the many freed block buffers stay
    in the heap and count in the resident memory; trimming keeps the peak
    memory that of the data kept. Without glibc it does nothing.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
