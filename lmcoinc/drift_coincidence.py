"""Drift mode of the coincidence of LST-1 with one MAGIC telescope, and its outputs.

:func:`coincide_telescope_drift` is the ``offset_model: drift`` counterpart of
:func:`lmcoinc.coincidence.coincide_telescope`: it finds the drifting offset
(:func:`lmcoinc.drift.find_offset_model`), shifts each LST time by the
model's deviation from its mean (:func:`model_shift`, a step of its own, so
that other per-event corrections compose with it), and runs the constant
machinery (scan, weighted average, pairs) on the shifted times around the
mean: the profile is that of the residuals, the pairs those of each event's
own offset. :func:`drift_outputs` makes the ``offset_model`` table and the
extra feature columns; :func:`profile_symptom` tells constant mode when its
profile looks like a drifting clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, replace

import numpy as np
import polars as pl

from .coincidence import TelescopeCoincidence, TelescopeSkipped, coincide_telescope
from .config import CoincidenceConfig
from .drift import DriftSearch, DriftSearchFailed, coarse_bin_width, find_offset_model
from .offset_model import OffsetModel
from .offsets import TIME_ACCURACY_NS, in_range, search_window

__all__ = [
    "DriftCoincidence",
    "coincide_and_log",
    "coincide_telescope_drift",
    "drift_outputs",
    "drift_search",
    "limit_warnings",
    "model_shift",
    "profile_symptom",
    "slice_summary",
    "warn_if_drifting",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftCoincidence(TelescopeCoincidence):
    """A :class:`TelescopeCoincidence` of drift mode, with its offset model.

    ``average_offset_ns`` is the mean of ``model`` over the LST times; the
    profile is over offsets around it (residuals from the model).

    Attributes
    ----------
    model : OffsetModel
        The fitted offset, as used for the pairs.
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
    """

    model: OffsetModel | None = None
    t_range_ns: tuple[int, int] = (0, 0)
    drift_us_per_s: float = 0.0
    residual_rms_ns: float = 0.0
    from_run_model: bool = False
    slice_time_ns: np.ndarray | None = None
    slice_pairs: np.ndarray | None = None
    slice_residual_ns: np.ndarray | None = None


def drift_search(config: CoincidenceConfig) -> DriftSearch:
    """The search settings of a config."""
    return DriftSearch(
        window_ns=config.window_half_width_ns, max_offset_ns=config.max_clock_offset_ns,
        max_drift_ns_per_s=config.max_drift_ns_per_s, slice_ns=config.drift_slice_ns,
    )


def model_shift(model: OffsetModel, t_lst: np.ndarray, mean_ns: float) -> np.ndarray:
    """Per-event shift of the LST times: ``model(t) - mean`` rounded to int64 ns.

    Adding it to the LST times turns the drifting offset into the constant ``mean``.
    """
    return np.rint(model(t_lst) - mean_ns).astype(np.int64)


def coincide_telescope_drift(
    t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, *, search: DriftSearch, prior: OffsetModel | None = None,
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
        model = find_offset_model(t_lst[order_l], intensity_lst[order_l], t_near[order_m],
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
    span_s = (t_hi - t_lo) * 1e-9
    drift = (float(model(t_hi)) - float(model(t_lo))) / span_s if span_s else model.drift(t_lo)
    return DriftCoincidence(
        **{f.name: getattr(found, f.name) for f in fields(found)}, model=model,
        t_range_ns=(t_lo, t_hi), drift_us_per_s=float(drift) / 1000.0,
        from_run_model=prior is not None,
        residual_rms_ns=float(np.sqrt(np.mean(residual**2))) if len(residual) else float("nan"),
        **slice_summary(t_pairs, residual, t_lo, t_hi, search.slice_ns),
    )


def slice_summary(
    t_pairs: np.ndarray, residual: np.ndarray, t_lo: int, t_hi: int, slice_ns: int
) -> dict[str, np.ndarray]:
    """Per time slice of ``[t_lo, t_hi]``: its centre, its pairs and their mean residual.

    Returns
    -------
    dict
        ``slice_time_ns``, ``slice_pairs``, ``slice_residual_ns`` (NaN without pairs).
    """
    starts = np.arange(t_lo, t_hi + 1, slice_ns, dtype=np.int64)
    ends = np.minimum(starts + slice_ns, t_hi + 1)
    which = (t_pairs - t_lo) // slice_ns
    n = np.bincount(which, minlength=len(starts))
    total = np.bincount(which, weights=residual, minlength=len(starts))
    return {
        "slice_time_ns": starts + (ends - starts) // 2,
        "slice_pairs": n,
        "slice_residual_ns": np.where(n > 0, total / np.maximum(n, 1), np.nan),
    }


def limit_warnings(found: DriftCoincidence, search: DriftSearch) -> list[str]:
    """What of the fitted model lies at the limits of the search (empty when nothing)."""
    t_lo, t_hi = found.t_range_ns
    model = found.model
    knots = [model.t_ref_ns + int(k * 1e9) for k in model.knots_s]
    at = np.array([t_lo, t_hi, *[k for k in knots if t_lo < k < t_hi]], dtype=np.int64)
    drift = np.abs(model.drift(at)).max() / 1000
    grid = np.linspace(t_lo, t_hi, 101).astype(np.int64)
    offset = np.abs(model(grid)).max()
    edge = search.max_offset_ns - coarse_bin_width(search, min(t_hi - t_lo, search.block_ns))
    out = []
    if drift > search.max_drift_ns_per_s / 1000:
        out.append(f"the fitted drift reaches {drift:.2f} us/s, beyond max_drift_us_per_s = "
                   f"{search.max_drift_ns_per_s / 1000:g}")
    if offset > edge:
        out.append(f"the fitted clock offset reaches {offset * 1e-9:.6f} s, at the edge of "
                   f"max_clock_offset = {search.max_offset_ns * 1e-9:g} s")
    return out


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


def drift_outputs(
    telescopes: dict[int, TelescopeCoincidence],
) -> tuple[dict[str, list], dict[str, pl.DataFrame]]:
    """The extra feature columns and tables of the drift-mode telescopes (none: empty).

    Returns
    -------
    (dict, dict)
        ``feature_extra`` (``drift_us_per_s``, ``residual_rms_ns``,
        ``from_run_model``: one value per telescope, in the order of
        ``telescopes``) and ``extra_tables``
        (``offset_model``: per telescope and time slice, the slice centre
        ``time`` (UNIX s), the model's ``offset_us`` and ``drift_us_per_s``
        there, the ``n_pairs`` and their mean ``residual_ns``).
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
            "offset_us": found.model(centre) / 1000,
            "drift_us_per_s": found.model.drift(centre) / 1000,
            "n_pairs": found.slice_pairs.astype(np.int64),
            "residual_ns": found.slice_residual_ns,
        }))
    extra = {
        "drift_us_per_s": [f.drift_us_per_s if tel in drift else None
                           for tel, f in telescopes.items()],
        "residual_rms_ns": [f.residual_rms_ns if tel in drift else None
                            for tel, f in telescopes.items()],
        "from_run_model": [f.from_run_model if tel in drift else None
                           for tel, f in telescopes.items()],
    }
    return extra, {"offset_model": pl.concat(rows)}


