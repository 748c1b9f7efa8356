"""Effective observation time: when LST-1 and MAGIC could both record a shower.

MAGIC's method (magic-cta-pipe issue #33), applied to each system from its
own time differences:

* every accepted trigger makes the system dead for a fixed time τ; once live
  again it waits for the next trigger, which comes at the raw rate λ, so the
  time from one trigger to the next is τ plus an exponential of rate λ;
* λ is the slope of the exponential fitted (maximum likelihood) to the time
  differences above the low edge of their distribution, τ is that edge;
* the elapsed time is the sum of the time differences between consecutive
  recorded events (from the trigger before the first one), leaving out gaps
  longer than 0.2 s;
* the effective time is elapsed / (1 + λ τ): a trigger costs τ + 1/λ on
  average, of which 1/λ is live.

For both systems together the elapsed time is the time when both record
(the intersection of their gap-free spans), and the live fraction is the
product of theirs, corrected for the dead time the two share after the
triggers they make together (the coincident events).

Pure functions on numpy arrays: timestamps in int64 ns, time differences in s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..utils.arrays import in_order

__all__ = [
    "GAP_S",
    "EffectiveTime",
    "TriggerFit",
    "combined_live_fraction",
    "covered_intervals",
    "effective_time",
    "fit_triggers",
    "intersect_intervals",
    "total_ns",
]

#: Time differences above this are gaps (s), left out of the elapsed time and the fit.
GAP_S = 0.2
#: Quantile of the time differences above which the exponential is fitted.
TAIL_QUANTILE = 0.05
#: Fraction of the time differences below the order statistic that locates the edge.
EDGE_QUANTILE = 0.001
#: Fewer time differences than this give no fit.
MIN_EVENTS = 20


@dataclass(frozen=True)
class TriggerFit:
    """Raw trigger rate and dead time of one system, from its time differences.

    Attributes
    ----------
    rate_hz : float
        λ, the rate of triggers while the system is live.
    dead_time_s : float
        τ, the dead time after each accepted trigger.
    n_events : int
        Time differences used.
    """

    rate_hz: float
    dead_time_s: float
    n_events: int

    @property
    def live_fraction(self) -> float:
        """1 / (1 + λ τ): the fraction of the elapsed time the system is live."""
        return 1.0 / (1.0 + self.rate_hz * self.dead_time_s)


def fit_triggers(
    time_diff_s: np.ndarray, gap_s: float = GAP_S, dead_time_s: float | None = None
) -> TriggerFit | None:
    """Fit λ and τ to the times since the previous trigger of any kind.

    Parameters
    ----------
    time_diff_s : numpy.ndarray
        Per recorded event, the time since the previous accepted trigger (s);
        values that are not finite, not positive or above ``gap_s`` are left out.
    gap_s : float
        Longer time differences are gaps.
    dead_time_s : float, optional
        A known dead time; by default τ is the edge of the distribution.

    Returns
    -------
    TriggerFit or None
        None with fewer than :data:`MIN_EVENTS` usable time differences.

    Notes
    -----
    Above any ``a`` ≥ τ the time differences minus ``a`` are exponential
    with rate λ (no memory), so λ = 1 / mean(dt - a) over dt ≥ a, with ``a``
    the :data:`TAIL_QUANTILE` quantile. The edge: the k-th smallest of N
    time differences, k = max(1, round(:data:`EDGE_QUANTILE` N)), lies on
    average 1/(Nλ) + 1/((N-1)λ) + … (k terms) above τ; it stays put when a
    few outliers fall below τ. The truncation at ``gap_s`` is neglected
    (λ ≫ 1/gap_s).
    """
    dt = np.asarray(time_diff_s, dtype=np.float64)
    dt = dt[np.isfinite(dt) & (dt > 0) & (dt <= gap_s)]
    if dt.size < MIN_EVENTS:
        return None
    start = float(np.quantile(dt, TAIL_QUANTILE))
    excess = float(np.mean(dt[dt >= start])) - start
    if not excess > 0:
        return None
    rate = 1.0 / excess
    if dead_time_s is None:
        k = max(1, round(EDGE_QUANTILE * dt.size))
        edge = float(np.partition(dt, k - 1)[k - 1])
        above = np.sum(1.0 / (dt.size - np.arange(k))) / rate
        dead_time_s = max(edge - above, 0.0)
    return TriggerFit(rate, float(dead_time_s), int(dt.size))


def covered_intervals(
    t_ns: np.ndarray, gap_s: float = GAP_S, lead_s: float = 0.0
) -> np.ndarray:
    """The spans between consecutive events without a gap longer than ``gap_s``.

    Parameters
    ----------
    t_ns : numpy.ndarray
        Event times (ns).
    gap_s : float
        Longer time differences are gaps.
    lead_s : float
        Time from the previous trigger to the first event (its time
        difference): the span starts that much earlier when it is no gap.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (k, 2): sorted, disjoint [start, stop] in ns.
    """
    t = in_order(np.asarray(t_ns, dtype=np.int64))
    if t.size and 0 < lead_s <= gap_s:
        t = np.concatenate([[t[0] - int(round(lead_s * 1e9))], t])
    if t.size < 2:
        return np.empty((0, 2), dtype=np.int64)
    cut = np.flatnonzero(np.diff(t) > gap_s * 1e9)
    starts = np.concatenate([t[:1], t[cut + 1]])
    stops = np.concatenate([t[cut], t[-1:]])
    keep = stops > starts
    return np.stack([starts[keep], stops[keep]], axis=1)


def intersect_intervals(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection of two sorted lists of disjoint intervals (k, 2)."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i, 0], b[j, 0]), min(a[i, 1], b[j, 1])
        if hi > lo:
            out.append((lo, hi))
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def total_ns(intervals: np.ndarray) -> int:
    """Total length of disjoint intervals (ns)."""
    return int((intervals[:, 1] - intervals[:, 0]).sum()) if len(intervals) else 0


def combined_live_fraction(
    lst: TriggerFit, magic: TriggerFit, shared_dead_fraction: float = 0.0
) -> float:
    """Fraction of the time when neither system is dead.

    Parameters
    ----------
    lst, magic : TriggerFit
        The two systems.
    shared_dead_fraction : float
        Fraction of the time both are dead after common triggers (coincident
        events × the shorter dead time / elapsed); the rest of their dead
        times overlap at random.
    """
    dead_l, dead_m = 1.0 - lst.live_fraction, 1.0 - magic.live_fraction
    shared = min(shared_dead_fraction, dead_l, dead_m)
    overlap = shared + (dead_l - shared) * (dead_m - shared)
    return 1.0 - dead_l - dead_m + overlap


def _span(t_ns: np.ndarray, time_diff_s: np.ndarray, gap_s: float) -> np.ndarray:
    """A system's recording span, from its first event's trigger predecessor on."""
    if len(t_ns) == 0:
        return np.empty((0, 2), dtype=np.int64)
    lead = float(np.asarray(time_diff_s)[np.argmin(t_ns)])
    return covered_intervals(t_ns, gap_s, lead if np.isfinite(lead) else 0.0)


@dataclass(frozen=True)
class EffectiveTime:
    """Effective observation time of a subrun.

    Attributes
    ----------
    elapsed_s : float
        Time when both systems record (no gap over 0.2 s in either).
    effective_s : float
        The part of it when neither is dead.
    lst, magic : TriggerFit
        Each system's rate and dead time.
    """

    elapsed_s: float
    effective_s: float
    lst: TriggerFit
    magic: TriggerFit


def effective_time(
    t_lst_ns: np.ndarray,
    time_diff_lst_s: np.ndarray,
    t_magic_ns: np.ndarray,
    time_diff_magic_s: np.ndarray,
    n_common: int = 0,
    gap_s: float = GAP_S,
    magic_fit: np.ndarray | None = None,
) -> EffectiveTime | None:
    """Effective time when LST-1 and MAGIC could both record.

    Parameters
    ----------
    t_lst_ns, time_diff_lst_s : numpy.ndarray
        LST-1 events: timestamps (ns) and time since the previous trigger (s).
    t_magic_ns, time_diff_magic_s : numpy.ndarray
        MAGIC events (one row per trigger), timestamps on the LST-1 clock.
    n_common : int
        Triggers of both systems on the same shower (the coincident events).
    gap_s : float
        Longer time differences are gaps.
    magic_fit : numpy.ndarray of bool, optional
        The MAGIC events whose time differences enter its fit (default all;
        its recording span always comes from all of them).

    Returns
    -------
    EffectiveTime or None
        None when either system has too few events for a fit.
    """
    dt_m = np.asarray(time_diff_magic_s)
    fit_l = fit_triggers(time_diff_lst_s, gap_s)
    fit_m = fit_triggers(dt_m if magic_fit is None else dt_m[magic_fit], gap_s)
    if fit_l is None or fit_m is None:
        return None
    both = intersect_intervals(_span(t_lst_ns, time_diff_lst_s, gap_s),
                               _span(t_magic_ns, dt_m, gap_s))
    elapsed = total_ns(both) * 1e-9
    shared = n_common * min(fit_l.dead_time_s, fit_m.dead_time_s) / elapsed if elapsed else 0.0
    return EffectiveTime(elapsed, elapsed * combined_live_fraction(fit_l, fit_m, shared),
                         fit_l, fit_m)
