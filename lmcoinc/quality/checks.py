"""The check made before the pairing: MAGIC events where the offset search looks.

It fails fast with a one-line message, before any pairing or output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import NoCoincidenceError

__all__ = ["check_time_overlap", "format_ns"]


def format_ns(ns: int) -> str:
    """UNIX ns as an ISO UTC time to the µs."""
    return str(np.datetime64(int(ns), "ns").astype("datetime64[us]"))


def check_time_overlap(
    t_lst: np.ndarray,
    t_magic: np.ndarray,
    magic_range: tuple[int, int] | None,
    searched: tuple[int, int, str] | None,
    lst_file: Path,
    magic_dir: Path,
) -> None:
    """Stop when no MAGIC event can fall in the time range that the coincidence searches.

    That range, the offset model's ``overlap_window`` of the LST times, is
    the LST time range widened by the window (pre-offset search), shifted by
    the scanned offsets (fixed scan range) or widened by the largest clock
    offset (drift mode). Without a MAGIC event in it every telescope would
    be skipped: the reference's "no coincident events" (exit code 3), here
    with the two time ranges.

    Parameters
    ----------
    t_lst, t_magic : numpy.ndarray
        LST and MAGIC timestamps (int64 ns).
    magic_range : (int, int) or None
        First and last timestamp of all MAGIC events (for the message); None
        when there is no MAGIC event (nothing to check).
    searched : (int, int, str) or None
        The MAGIC times searched, from the LST times' first and last, and how
        they were widened (for the message); None: nothing to check.
    lst_file, magic_dir : pathlib.Path
        The inputs (for the message).

    Raises
    ------
    NoCoincidenceError
        If there is no time overlap.
    """
    if len(t_lst) == 0 or magic_range is None or searched is None:
        return
    lo, hi, shift = searched
    lst_lo, lst_hi = int(t_lst.min()), int(t_lst.max())
    if np.any((t_magic >= lo) & (t_magic <= hi)):
        return
    raise NoCoincidenceError(
        f"no time overlap between the LST-1 file {Path(lst_file).name} "
        f"({format_ns(lst_lo)} to {format_ns(lst_hi)} UTC{shift}) and the MAGIC files in "
        f"{magic_dir} ({format_ns(magic_range[0])} to {format_ns(magic_range[1])} UTC)"
    )
