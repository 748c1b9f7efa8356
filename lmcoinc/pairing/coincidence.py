"""The coincidence of LST-1 with every MAGIC telescope of a subrun, by one offset model.

:func:`pair_telescopes` gives the events of each MAGIC telescope, in
ascending tel_id, to the subrun's offset model (:mod:`.models`) and keeps
the telescopes that have coincident events; :func:`clock_columns` are the
feature columns of the clock offsets, whatever the model.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from ..errors import NoCoincidenceError
from ..io.lst_events import LstEvents
from ..io.magic_events import MagicEvents
from ..results import TelescopeCoincidence, TelescopeSkipped
from ..utils.timer import StageTimer
from .inputs import TelescopeEvents
from .models import OffsetModel

__all__ = ["clock_columns", "log_telescope", "pair_telescopes"]

log = logging.getLogger(__name__)


def pair_telescopes(
    lst: LstEvents, magic: MagicEvents, model: OffsetModel, tel_names: dict[int, str],
    timer: StageTimer, subrun: str = "",
) -> dict[int, TelescopeCoincidence]:
    """The coincidence of LST-1 with each MAGIC telescope that has one.

    Parameters
    ----------
    lst, magic : LstEvents, MagicEvents
        The prepared events.
    model : OffsetModel
        The subrun's offset model.
    tel_names : dict
        Telescope id → name (for the log).
    timer : StageTimer
        Times the offsets stage.
    subrun : str
        The subrun's name (its LST-1 file), for the messages.

    Returns
    -------
    dict
        MAGIC tel_id → its coincidence, ascending; candidates are positions in ``magic``.

    Raises
    ------
    NoCoincidenceError
        If no telescope has a coincident event.
    """
    found = {}
    tel_of = magic.keys["tel_id"].to_numpy()
    for tel_id in np.unique(tel_of).tolist():
        name = tel_names[tel_id]
        rows = np.flatnonzero(tel_of == tel_id)
        events = TelescopeEvents(
            tel_id, name, lst.t_ns, lst.intensity, magic.t_ns[rows], magic.intensity[rows],
            magic.pointing_alt[rows], magic.pointing_az[rows], subrun)
        with timer.stage("offsets"):
            try:
                tel = model.coincide(events)
            except TelescopeSkipped as skipped:
                log.info("%s: %s", name, skipped)
                log.info("%s: no coincidence; skipping", name)
                continue
        log_telescope(name, tel)
        found[tel_id] = replace(tel, candidates=rows[tel.candidates])
    if not found:
        raise NoCoincidenceError("no coincident events found for any MAGIC telescope")
    return found


def log_telescope(name: str, found: TelescopeCoincidence) -> None:
    """Log the offsets and pairs of one telescope as the reference does.

    The pairs of every scanned offset (the reference's profile lines) at DEBUG.
    """
    if found.pre_offset_ns is not None:
        log.info("%s: pre offset search finds %.1f us", name, found.pre_offset_ns / 1000)
    log.info(
        "%s: time offset scan from %.1f us to %.1f us",
        name, found.offsets_ns[0] / 1000, found.offsets_ns[-1] / 1000,
    )
    if log.isEnabledFor(logging.DEBUG):
        for offset, count in zip(found.offsets_ns, found.counts, strict=True):
            log.debug("  time offset %.1f us --> %d events", offset / 1000, count)
    n_pairs, n_magic = found.n_pairs, len(found.candidates)
    log.info(
        "%s: average offset %.3f us, %d coincident events of %d (%.1f%%)",
        name, found.average_offset_ns / 1000, n_pairs, n_magic, 100 * n_pairs / n_magic,
    )


def clock_columns(telescopes: list[TelescopeCoincidence]) -> dict[str, list]:
    """The feature columns of the clock offsets, one value per telescope (Parquet only).

    ``clock_offset`` and ``geometric_delay`` (mean delay of the pairs) in µs
    (null where the model does not compute them), ``offset_source`` one of
    :data:`~.anchored.OFFSET_SOURCES`, ``n_offset_steps`` the steps of the
    clock offset found within the subrun.
    """
    def us(value: float | None) -> float | None:
        return None if value is None else value / 1000

    return {
        "clock_offset": [us(t.clock_offset_ns) for t in telescopes],
        "geometric_delay": [us(t.geometric_delay_ns) for t in telescopes],
        "offset_source": [t.offset_source for t in telescopes],
        "n_offset_steps": [len(t.steps) for t in telescopes],
    }
