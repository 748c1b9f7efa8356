"""Hand-made event times of a broken-GPS night: int64 ns arrays, no files.

A shower stream in true time; MAGIC records it at ``magic_rate_hz`` and
LST-1 sees a MAGIC shower the likelier the brighter it is, plus many dimmer
LST-only triggers (intensities as the simulator draws them). Both clocks read
the true time plus a 20 ns jitter on a 100 ns grid; the MAGIC clock adds
``offset_ns + drift_ns_per_s * (t - t_start)`` (and ``curvature`` × that squared), and
from each of ``steps`` ``(s from the start, size ns)`` on, its size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lmcoinc.pairing.inputs import TelescopeEvents
from lmcoinc.pairing.telescope import coincide_telescope
from lmcoinc.results import TelescopeCoincidence

T0_NS = 1_700_000_000 * 10**9


@dataclass(frozen=True)
class Events:
    """LST-1 and MAGIC times (int64 ns, sorted) and intensities, and the true pairs."""

    t_lst: np.ndarray
    intensity_lst: np.ndarray
    t_magic: np.ndarray
    intensity_magic: np.ndarray
    true_lst: np.ndarray
    true_magic: np.ndarray


def _grid(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    return (np.rint((t + rng.normal(0.0, 20.0, t.size)) / 100.0) * 100).astype(np.int64)


def broken_gps(
    seed: int = 0,
    duration_s: float = 10.0,
    offset_ns: float = 2_437_000_000.0,
    drift_ns_per_s: float = 3100.0,
    curvature_ns_per_s2: float = 0.0,
    lst_rate_hz: float = 5000.0,
    magic_rate_hz: float = 250.0,
    magic_margin_s: float = 12.0,
    steps: tuple[tuple[float, float], ...] = (),
) -> tuple[Events, Callable[[np.ndarray], np.ndarray]]:
    """Events of one LST-1 subrun and the MAGIC data around it.

    Returns
    -------
    (Events, callable)
        The events and the true offset function of LST time (ns).
    """
    rng = np.random.default_rng(seed)
    dur = int(duration_s * 1e9)
    lo, hi = -int(magic_margin_s * 1e9), dur + int(magic_margin_s * 1e9)
    n_sh = rng.poisson(magic_rate_hz * (hi - lo) * 1e-9)
    t_sh = np.sort(rng.integers(lo, hi, n_sh))
    log_size = rng.exponential(1.0 / (1.7 * np.log(10)), n_sh)
    sees = rng.random(n_sh) < 0.93 / (1.0 + np.exp(-(log_size - 0.12) / 0.07))
    common = np.flatnonzero(sees & (t_sh >= 0) & (t_sh < dur))
    n_only = rng.poisson(max(lst_rate_hz - common.size / duration_s, 0) * duration_s)
    t_only = rng.integers(0, dur, n_only)
    e_only = rng.exponential(1.0 / (1.7 * np.log(10)), n_only)
    t_true_l = np.concatenate([t_sh[common], t_only])
    i_lst = np.concatenate([
        120.0 * 10 ** log_size[common] * 10 ** rng.normal(0.0, 0.25, common.size),
        35.0 * 10**e_only * 10 ** rng.normal(0.0, 0.1, n_only),
    ])
    shower = np.concatenate([common, np.full(n_only, -1)])
    order = np.argsort(t_true_l, kind="stable")
    t_true_l, i_lst, shower = t_true_l[order], i_lst[order], shower[order]
    i_magic = 60.0 * 10**log_size * 10 ** rng.normal(0.0, 0.12, n_sh)

    def true_offset(t_ns: np.ndarray) -> np.ndarray:
        x = (np.asarray(t_ns) - T0_NS) * 1e-9
        jumps = sum((x >= at) * size for at, size in steps)
        return offset_ns + drift_ns_per_s * x + curvature_ns_per_s2 * x * x + jumps

    t_lst = T0_NS + _grid(rng, t_true_l)
    t_magic_float = t_sh + true_offset(T0_NS + t_sh)
    t_magic = T0_NS + _grid(rng, t_magic_float)
    order_m = np.argsort(t_magic, kind="stable")
    inverse = np.empty_like(order_m)
    inverse[order_m] = np.arange(order_m.size)
    is_common = shower >= 0
    events = Events(
        t_lst, i_lst, t_magic[order_m], i_magic[order_m],
        np.flatnonzero(is_common), inverse[shower[is_common]],
    )
    return events, true_offset


def constant_coincidence(events: Events, pre: int | None = 100) -> TelescopeCoincidence:
    """The reference's coincidence of the events (one offset; window 300 ns): the pre-offset
    search on ``pre`` events, or (None) the default scan range -10..0 µs."""
    return coincide_telescope(events.t_lst, events.intensity_lst, events.t_magic,
                              events.intensity_magic, window_ns=300,
                              pre_offset_search_events=pre, offset_range_ns=(-10_000, 0))


def telescope_events(events: Events, tel_id: int = 2, name: str = "MAGIC-I") -> TelescopeEvents:
    """The events as those of one MAGIC telescope, pointing at alt 70°, az 180°."""
    n = len(events.t_magic)
    return TelescopeEvents(tel_id, name, events.t_lst, events.intensity_lst, events.t_magic,
                           events.intensity_magic, np.full(n, np.radians(70.0)),
                           np.full(n, np.pi))
#: Clock steps within a 10 s subrun: the clock (offset ns, drift ns/s) and its steps (s into
#: the subrun, size ns): one step with a good GPS and with a drifting clock, two steps, a
#: step in the first and in the last second, a step of 1 µs and one of 0.5 s.
STEP_CASES = {
    "gps fine": (-3200.0, 0.0, ((5.0, -150_000.0),)),
    "drifting clock": (851e6, 6000.0, ((5.0, -150_000.0),)),
    "two steps": (-3200.0, 0.0, ((3.0, 40_000.0), (7.0, -2_000_000.0))),
    "first second": (-3200.0, 0.0, ((0.4, -150_000.0),)),
    "last second": (2.437e9, 3100.0, ((9.6, 80_000.0),)),
    "1 us": (-3200.0, 0.0, ((5.0, 1000.0),)),
    "0.5 s": (851e6, 6000.0, ((5.0, -5e8),)),
}


def stepped_gps(name: str, seed: int) -> tuple[Events, Callable[[np.ndarray], np.ndarray]]:
    """:func:`broken_gps` of a case of :data:`STEP_CASES`."""
    offset, drift, steps = STEP_CASES[name]
    return broken_gps(seed=seed, offset_ns=offset, drift_ns_per_s=drift, steps=steps)
