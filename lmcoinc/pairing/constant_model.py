"""``offset_model: constant``: one clock offset per subrun, the reference's model (the default).

Each MAGIC telescope gets the reference's coincidence (:func:`~.telescope.coincide_telescope`:
pre-offset search or fixed scan range, scan, weighted average, pairs),
explained by the clock (:func:`~.anchored.explained_coincidence`: geometric
delay, fallbacks to known offsets). A profile that looks like a drifting
clock is warned about (:func:`profile_symptom`), and so is a step of the
clock within the subrun, which one offset cannot follow
(:func:`~.clock_steps.missed_steps`: the pairs stay the reference's).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import polars as pl

from ..clock.piecewise import SteppedCurve
from ..clock.scan import magic_time_range, scan_offsets, search_window
from ..config import CoincidenceConfig
from ..results import TelescopeCoincidence
from .anchored import explained_coincidence
from .clock_steps import describe_step, missed_steps
from .drifting import drift_search
from .inputs import TelescopeEvents
from .priors import Priors

__all__ = ["Model", "profile_symptom"]

log = logging.getLogger(__name__)


class Model:
    """One offset per subrun and MAGIC telescope.

    Parameters
    ----------
    config : CoincidenceConfig
        Settings: the window, the pre-offset search or the scan range, the
        geometric delay, the offset history.
    priors : Priors
        Known offsets to fall back on when a telescope's result is weak.
    """

    def __init__(self, config: CoincidenceConfig, priors: Priors) -> None:
        self.config, self.priors = config, priors
        self.search = drift_search(config)

    def _scan_range(self) -> tuple[int, int] | None:
        """The fixed scan range (start, stop), None with the pre-offset search."""
        config = self.config
        return None if config.pre_offset_search else (config.offset_start_ns,
                                                      config.offset_stop_ns)

    def magic_range(self, t_first: int, t_last: int) -> tuple[int, int]:
        """The MAGIC times the coincidence can use (:func:`lmcoinc.clock.scan.magic_time_range`)."""
        return magic_time_range(t_first, t_last, self.config.window_half_width_ns,
                                self._scan_range())

    def overlap_window(self, t_first: int, t_last: int) -> tuple[int, int, str] | None:
        """The LST times widened by the window (pre-offset search), or shifted by the
        scanned offsets (fixed range; None when the range is empty)."""
        w = self.config.window_half_width_ns
        if self._scan_range() is None:
            return (*search_window(t_first, t_last, 0, 0, w), "")
        offsets = scan_offsets(*self._scan_range())
        if len(offsets) == 0:
            return None
        lo, hi = search_window(t_first, t_last, offsets[0], offsets[-1], w)
        return lo, hi, (f" shifted by the scanned offsets {offsets[0] / 1000:g} to "
                        f"{offsets[-1] / 1000:g} us")

    def coincide(self, events: TelescopeEvents) -> TelescopeCoincidence:
        """The offset and pairs of one telescope, explained by the clock.

        A step of the clock within the subrun is warned about, naming the
        subrun, the telescope, the time and size of the step (the result's
        ``steps``).

        Raises
        ------
        TelescopeSkipped
            With the reason of the (first) scan that found no pair.
        """
        found = explained_coincidence(events, self.config, self.priors)
        no_peak = profile_symptom(found, self.config.window_half_width_ns)
        if no_peak:
            log.warning("offset profile of %s has no peak: the clocks may drift (broken GPS?); "
                        "try offset_model: drift", events.name)
        steps, lost = missed_steps(events, found, self.search, peak=not no_peak)
        for step in steps:
            log.warning("%s: %s; one offset per subrun (offset_model: constant) misses the %d "
                        "pairs beyond it: try offset_model: drift", events.label,
                        describe_step(step, int(events.t_lst.min())), lost)
        return replace(found, steps=steps)

    def outputs(self, found: dict[int, TelescopeCoincidence]
                ) -> tuple[dict[str, list], dict[str, pl.DataFrame]]:
        """No columns or tables of its own."""
        return {}, {}

    @classmethod
    def run_curves(cls, tables: list[pl.DataFrame]) -> dict[int, SteppedCurve]:
        """Nothing: the night model (:mod:`lmcoinc.batch.redo`) is the run's teacher here."""
        return {}


def profile_symptom(found: TelescopeCoincidence, window_ns: int) -> bool:
    """Whether a constant-mode profile looks like a drifting clock.

    True when the profile has no clear peak: its maximum exceeds its median
    by less than the median itself or than five standard deviations of a
    Poisson count of that median; or when the pre-offset search and the
    scan's average disagree by more than the window half width.
    """
    counts = found.counts
    median = float(np.median(counts))
    no_peak = counts.max() - median < max(median, 5 * np.sqrt(median))
    disagree = (found.pre_offset_ns is not None
                and abs(found.average_offset_ns - found.pre_offset_ns) > window_ns)
    return bool(no_peak or disagree)
