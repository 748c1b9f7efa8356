"""The clock offset behind a telescope's coincidence: geometric delay and known offsets.

The offset found for a MAGIC telescope is the clock offset plus the mean
light-travel delay of its pairs (:mod:`lmcoinc.clock.geometry`).
:func:`explained_coincidence` runs the coincidence of one telescope, on LST
times with each event's delay added when ``geometric_delay`` is set (the
pointing of the nearest MAGIC event in time gives the delay), so that the
offset found is the clock offset (the pairs are then taken at the mean time
difference of those at the scan's average offset).

Each scan is the reference's coincidence of the telescope
(:func:`~.telescope.coincide_telescope`). When the telescope's own result is
weak (:func:`weakness`) it scans around known clock offsets instead
(:class:`~.priors.Priors`): the night model's (``batch``) when the result has
fewer than ``min_coincidences`` pairs or lies more than a window half width
from it, then the history's (the history fallback) when it has fewer than
``min_coincidences`` pairs. Such a scan is kept when its pairs are
significant (5 σ above the accidental ones expected from the LST rate and its
MAGIC candidates) and exceed the accidental ones by more than the result's
do. Every result carries its clock offset: the found offset minus the mean
delay of its pairs that the times still hold.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from ..clock.geometry import baseline_m, geometric_delay_ns, nearest_in_time, shift_times
from ..clock.scan import TIME_ACCURACY_NS, in_range
from ..config import CoincidenceConfig, night_of
from ..results import TelescopeCoincidence, TelescopeSkipped
from .accidentals import independent_accidentals
from .inputs import TelescopeEvents
from .match import coincident_pairs
from .priors import Priors
from .telescope import coincide_telescope

__all__ = ["OFFSET_SOURCES", "chance_pairs", "explained_coincidence", "weakness"]

log = logging.getLogger(__name__)

#: Where the offset of a telescope's pairs comes from.
OFFSET_SOURCES = ("local", "night", "history")



@dataclass(frozen=True)
class _Delays:
    """The delays of one telescope: per MAGIC row, and those already added to the LST times."""

    magic: np.ndarray
    lst_shift: np.ndarray | None

    def clock(self, found: TelescopeCoincidence) -> tuple[float, float]:
        """(clock offset, mean geometric delay) of a result's pairs (ns)."""
        magic_rows = found.candidates[found.idx_magic]
        if len(magic_rows) == 0:  # no pair at the average offset: its candidates instead
            magic_rows = found.candidates
        delay = self.magic[magic_rows]
        applied = 0.0 if self.lst_shift is None else self.lst_shift[found.idx_lst]
        residual = float(np.mean(delay - applied)) if len(found.idx_lst) else 0.0
        return found.average_offset_ns - residual, float(np.mean(delay))


def chance_pairs(n_lst: int, lst_span_ns: int, n_magic: int, window_ns: int) -> float:
    """Expected number of accidental pairs of ``n_magic`` MAGIC events with LST events
    spread uniformly over ``lst_span_ns``: each finds one with probability rate × (2w + 1)
    (:func:`~.accidentals.independent_accidentals`)."""
    rate = (n_lst - 1) / lst_span_ns if n_lst > 1 and lst_span_ns > 0 else 0.0
    return independent_accidentals(n_magic, rate, 2 * window_ns + 1)


def _excess(found: TelescopeCoincidence | None, t_lst: np.ndarray, window_ns: int
            ) -> tuple[float, float]:
    """(pairs minus the accidental ones expected, the accidental ones) of a result."""
    if found is None:
        return 0.0, 0.0
    mu = chance_pairs(len(t_lst), int(t_lst.max() - t_lst.min()), len(found.candidates),
                          window_ns)
    return len(found.idx_lst) - mu, mu


def _better(tried: TelescopeCoincidence | None, best: TelescopeCoincidence | None,
            t_lst: np.ndarray, window_ns: int) -> bool:
    """Whether a scan around a known offset beats a result: significant pairs (at least 2
    and 5 σ above the accidental ones) and more pairs beyond the accidental ones."""
    excess, mu = _excess(tried, t_lst, window_ns)
    if tried is None or len(tried.idx_lst) < max(2.0, mu + 5 * math.sqrt(mu)):
        return False
    return excess > _excess(best, t_lst, window_ns)[0]


def _anchors(t_lst: np.ndarray, tel_id: int, config: CoincidenceConfig, priors: Priors
             ) -> Iterator[tuple[str, int, int]]:
    """(source, clock offset, scan margin) of the known offsets to fall back on, in order."""
    if tel_id in priors.night_offsets_ns:
        yield "night", int(priors.night_offsets_ns[tel_id]), 0
    if priors.history_fallback:
        entry = config.offset_history.entry_at(night_of(int(t_lst.min())))
        if entry is not None:
            yield "history", entry.offset_ns, config.history_tolerance_ns


def weakness(n_pairs: int | None, clock_ns: float | None, night_ns: float | None,
             config: CoincidenceConfig) -> str | None:
    """Why a telescope's result is weak, or None when it is sound.

    Weak: no result (``n_pairs`` None, or no clock offset), fewer than
    ``min_coincidences`` pairs, or a clock offset more than a window half
    width from the night's (``night_ns``, when given).
    """
    if n_pairs is None or clock_ns is None:
        return "no coincident events"
    if n_pairs < config.min_coincidences:
        return f"only {n_pairs} coincident events"
    if night_ns is not None and abs(clock_ns - night_ns) > config.window_half_width_ns:
        return f"clock offset {clock_ns / 1000:.3f} us far from the night's"
    return None


