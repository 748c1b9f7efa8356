"""Coincidence of LST-1 with each MAGIC telescope: offsets, profile, pairs.

:func:`coincide_telescope` works on the int64 ns timestamps of LST-1 and one
MAGIC telescope (numpy in, numpy out); :func:`find_pairs` runs it for every
MAGIC telescope, :func:`coincidence` also builds the output tables
(:mod:`lmcoinc.tables`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace

import numpy as np

from .clock import explained_coincidence, feature_columns
from .config import CoincidenceConfig
from .errors import NoCoincidenceError
from .io.lst_events import LstEvents
from .io.magic_events import MagicEvents
from .match import coincident_pairs
from .offsets import (
    average_offset,
    coincidence_profile,
    in_range,
    pre_offset_search,
    scan_offsets,
    search_window,
)
from .tables import CoincidenceResult, build_tables
from .timing import StageTimer

__all__ = [
    "TelescopeCoincidence",
    "TelescopeSkipped",
    "coincide_telescope",
    "coincidence",
    "find_pairs",
]

log = logging.getLogger(__name__)


class TelescopeSkipped(Exception):  # noqa: N818 - an outcome, not a failure
    """A MAGIC telescope without coincidence; the message says why."""


@dataclass(frozen=True)
class TelescopeCoincidence:
    """Result of the coincidence of LST-1 with one MAGIC telescope.

    Attributes
    ----------
    pre_offset_ns : int or None
        Offset found by the pre-offset search (None when not run).
    offsets_ns, counts : numpy.ndarray
        The scanned offsets and the number of pairs at each.
    average_offset_ns : int
        Weighted average offset, where the pairs are taken.
    candidates : numpy.ndarray
        Indices of the MAGIC rows within the scanned time range.
    idx_lst, idx_magic : numpy.ndarray
        The pairs: LST rows and positions in ``candidates``.
    clock_offset_ns, geometric_delay_ns : float or None
        The clock offset and the mean light-travel delay of the pairs
        (:mod:`lmcoinc.clock`; None until computed).
    offset_source : str
        Where the offset comes from: "local", "night" or "history".
    """

    pre_offset_ns: int | None
    offsets_ns: np.ndarray
    counts: np.ndarray
    average_offset_ns: int
    candidates: np.ndarray
    idx_lst: np.ndarray
    idx_magic: np.ndarray
    clock_offset_ns: float | None = None
    geometric_delay_ns: float | None = None
    offset_source: str = "local"


def coincide_telescope(
    t_lst: np.ndarray,
    intensity_lst: np.ndarray,
    t_magic: np.ndarray,
    intensity_magic: np.ndarray,
    *,
    window_ns: int,
    pre_offset_search_events: int | None,
    offset_range_ns: tuple[int, int],
) -> TelescopeCoincidence:
    """Find the offset and the coincident pairs of LST-1 and one MAGIC telescope.

    Parameters
    ----------
    t_lst, intensity_lst : numpy.ndarray
        LST timestamps (int64 ns) and intensities in table order.
    t_magic, intensity_magic : numpy.ndarray
        The same for the MAGIC telescope.
    window_ns : int
        Coincidence window half width.
    pre_offset_search_events : int or None
        Number of bright events for the pre-offset search; None: scan
        ``offset_range_ns`` instead.
    offset_range_ns : (int, int)
        Scan range (start, stop) when there is no pre-offset search.

    Raises
    ------
    TelescopeSkipped
        With the reason why this telescope has no coincidence.
    """
    pre = None
    if pre_offset_search_events is not None:
        pre = pre_offset_search(
            t_lst, intensity_lst, t_magic, intensity_magic, window_ns, pre_offset_search_events
        )
        if pre is None:
            raise TelescopeSkipped("no events overlap in time for the pre-offset search")
        start, stop = pre - 3 * window_ns, pre + 3 * window_ns
    else:
        start, stop = offset_range_ns
    offsets = scan_offsets(start, stop)
    if len(offsets) == 0 or len(t_lst) == 0:
        raise TelescopeSkipped("empty offset scan range or no LST events")
    lo, hi = search_window(t_lst[0], t_lst[-1], offsets[0], offsets[-1], window_ns)
    candidates = np.flatnonzero(in_range(t_magic, lo, hi))
    if len(candidates) == 0:
        raise TelescopeSkipped("no MAGIC events within the scanned time range")
    t_cand = t_magic[candidates]
    counts = coincidence_profile(t_lst, t_cand, offsets, window_ns)
    if not counts.any():
        raise TelescopeSkipped("no coincident events at any scanned offset")
    average = average_offset(offsets, counts, window_ns)
    if average is None:
        raise TelescopeSkipped("no coincident events around the profile maximum")
    idx_lst, idx_magic = coincident_pairs(t_lst, t_cand, average, window_ns)
    return TelescopeCoincidence(pre, offsets, counts, average, candidates, idx_lst, idx_magic)


def find_pairs(
    lst: LstEvents, magic: MagicEvents, config: CoincidenceConfig, timer: StageTimer
) -> dict[int, TelescopeCoincidence]:
    """The coincidence of LST-1 with each MAGIC telescope that has one.

    The candidates of each result are positions in ``magic`` (all telescopes).
    """
    from .drift_coincidence import warn_if_drifting  # it imports this module

    found = {}
    tel_of = magic.keys["tel_id"].to_numpy()
    for tel_id in np.unique(tel_of).tolist():
        name = config.tel_names[tel_id]
        rows = np.flatnonzero(tel_of == tel_id)
        with timer.stage("offsets"):
            tel = _telescope(lst, magic, rows, tel_id, name, config)
        if tel is None:
            log.info("%s: no coincidence; skipping", name)
            continue
        log_telescope(name, tel)
        if config.offset_model == "constant":
            warn_if_drifting(name, tel, config.window_half_width_ns)
        found[tel_id] = replace(tel, candidates=rows[tel.candidates])
    return found


def _telescope(
    lst: LstEvents, magic: MagicEvents, rows: np.ndarray, tel_id: int, name: str,
    config: CoincidenceConfig,
) -> TelescopeCoincidence | None:
    """The coincidence of one telescope (its ``rows`` of ``magic``) by ``config.offset_model``:
    one offset, explained by the clock (:mod:`lmcoinc.clock`), or a drifting one."""
    t_magic, intensity = magic.t_ns[rows], magic.intensity[rows]
    if config.offset_model == "drift":
        from .drift_coincidence import coincide_and_log

        try:
            return coincide_and_log(tel_id, lst.t_ns, lst.intensity, t_magic, intensity, config)
        except TelescopeSkipped as skipped:
            log.info("%s: %s", name, skipped)
            return None
    attempt = functools.partial(_attempt, lst.intensity, t_magic, intensity, config, name)
    pointing = (magic.pointing_alt[rows], magic.pointing_az[rows])
    return explained_coincidence(attempt, lst.t_ns, t_magic, pointing, tel_id, name, config)


def coincidence(
    lst: LstEvents,
    magic: MagicEvents,
    config: CoincidenceConfig,
    timer: StageTimer | None = None,
) -> CoincidenceResult:
    """Coincidence of prepared LST and MAGIC events: pairs per telescope, output tables.

    Raises
    ------
    NoCoincidenceError
        If no telescope has a coincident event.
    """
    timer = timer or StageTimer()
    found = find_pairs(lst, magic, config, timer)
    if not found:
        raise NoCoincidenceError("no coincident events found for any MAGIC telescope")
    from .drift_coincidence import drift_outputs  # it imports this module

    result = build_tables(lst, magic, found, config, timer)
    result.feature_extra.update(feature_columns(list(found.values())))
    feature_extra, extra_tables = drift_outputs(found)
    result.feature_extra.update(feature_extra)
    result.extra_tables.update(extra_tables)
    return result


def _attempt(
    intensity_lst: np.ndarray, t_magic: np.ndarray, intensity_magic: np.ndarray,
    config: CoincidenceConfig, name: str, t_lst: np.ndarray,
    offset_range_ns: tuple[int, int] | None,
) -> TelescopeCoincidence | None:
    """:func:`coincide_telescope` as configured (``offset_range_ns`` None) or scanning
    ``offset_range_ns``; None when the telescope is skipped."""
    try:
        return coincide_telescope(
            t_lst, intensity_lst, t_magic, intensity_magic,
            window_ns=config.window_half_width_ns,
            pre_offset_search_events=(
                config.n_pre_offset_search_events
                if config.pre_offset_search and offset_range_ns is None else None
            ),
            offset_range_ns=offset_range_ns or (config.offset_start_ns, config.offset_stop_ns),
        )
    except TelescopeSkipped as skipped:
        log.info("%s: %s", name, skipped)
        return None


def log_telescope(name: str, found: TelescopeCoincidence) -> None:
    """Log the offsets and pairs of one telescope as the reference does."""
    if found.pre_offset_ns is not None:
        log.info("%s: pre offset search finds %.1f us", name, found.pre_offset_ns / 1000)
    log.info(
        "%s: time offset scan from %.1f us to %.1f us",
        name, found.offsets_ns[0] / 1000, found.offsets_ns[-1] / 1000,
    )
    for offset, count in zip(found.offsets_ns, found.counts, strict=True):
        log.info("  time offset %.1f us --> %d events", offset / 1000, count)
    n_pairs, n_magic = len(found.idx_lst), len(found.candidates)
    log.info(
        "%s: average offset %.3f us, %d coincident events of %d (%.1f%%)",
        name, found.average_offset_ns / 1000, n_pairs, n_magic, 100 * n_pairs / n_magic,
    )