def coincide_and_log(
    tel_id: int, t_lst: np.ndarray, intensity_lst: np.ndarray, t_magic: np.ndarray,
    intensity_magic: np.ndarray, config: CoincidenceConfig,
) -> DriftCoincidence:
    """:func:`coincide_telescope_drift` with the config's settings (and its prior for
    this telescope, if any); log the model and warn about a fit at the limits of the
    search (the pairs are kept)."""
    search = drift_search(config)
    name = config.tel_names[tel_id]
    found = coincide_telescope_drift(t_lst, intensity_lst, t_magic, intensity_magic,
                                     search=search, prior=config.drift_priors.get(tel_id))
    t_lo, t_hi = found.t_range_ns
    log.info("%s: clock offset %.9f s to %.9f s, mean drift %.4f us/s, residual rms %.1f ns%s",
             name, found.model(t_lo) * 1e-9, found.model(t_hi) * 1e-9, found.drift_us_per_s,
             found.residual_rms_ns, " (the run's model)" if found.from_run_model else "")
    for problem in limit_warnings(found, search):
        log.warning("%s: %s; check the pairs", name, problem)
    return found


def warn_if_drifting(name: str, found: TelescopeCoincidence, window_ns: int) -> None:
    """Warn when a constant-mode profile looks like a drifting clock."""
    if profile_symptom(found, window_ns):
        log.warning("offset profile of %s has no peak: the clocks may drift (broken GPS?); "
                    "try offset_model: drift", name)
