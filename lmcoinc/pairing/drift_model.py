"""``offset_model: drift``: an offset that drifts within the subrun (a broken MAGIC GPS).

Each MAGIC telescope gets :func:`~.drifting.coincide_telescope_drift` (the
drifting offset from the event times, then the reference's machinery on the
residuals), following the run's offset instead of searching when the batch
gives one (:class:`~.priors.Priors`). The fit is logged and warned about
when it reaches the limits of the search; the ``offset_model`` table and the
drift columns of the feature table are its outputs.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

from ..clock.curve import fit_offset_curve
from ..clock.piecewise import SteppedCurve
from ..clock.scan import magic_time_range, search_window
from ..config import CoincidenceConfig
from ..results import TelescopeCoincidence
from .clock_steps import describe_step
from .drifting import coincide_telescope_drift, drift_outputs, drift_search, limit_warnings
from .inputs import TelescopeEvents
from .priors import Priors

__all__ = ["Model"]

log = logging.getLogger(__name__)


class Model:
    """A drifting offset per subrun and MAGIC telescope.

    Parameters
    ----------
    config : CoincidenceConfig
        Settings: the window and the drift search (``max_clock_offset``,
        ``max_drift_us_per_s``, ``drift_slice``).
    priors : Priors
        The run's offset per telescope (``run_curves``), to follow instead of searching.
    """

    def __init__(self, config: CoincidenceConfig, priors: Priors) -> None:
        self.config, self.priors = config, priors
        self.search = drift_search(config)

    def magic_range(self, t_first: int, t_last: int) -> tuple[int, int]:
        """The MAGIC times within ``max_clock_offset`` of the LST times."""
        reach = self.config.max_clock_offset_ns
        return magic_time_range(t_first, t_last, self.config.window_half_width_ns,
                                (-reach, reach))

    def overlap_window(self, t_first: int, t_last: int) -> tuple[int, int, str] | None:
        """The LST times widened by ``max_clock_offset``."""
        reach = self.config.max_clock_offset_ns
        lo, hi = search_window(t_first, t_last, -reach, reach, self.config.window_half_width_ns)
        return lo, hi, f" widened by max_clock_offset = {reach * 1e-9:g} s"

    def coincide(self, events: TelescopeEvents) -> TelescopeCoincidence:
        """The drifting offset and pairs of one telescope; logs the fit, warns at the limits
        of the search (the pairs are kept).

        Raises
        ------
        TelescopeSkipped
            With the reason why this telescope has no coincidence.
        """
        found = coincide_telescope_drift(
            events.t_lst, events.intensity_lst, events.t_magic, events.intensity_magic,
            search=self.search, prior=self.priors.run_curves.get(events.tel_id))
        t_lo, t_hi = found.t_range_ns
        log.info("%s: clock offset %.9f s to %.9f s, mean drift %.4f us/s, residual rms %.1f "
                 "ns%s", events.name, found.curve(t_lo) * 1e-9, found.curve(t_hi) * 1e-9,
                 found.drift_us_per_s, found.residual_rms_ns,
                 " (the run's model)" if found.from_run_model else "")
        for problem in limit_warnings(found, self.search):
            log.warning("%s: %s; check the pairs", events.name, problem)
        for step in found.steps:
            log.info("%s: %s; the offset is fitted on each side", events.label,
                     describe_step(step, t_lo))
        return found

    def outputs(self, found: dict[int, TelescopeCoincidence]
                ) -> tuple[dict[str, list], dict[str, pl.DataFrame]]:
        """The ``offset_model`` table and the feature columns ``drift_us_per_s``,
        ``residual_rms_ns`` and ``from_run_model`` (:func:`~.drifting.drift_outputs`)."""
        return drift_outputs(found)

    @classmethod
    def run_curves(cls, tables: list[pl.DataFrame]) -> dict[int, SteppedCurve]:
        """Per MAGIC tel_id, one curve fitted to the slices with pairs of the subruns'
        ``offset_model`` tables (one quadratic spline over the run, knots at most a
        minute apart: :func:`~lmcoinc.clock.curve.fit_offset_curve`), cut at the steps
        the subruns found (between the last slice before and the first after each),
        a curve per piece."""
        frames = [t.filter(pl.col("n_pairs") > 0) for t in tables]
        if not frames:
            return {}
        breaks = [_steps_of(t) for t in frames]
        slices = pl.concat(frames, how="diagonal_relaxed")
        curves = {}
        for (tel_id,), part in slices.group_by("tel_id"):
            t_ns = np.rint(part["time"].to_numpy() * 1e9).astype(np.int64)
            offset = part["offset_us"].to_numpy() * 1000.0
            cuts: list[int] = []
            for cut in sorted(b for found in breaks for b in found.get(int(tel_id), ())):
                before = t_ns >= cuts[-1] if cuts else np.ones(len(t_ns), dtype=bool)
                if np.any(before & (t_ns < cut)) and np.any(t_ns >= cut):  # slices each side
                    cuts.append(cut)
            piece = np.searchsorted(np.array(cuts, dtype=np.int64), t_ns, side="right")
            curves[int(tel_id)] = SteppedCurve(
                tuple(fit_offset_curve(t_ns[piece == k], offset[piece == k])
                      for k in range(len(cuts) + 1)), tuple(cuts))
        return curves


def _steps_of(table: pl.DataFrame) -> dict[int, list[int]]:
    """Per tel_id, the step times of one subrun's ``offset_model`` table (ns): halfway
    between the last slice of a segment and the first of the next."""
    if "segment" not in table.columns:
        return {}
    out: dict[int, list[int]] = {}
    for (tel_id,), part in table.sort("time").group_by("tel_id"):
        time, segment = part["time"].to_numpy(), part["segment"].to_numpy()
        where = np.flatnonzero(np.diff(segment) != 0)
        out[int(tel_id)] = [int(np.rint((time[k] + time[k + 1]) * 0.5e9)) for k in where]
    return out
