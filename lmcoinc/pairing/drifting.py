"""Drift mode of the coincidence of LST-1 with one MAGIC telescope, and its outputs.

:func:`coincide_telescope_drift` is the ``offset_model: drift`` counterpart of
:func:`~.telescope.coincide_telescope`: it finds the drifting offset
(:func:`lmcoinc.clock.drift.find_offset_curve`), shifts each LST time by the
model's deviation from its mean (:func:`model_shift`, a step of its own, so
that other per-event corrections compose with it), and runs the constant
machinery (scan, weighted average, pairs) on the shifted times around the
mean: the profile is that of the residuals, the pairs those of each event's
own offset. :func:`drift_outputs` makes the ``offset_model`` table and the
extra feature columns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace

import numpy as np
import polars as pl

from ..clock.drift import DriftSearch, DriftSearchFailed, coarse_bin_width
from ..clock.piecewise import SteppedCurve
from ..clock.scan import TIME_ACCURACY_NS, in_range, search_window
from ..clock.stepped import find_stepped_curve
from ..config import CoincidenceConfig
from ..results import TelescopeCoincidence, TelescopeSkipped
from .telescope import coincide_telescope

__all__ = [
    "DriftCoincidence",
    "coincide_telescope_drift",
    "drift_outputs",
    "drift_search",
    "limit_warnings",
    "model_shift",
    "segment_table",
    "slice_summary",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftCoincidence(TelescopeCoincidence):
    """A :class:`TelescopeCoincidence` of drift mode, with its drifting offset.

    ``average_offset_ns`` is the mean of ``curve`` over the LST times; the
    profile is over offsets around it (residuals from the curve).

    Attributes
    ----------
    curve : SteppedCurve
        The fitted offset, as used for the pairs: smooth pieces between the
        clock steps found (``steps``).
    t_range_ns : (int, int)
        First and last LST time.
    drift_us_per_s : float
        Mean drift over the LST times.
    residual_rms_ns : float
        RMS of MAGIC minus LST time minus the model over the pairs.
    from_run_model : bool
        Whether the search followed the run's model (a batch's second pass).
    slice_time_ns : numpy.ndarray
        Centre of each time slice of the output table (from the first LST time).
    slice_pairs : numpy.ndarray
        Pairs with their LST time in each slice.
    slice_residual_ns : numpy.ndarray
        Mean residual of each slice's pairs (NaN without pairs).
    slice_segment : numpy.ndarray
        The piece of the curve (segment between steps) of each slice; a slice
        that holds a step is two, one on each side.
    segment_pairs : numpy.ndarray
        Pairs with their LST time in each segment.
    """

    curve: SteppedCurve | None = None
    t_range_ns: tuple[int, int] = (0, 0)
    drift_us_per_s: float = 0.0
    residual_rms_ns: float = 0.0
    from_run_model: bool = False
    slice_time_ns: np.ndarray | None = None
    slice_pairs: np.ndarray | None = None
    slice_residual_ns: np.ndarray | None = None
    slice_segment: np.ndarray | None = None
    segment_pairs: np.ndarray | None = None


def drift_search(config: CoincidenceConfig) -> DriftSearch:
    """The search settings of a config."""
    return DriftSearch(
        window_ns=config.window_half_width_ns, max_offset_ns=config.max_clock_offset_ns,
        max_drift_ns_per_s=config.max_drift_ns_per_s, slice_ns=config.drift_slice_ns,
    )


def model_shift(model: SteppedCurve, t_lst: np.ndarray, mean_ns: float) -> np.ndarray:
    """Per-event shift of the LST times: ``model(t) - mean`` rounded to int64 ns.

    Adding it to the LST times turns the drifting offset into the constant ``mean``.
    """
    return np.rint(model(t_lst) - mean_ns).astype(np.int64)


def coincide_telescope_drift(
    t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, *, search: DriftSearch, prior: SteppedCurve | None = None,
) -> DriftCoincidence:
    """Find the drifting offset and the coincident pairs of LST-1 and one MAGIC telescope.

    Parameters as :func:`lmcoinc.coincidence.coincide_telescope` (any time
    order), with the drift search settings instead of the offset ones, and
    optionally a model known beforehand (the run's, in a batch) to follow
    instead of searching.

    Raises
    ------
    TelescopeSkipped
        With the reason why this telescope has no coincidence.
    """
    if len(t_lst) == 0:
        raise TelescopeSkipped("no LST events")
    order_l = np.argsort(t_lst, kind="stable")
    t_lo, t_hi = int(t_lst[order_l[0]]), int(t_lst[order_l[-1]])
    w = search.window_ns
    # Only the MAGIC events within the largest offset: the same from a directory or a cache.
    near = np.flatnonzero(in_range(t_magic, *search_window(
        t_lo, t_hi, -search.max_offset_ns, search.max_offset_ns, w)))
    t_near, intensity_near = t_magic[near], intensity_magic[near]
    order_m = np.argsort(t_near, kind="stable")
    try:
        model = find_stepped_curve(t_lst[order_l], intensity_lst[order_l], t_near[order_m],
                                   intensity_near[order_m], search, prior)
    except DriftSearchFailed as failed:
        raise TelescopeSkipped(str(failed)) from None
    mean = model.mean(t_lo, t_hi)
    centre = int(np.rint(mean / TIME_ACCURACY_NS)) * TIME_ACCURACY_NS
    found = coincide_telescope(
        t_lst + model_shift(model, t_lst, mean), intensity_lst, t_near, intensity_near,
        window_ns=w, pre_offset_search_events=None,
        offset_range_ns=(centre - 3 * w, centre + 3 * w),
    )
    found = replace(found, candidates=near[found.candidates])
    # The constant offset of the shifted times is the model's mean.
    model = model.shifted(found.average_offset_ns - mean)
    t_pairs = t_lst[found.idx_lst]
    residual = t_magic[found.candidates[found.idx_magic]] - t_pairs - model(t_pairs)
    return DriftCoincidence(
        **{f.name: getattr(found, f.name) for f in fields(found) if f.name != "steps"},
        curve=model, steps=model.steps(), t_range_ns=(t_lo, t_hi),
        drift_us_per_s=model.mean_drift(t_lo, t_hi) / 1000.0,
        from_run_model=prior is not None,
        residual_rms_ns=float(np.sqrt(np.mean(residual**2))) if len(residual) else float("nan"),
        segment_pairs=np.bincount(model.piece_index(t_pairs), minlength=len(model.pieces)),
        **slice_summary(t_pairs, residual, t_lo, t_hi, search.slice_ns, model.breaks_ns),
    )


def slice_summary(
    t_pairs: np.ndarray, residual: np.ndarray, t_lo: int, t_hi: int, slice_ns: int,
    breaks_ns: tuple[int, ...] = (),
) -> dict[str, np.ndarray]:
    """Per time slice of ``[t_lo, t_hi]``: its centre, its pairs and their mean residual.

    The slices start every ``slice_ns`` from ``t_lo`` and at each step time
    ``breaks_ns``: a slice that holds a step is cut in two there.

    Returns
    -------
    dict
        ``slice_time_ns``, ``slice_pairs``, ``slice_residual_ns`` (NaN without
        pairs), ``slice_segment`` (the number of steps before the slice).
    """
    starts = np.arange(t_lo, t_hi + 1, slice_ns, dtype=np.int64)
    inside = [b for b in breaks_ns if t_lo < b <= t_hi]
    if inside:
        starts = np.union1d(starts, np.array(inside, dtype=np.int64))
    ends = np.r_[starts[1:], t_hi + 1]
    which = np.searchsorted(starts, t_pairs, side="right") - 1
    n = np.bincount(which, minlength=len(starts))
    total = np.bincount(which, weights=residual, minlength=len(starts))
    return {
        "slice_time_ns": starts + (ends - starts) // 2,
        "slice_pairs": n,
        "slice_residual_ns": np.where(n > 0, total / np.maximum(n, 1), np.nan),
        "slice_segment": np.searchsorted(np.array(breaks_ns, dtype=np.int64), starts,
                                         side="right"),
    }


def limit_warnings(found: DriftCoincidence, search: DriftSearch) -> list[str]:
    """What of the fitted model lies at the limits of the search (empty when nothing)."""
    t_lo, t_hi = found.t_range_ns
    at, grid = [], []
    for a, b, piece in found.curve.spans(t_lo, t_hi):
        knots = [piece.t_ref_ns + int(k * 1e9) for k in piece.knots_s]
        at += [(piece, np.array([a, b, *[k for k in knots if a < k < b]], dtype=np.int64))]
        grid += [(piece, np.linspace(a, b, 101).astype(np.int64))]
    drift = max(np.abs(piece.drift(t)).max() for piece, t in at) / 1000
    offset = max(np.abs(piece(t)).max() for piece, t in grid)
    edge = search.max_offset_ns - coarse_bin_width(search, min(t_hi - t_lo, search.block_ns))
    out = []
    if drift > search.max_drift_ns_per_s / 1000:
        out.append(f"the fitted drift reaches {drift:.2f} us/s, beyond max_drift_us_per_s = "
                   f"{search.max_drift_ns_per_s / 1000:g}")
    if offset > edge:
        out.append(f"the fitted clock offset reaches {offset * 1e-9:.6f} s, at the edge of "
                   f"max_clock_offset = {search.max_offset_ns * 1e-9:g} s")
    return out


def drift_outputs(
    telescopes: dict[int, TelescopeCoincidence],
) -> tuple[dict[str, list], dict[str, pl.DataFrame]]:
    """The extra feature columns and tables of the drift-mode telescopes (none: empty).

    Returns
    -------
    (dict, dict)
        ``feature_extra`` (``drift_us_per_s``, ``residual_rms_ns``,
        ``from_run_model``: one value per telescope, in the order of
        ``telescopes``) and ``extra_tables``: ``offset_model`` (per telescope
        and time slice, the slice centre ``time`` (UNIX s), the model's
        ``offset_us`` and ``drift_us_per_s`` there, the ``n_pairs`` and their
        mean ``residual_ns``, its ``segment``) and ``offset_segments``
        (:func:`segment_table`).
    """
    drift = {t: f for t, f in telescopes.items() if isinstance(f, DriftCoincidence)}
    if not drift:
        return {}, {}
    rows = []
    for tel_id, found in drift.items():
        centre = found.slice_time_ns
        rows.append(pl.DataFrame({
            "tel_id": np.full(len(centre), tel_id, dtype=np.int64),
            "time": centre * 1e-9,
            "offset_us": found.curve(centre) / 1000,
            "drift_us_per_s": found.curve.drift(centre) / 1000,
            "n_pairs": found.slice_pairs.astype(np.int64),
            "residual_ns": found.slice_residual_ns,
            "segment": found.slice_segment.astype(np.int64),
        }))
    extra = {
        "drift_us_per_s": [f.drift_us_per_s if tel in drift else None
                           for tel, f in telescopes.items()],
        "residual_rms_ns": [f.residual_rms_ns if tel in drift else None
                            for tel, f in telescopes.items()],
        "from_run_model": [f.from_run_model if tel in drift else None
                           for tel, f in telescopes.items()],
    }
    segments = pl.concat([segment_table(tel_id, found) for tel_id, found in drift.items()])
    return extra, {"offset_model": pl.concat(rows), "offset_segments": segments}


def segment_table(tel_id: int, found: DriftCoincidence) -> pl.DataFrame:
    """The segments of a telescope's offset between its clock steps, one row each.

    Columns: ``tel_id``, ``segment`` (0, 1, ...), ``start`` and ``end`` (UNIX
    s: the first LST time or the step that opens it, the step that closes it
    or the last LST time), ``offset_us`` (the model's mean over it),
    ``drift_us_per_s`` (its mean drift), ``n_pairs``, ``step_us`` (the step
    at its start: offset after minus offset before; NaN for the first).
    """
    t_lo, t_hi = found.t_range_ns
    spans = found.curve.spans(t_lo, t_hi)
    steps = [float("nan"), *[s.size_ns / 1000 for s in found.steps]]
    return pl.DataFrame({
        "tel_id": np.full(len(spans), tel_id, dtype=np.int64),
        "segment": np.arange(len(spans), dtype=np.int64),
        "start": np.array([a for a, _, _ in spans]) * 1e-9,
        "end": np.array([b for _, b, _ in spans]) * 1e-9,
        "offset_us": [piece.mean(a, b) / 1000 for a, b, piece in spans],
        "drift_us_per_s": [(float(piece(b)) - float(piece(a))) / ((b - a) * 1e-6)
                           if b > a else float(piece.drift(a)) / 1000 for a, b, piece in spans],
        "n_pairs": found.segment_pairs.astype(np.int64),
        "step_us": np.array(steps, dtype=np.float64),
    })
