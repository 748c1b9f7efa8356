"""Checks made before the coincidence: a writable output directory, a time overlap.

Both fail fast with a one-line message, before any computation or output.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .config import CoincidenceConfig
from .errors import NoCoincidenceError, OutputError
from .offsets import scan_offsets, search_window

__all__ = ["check_output_dir", "check_time_overlap", "format_ns"]


def check_output_dir(directory: str | Path, outputs: Iterable[Path] = ()) -> None:
    """Create the output directory if needed and check that files can be created in it.

    Parameters
    ----------
    directory : path
        The output directory.
    outputs : paths
        The output files to be written there; none may be a directory.

    Raises
    ------
    OutputError
        If the directory cannot be created or written, or an output path is
        taken by a directory.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory}: output path exists and is not a directory")
    if not directory.exists():
        blocker = next((p for p in directory.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise OutputError(
                f"{directory}: cannot create output directory: {blocker} is not a directory"
            )
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(
                f"{directory}: cannot create output directory ({err.strerror or err})"
            ) from None
    # The probe's name is chosen first, so that it is removed whatever happens
    # (an interrupt may arrive between its creation and its removal).
    probe = directory / f".lmcoinc-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as err:
        raise OutputError(
            f"{directory}: output directory is not writable ({err.strerror or err})"
        ) from None
    finally:
        probe.unlink(missing_ok=True)
    for path in outputs:
        if Path(path).is_dir():
            raise OutputError(f"{path}: output file name is taken by a directory")


def format_ns(ns: int) -> str:
    """UNIX ns as an ISO UTC time to the µs."""
    return str(np.datetime64(int(ns), "ns").astype("datetime64[us]"))


def check_time_overlap(
    t_lst: np.ndarray,
    t_magic: np.ndarray,
    magic_range: tuple[int, int] | None,
    config: CoincidenceConfig,
    lst_file: Path,
    magic_dir: Path,
) -> None:
    """Stop when no MAGIC event can fall in the time range that the coincidence searches.

    That range is the LST time range widened by the window (pre-offset
    search), shifted by the scanned offsets (fixed scan range) or widened by
    the largest clock offset (drift mode). Without a
    MAGIC event in it every telescope would be skipped: the reference's
    "no coincident events" (exit code 3), here with the two time ranges.

    Parameters
    ----------
    t_lst, t_magic : numpy.ndarray
        LST and MAGIC timestamps (int64 ns).
    magic_range : (int, int) or None
        First and last timestamp of all MAGIC events (for the message); None
        when there is no MAGIC event (nothing to check).

    Raises
    ------
    NoCoincidenceError
        If there is no time overlap.
    """
    if len(t_lst) == 0 or magic_range is None:
        return
    w = config.window_half_width_ns
    lst_lo, lst_hi = int(t_lst.min()), int(t_lst.max())
    shift = ""
    if config.offset_model == "drift":
        reach = config.max_clock_offset_ns
        lo, hi = search_window(lst_lo, lst_hi, -reach, reach, w)
        shift = f" widened by max_clock_offset = {reach * 1e-9:g} s"
    elif config.pre_offset_search:
        lo, hi = search_window(lst_lo, lst_hi, 0, 0, w)
    else:
        offsets = scan_offsets(config.offset_start_ns, config.offset_stop_ns)
        if len(offsets) == 0:
            return
        lo, hi = search_window(lst_lo, lst_hi, offsets[0], offsets[-1], w)
        shift = (
            f" shifted by the scanned offsets {offsets[0] / 1000:g} to {offsets[-1] / 1000:g} us"
        )
    if np.any((t_magic >= lo) & (t_magic <= hi)):
        return
    raise NoCoincidenceError(
        f"no time overlap between the LST-1 file {Path(lst_file).name} "
        f"({format_ns(lst_lo)} to {format_ns(lst_hi)} UTC{shift}) and the MAGIC files in "
        f"{magic_dir} ({format_ns(magic_range[0])} to {format_ns(magic_range[1])} UTC)"
    )
