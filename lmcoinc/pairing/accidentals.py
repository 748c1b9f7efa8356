"""Accidental coincidences: unrelated LST-1 and MAGIC events that fall in one window.

A MAGIC event at shower time t is paired with every LST-1 event whose time,
moved to the MAGIC clock, lies within ±w of it. Unrelated LST-1 events come
at the rate ρ of the events the pairing uses (shower events after the cuts),
so a MAGIC event finds one by chance with a probability ≈ ρ × 2w. The LST-1
dead time τ (7.6 µs, longer than the window) makes it depend on the side:

* LST-1 earlier than t: an LST-1 event there means LST-1 was dead at t; at
  t the system is dead with probability d = 1 - live fraction, and then its
  last trigger is uniform over [t - τ, t). This side sees density ρ for
  every MAGIC event, as if the events were independent, less the rate of
  LST-1 events of showers MAGIC could record (MAGIC was live at t, so no
  such shower came just before): true pairs / MAGIC live time.
* LST-1 later than t: if LST-1 triggered on the shower itself (the true
  pairs) or was dead at t, nothing follows within the window; only the
  MAGIC events at which LST-1 was live and did not trigger, N_M (1 - d) - T,
  see the raw rate ρ / (1 - d).

With N_M MAGIC events in the scanned range and n pairs found, of which
T = n - A are true, and L_M the MAGIC live time, the expected accidental
pairs A solve
``A = N_M (ρ - T / L_M) W_before + (N_M - T / (1 - d)) ρ W_after``. Timestamps
are multiples of 100 ns: the window [o - w, o + w] then holds a whole number
of grid points (7 for w = 300 ns when o is on the grid, else 6), each worth
100 ns of true time, and :func:`window_sides_ns` gives the widths on each
side of o.

The independent check, :func:`sideband_accidentals`, takes the density of
pairs from the offset profile far from its peak (more than 2w away, where no
true pair is counted) on each side and scales it to the window.
"""

from __future__ import annotations

import numpy as np

from ..clock.scan import TIME_ACCURACY_NS

__all__ = [
    "difference_phases",
    "expected_accidentals",
    "independent_accidentals",
    "sideband_accidentals",
    "window_sides_ns",
]


def independent_accidentals(n_magic: int, rate_per_ns: float, width_ns: float) -> float:
    """Accidental pairs of ``n_magic`` MAGIC events with LST-1 events that come
    independently of them at ``rate_per_ns``, in a window ``width_ns`` wide:
    ``n_magic × rate × width`` (the estimate without dead times)."""
    return n_magic * rate_per_ns * width_ns


def difference_phases(
    t_lst: np.ndarray, t_magic: np.ndarray, step: int = TIME_ACCURACY_NS
) -> np.ndarray:
    """Distribution of ``(t_MAGIC - t_LST) mod step`` over pairs of unrelated events.

    Parameters
    ----------
    t_lst, t_magic : numpy.ndarray
        int64 ns timestamps.
    step : int
        The timestamp grid.

    Returns
    -------
    numpy.ndarray
        ``step`` probabilities, index = the difference modulo ``step``.
    """
    lst = np.bincount(np.mod(t_lst, step), minlength=step) / max(len(t_lst), 1)
    magic = np.bincount(np.mod(t_magic, step), minlength=step) / max(len(t_magic), 1)
    # P(delta) = sum_r P_LST(r) P_MAGIC((r + delta) mod step)
    spectrum = np.fft.rfft(magic) * np.conj(np.fft.rfft(lst))
    return np.clip(np.fft.irfft(spectrum, n=step), 0.0, None)