def explained_coincidence(
    events: TelescopeEvents, config: CoincidenceConfig, priors: Priors
) -> TelescopeCoincidence:
    """The coincidence of one MAGIC telescope with its clock offset and the offset's source.

    Parameters
    ----------
    events : TelescopeEvents
        The LST and MAGIC events (timestamps in table order, intensities, pointing).
    config : CoincidenceConfig
        Settings.
    priors : Priors
        The known offsets to fall back on.

    Returns
    -------
    TelescopeCoincidence
        With ``clock_offset_ns``, ``geometric_delay_ns`` and ``offset_source``.

    Raises
    ------
    TelescopeSkipped
        With the reason of the (first) scan, when no scan finds a pair.
    """
    reasons: list[str] = []
    t_lst, t_magic, name = events.t_lst, events.t_magic, events.name
    delays = _Delays(geometric_delay_ns(events.pointing_alt, events.pointing_az,
                                        baseline_m(name)), None)
    if config.geometric_delay:
        delays = replace(delays, lst_shift=delays.magic[nearest_in_time(t_lst, t_magic)])
        t_lst = shift_times(t_lst, delays.lst_shift)
    best, source = _scan(events, t_lst, None, config, reasons), "local"
    for origin, anchor_ns, margin in _anchors(t_lst, events.tel_id, config, priors):
        clock_ns = delays.clock(best)[0] if best is not None else None
        why = weakness(None if best is None else best.n_pairs, clock_ns,
                       anchor_ns if origin == "night" else None, config)
        if why is None:
            break
        centre = anchor_ns + _expected_delay(delays, t_lst, t_magic)
        centre = int(round(centre / TIME_ACCURACY_NS)) * TIME_ACCURACY_NS
        reach = 3 * config.window_half_width_ns + margin
        tried = _scan(events, t_lst, (centre - reach, centre + reach), config, reasons)
        if _better(tried, best, t_lst, config.window_half_width_ns):
            log.warning("%s: %s; pairing around the %s clock offset %.3f us instead: %d "
                        "coincident events", name, why, origin, anchor_ns / 1000,
                        len(tried.idx_lst))
            best, source = tried, origin
    if best is None:
        raise TelescopeSkipped(reasons[0] if reasons else "no coincident events")
    if config.geometric_delay:
        best = _centred(best, t_lst, t_magic, config.window_half_width_ns)
    clock_ns, delay_ns = delays.clock(best)
    _warn_far_from_history(name, clock_ns, t_lst, config)
    return replace(best, clock_offset_ns=clock_ns, geometric_delay_ns=delay_ns,
                   offset_source=source)


def _scan(events: TelescopeEvents, t_lst: np.ndarray, offset_range_ns: tuple[int, int] | None,
          config: CoincidenceConfig, reasons: list[str]) -> TelescopeCoincidence | None:
    """The reference's coincidence of the telescope on these LST times: as configured
    (``offset_range_ns`` None) or scanning ``offset_range_ns``; None (and the reason in
    ``reasons``) when it finds no pair."""
    try:
        return coincide_telescope(
            t_lst, events.intensity_lst, events.t_magic, events.intensity_magic,
            window_ns=config.window_half_width_ns,
            pre_offset_search_events=(
                config.n_pre_offset_search_events
                if config.pre_offset_search and offset_range_ns is None else None
            ),
            offset_range_ns=offset_range_ns or (config.offset_start_ns, config.offset_stop_ns),
        )
    except TelescopeSkipped as skipped:
        reasons.append(str(skipped))
        return None


def _centred(found: TelescopeCoincidence, t_lst: np.ndarray, t_magic: np.ndarray,
             window_ns: int) -> TelescopeCoincidence:
    """The pairs at the mean time difference of the pairs at the scan's average offset.

    With the delays removed the times no longer lie on the 100 ns grid of the
    scan, whose weighted average then misses the centre of the pairs by up to
    ~30 ns (MAGIC-I, simulated merged run): enough to lose pairs in the tails
    of the ±w window. The mean of the differences is that centre.
    """
    if len(found.idx_lst) == 0:
        return found
    t_cand = t_magic[found.candidates]
    offset = int(np.rint(np.mean(t_cand[found.idx_magic] - t_lst[found.idx_lst])))
    idx_lst, idx_magic = coincident_pairs(t_lst, t_cand, offset, window_ns)
    return replace(found, average_offset_ns=offset, idx_lst=idx_lst, idx_magic=idx_magic)


def _expected_delay(delays: _Delays, t_lst: np.ndarray, t_magic: np.ndarray) -> float:
    """The mean delay the LST times still hold for MAGIC events during the subrun."""
    if delays.lst_shift is not None:
        return 0.0
    during = in_range(t_magic, int(t_lst.min()), int(t_lst.max()))
    return float(np.mean(delays.magic[during] if during.any() else delays.magic))


def _warn_far_from_history(name: str, clock_ns: float, t_lst: np.ndarray,
                           config: CoincidenceConfig) -> None:
    night = night_of(int(t_lst.min()))
    entry = config.offset_history.entry_at(night)
    if entry is not None and abs(clock_ns - entry.offset_ns) > config.history_tolerance_ns:
        log.warning("%s: clock offset %.3f us is %.3f us from the history's %.1f us for the "
                    "night of %s (%s, %s)", name, clock_ns / 1000,
                    (clock_ns - entry.offset_ns) / 1000, entry.offset_ns / 1000, night,
                    entry.dates(), entry.source)
