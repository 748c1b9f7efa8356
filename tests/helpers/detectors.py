"""A brute-force model of two triggering systems with dead times, for the tests of
lmcoinc.quality.livetime and lmcoinc.pairing.accidentals: plain loops, slow, obviously right."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def accepted(t: np.ndarray, dead_ns: int) -> np.ndarray:
    """Mask of the triggers a non-paralysable system accepts (one by one)."""
    keep = np.zeros(len(t), dtype=bool)
    free_at = -np.inf
    for i, ti in enumerate(t.tolist()):
        if ti >= free_at:
            keep[i] = True
            free_at = ti + dead_ns
    return keep


def dead_union_ns(triggers: list[np.ndarray], dead_ns: list[int], lo: int, hi: int) -> int:
    """Length of [lo, hi) covered by any [t, t + dead) of any system (one by one)."""
    spans = sorted((int(t), int(t) + d) for ts, d in zip(triggers, dead_ns, strict=True)
                   for t in ts)
    total, reach = 0, lo
    for start, stop in spans:
        start, stop = max(start, reach), min(stop, hi)
        if stop > start:
            total += stop - start
        reach = max(reach, stop)
    return total


@dataclass
class TwoSystems:
    """Recorded events of LST-1 (``lst_*``) and MAGIC (``magic_*``) and the truth.

    Times are int64 ns on the 100 ns grid of each clock; the MAGIC clock is the
    LST clock plus ``offset``. ``*_shower`` is the shower index (-1: not a
    MAGIC shower); ``*_diff`` the time since the previous accepted trigger
    (s); ``live_ns`` the time when neither system is dead.
    """

    lst_t: np.ndarray
    lst_shower: np.ndarray
    lst_diff: np.ndarray
    magic_t: np.ndarray
    magic_shower: np.ndarray
    magic_diff: np.ndarray
    offset: int
    duration_ns: int
    live_ns: int


def two_systems(
    rng: np.random.Generator, *, duration_s: float = 2.0, magic_hz: float = 1000.0,
    lst_only_hz: float = 20000.0, p_lst: float = 0.6, lst_dead_ns: int = 7600,
    magic_dead_ns: int = 26000, offset: int = -3200, jitter_ns: float = 20.0,
) -> TwoSystems:
    """Showers seen by MAGIC (LST-1 triggers on each with probability ``p_lst``),
    LST-1-only triggers; both systems dead after each accepted trigger."""
    dur = int(duration_s * 1e9)
    showers = np.sort(rng.integers(0, dur, rng.poisson(magic_hz * duration_s)))
    seen = np.flatnonzero(rng.random(len(showers)) < p_lst)
    n_only = rng.poisson(lst_only_hz * duration_s)
    lst_raw = np.concatenate([showers[seen], rng.integers(0, dur, n_only)])
    lst_id = np.concatenate([seen, np.full(n_only, -1)])
    order = np.argsort(lst_raw, kind="stable")
    keep = accepted(lst_raw[order], lst_dead_ns)
    lst_t, shower_of = lst_raw[order][keep], lst_id[order][keep]
    magic_keep = accepted(showers, magic_dead_ns)
    magic_t = showers[magic_keep]
    live = dur - dead_union_ns([lst_t, magic_t], [lst_dead_ns, magic_dead_ns], 0, dur)

    def clock(t: np.ndarray, shift: int) -> np.ndarray:
        noisy = t + shift + rng.normal(0.0, jitter_ns, len(t))
        return (np.rint(noisy / 100) * 100).astype(np.int64)

    def diffs(t: np.ndarray) -> np.ndarray:
        return np.diff(t, prepend=t[:1]) * 1e-9

    return TwoSystems(
        lst_t=clock(lst_t, 0), lst_shower=shower_of, lst_diff=diffs(lst_t),
        magic_t=clock(magic_t, offset), magic_shower=np.flatnonzero(magic_keep),
        magic_diff=diffs(magic_t), offset=offset, duration_ns=dur, live_ns=live,
    )