def window_sides_ns(
    phases: np.ndarray, window_ns: int, offset_ns: float
) -> tuple[float, float]:
    """Width of the window ``[o - w, o + w]`` on the LST-earlier and LST-later sides of o.

    A difference ``t_MAGIC - t_LST = p`` on the grid stands for true
    differences in ``[p - step/2, p + step/2]``; the part above ``o``
    (LST-1 earlier than the MAGIC event) counts for the first side.

    Parameters
    ----------
    phases : numpy.ndarray
        :func:`difference_phases`; its length is the grid step.
    window_ns : int
        Window half width w.
    offset_ns : float
        The offset o the window is centred on.

    Returns
    -------
    (float, float)
        Expected widths (ns): (LST-1 earlier, LST-1 later).
    """
    step = len(phases)
    delta = np.arange(step)[:, np.newaxis]
    k = np.arange(np.floor((offset_ns - window_ns) / step) - 1,
                  np.ceil((offset_ns + window_ns) / step) + 2)[np.newaxis, :]
    points = delta + k * step
    inside = (points >= offset_ns - window_ns) & (points <= offset_ns + window_ns)
    earlier = np.clip(points - offset_ns + step / 2, 0, step) * inside
    weight = phases[:, np.newaxis]
    before = float((weight * earlier).sum())
    return before, float((weight * inside).sum() * step) - before


def expected_accidentals(
    n_magic: int,
    n_pairs: int,
    lst_rate_hz: float,
    sides_ns: tuple[float, float],
    lst_dead_fraction: float | None = None,
    magic_live_s: float | None = None,
) -> float:
    """Expected number of accidental pairs of one MAGIC telescope in a subrun.

    Parameters
    ----------
    n_magic : int
        MAGIC events in the scanned time range (``n_events_magic``).
    n_pairs : int
        Pairs found (``n_coincidence``).
    lst_rate_hz : float
        Rate of the LST-1 events the pairing uses (after the cuts).
    sides_ns : (float, float)
        Window widths on the LST-earlier and LST-later sides
        (:func:`window_sides_ns`).
    lst_dead_fraction : float, optional
        Dead fraction d of LST-1, when its dead time exceeds the window (see
        the module); None: independent events, ``n_magic × rate × width``.
    magic_live_s : float, optional
        MAGIC live time of the subrun: the LST-1 events of showers that MAGIC
        could record, true pairs / live time per second, are missing from
        the LST-earlier side (MAGIC was live, so no such shower came just
        before); None: not taken into account.

    Returns
    -------
    float
        Expected accidental pairs (≥ 0).
    """
    rate = lst_rate_hz * 1e-9
    before, after = sides_ns
    if lst_dead_fraction is None:
        return independent_accidentals(n_magic, rate, before + after)
    live = 1.0 - lst_dead_fraction
    per_pair = 1e-9 / magic_live_s if magic_live_s else 0.0
    # A = N b (rate - (n - A) g) + (N - (n - A) / live) rate a, solved for A
    known = n_magic * before * (rate - n_pairs * per_pair)
    known += max(n_magic - n_pairs / live, 0.0) * rate * after
    return max(known / (1.0 - n_magic * before * per_pair - rate * after / live), 0.0)


def sideband_accidentals(
    offsets_ns: np.ndarray,
    counts: np.ndarray,
    average_ns: float,
    window_ns: int,
    phases: np.ndarray,
    max_distance_ns: float | None = None,
) -> float | None:
    """Accidental pairs at the average offset from the profile's side bands.

    Parameters
    ----------
    offsets_ns, counts : numpy.ndarray
        The offset profile (pairs at each scanned offset).
    average_ns : float
        The offset where the pairs are taken.
    window_ns : int
        Window half width w.
    phases : numpy.ndarray
        :func:`difference_phases` of the LST-1 and MAGIC timestamps.
    max_distance_ns : float, optional
        Use only offsets closer than this to the average (e.g. the LST-1
        dead time minus w, beyond which the LST-later side changes).

    Returns
    -------
    float or None
        Pairs per ns of window on each side (offsets more than 2w above and
        below the average), times the window's widths on those sides; None
        when a side has no such offset.
    """
    offsets_ns = np.asarray(offsets_ns, dtype=np.float64)
    distance = offsets_ns - average_ns
    far = np.abs(distance) > 2 * window_ns
    if max_distance_ns is not None:
        far &= np.abs(distance) < max_distance_ns
    density = []
    for side in (far & (distance > 0), far & (distance < 0)):
        if not side.any():
            return None
        widths = [sum(window_sides_ns(phases, window_ns, o)) for o in offsets_ns[side]]
        density.append(float(np.mean(np.asarray(counts, dtype=np.float64)[side] / widths)))
    before, after = window_sides_ns(phases, window_ns, average_ns)
    return density[0] * before + density[1] * after
