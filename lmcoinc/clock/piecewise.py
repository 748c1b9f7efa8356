"""A clock offset with steps: smooth pieces of :class:`~.curve.OffsetCurve` between jumps.

When the MAGIC GPS re-locks or the clocks are resynchronised, the offset
jumps. :class:`SteppedCurve` is the offset of a span of LST time cut at the
times of those steps: piece ``k`` holds from ``breaks[k - 1]`` (included) to
``breaks[k]`` (excluded), each a smooth curve of its own. Without a step it
is its one curve and evaluates exactly as that curve. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..results import ClockStep
from .curve import OffsetCurve

__all__ = ["SteppedCurve"]


@dataclass(frozen=True)
class SteppedCurve:
    """``offset(t)``: the curve of the piece that holds at LST time ``t`` (int64 ns).

    Attributes
    ----------
    pieces : tuple of OffsetCurve
        The smooth offset of each piece, in time order (at least one).
    breaks_ns : tuple of int
        The step times between consecutive pieces (``len(pieces) - 1``, increasing).
    """

    pieces: tuple[OffsetCurve, ...]
    breaks_ns: tuple[int, ...] = ()

    @classmethod
    def smooth(cls, curve: OffsetCurve) -> SteppedCurve:
        """A curve without step."""
        return cls((curve,))

    def piece_index(self, t_ns: np.ndarray | int) -> np.ndarray:
        """The piece of each LST time."""
        return np.searchsorted(np.asarray(self.breaks_ns, dtype=np.int64),
                               np.asarray(t_ns, dtype=np.int64), side="right")

    def _each(self, t_ns: np.ndarray | int, method: str) -> np.ndarray:
        if not self.breaks_ns:
            return getattr(self.pieces[0], method)(t_ns)
        t = np.asarray(t_ns, dtype=np.int64)
        which = self.piece_index(t)
        out = np.zeros(t.shape)
        for k, piece in enumerate(self.pieces):
            mine = which == k
            if np.any(mine):
                out[mine] = getattr(piece, method)(t[mine])
        return out

    def __call__(self, t_ns: np.ndarray | int) -> np.ndarray:
        """The offset (float ns) at LST times ``t_ns``."""
        return self._each(t_ns, "__call__")

    def drift(self, t_ns: np.ndarray | int) -> np.ndarray:
        """The drift (ns per s) at LST times ``t_ns`` (the steps left out)."""
        return self._each(t_ns, "drift")

    def spans(self, t_lo_ns: int, t_hi_ns: int) -> list[tuple[int, int, OffsetCurve]]:
        """The pieces that hold within ``[t_lo, t_hi]``: (start, end, curve), clipped to it."""
        edges = [t_lo_ns, *[b for b in self.breaks_ns if t_lo_ns < b <= t_hi_ns], t_hi_ns]
        first = int(self.piece_index(t_lo_ns))
        return [(edges[i], edges[i + 1], self.pieces[first + i]) for i in range(len(edges) - 1)]

    def mean(self, t_lo_ns: int, t_hi_ns: int) -> float:
        """Mean of the offset over ``[t_lo, t_hi]`` (ns): the pieces weighted by their length."""
        spans = self.spans(t_lo_ns, t_hi_ns)
        if len(spans) == 1 or t_hi_ns <= t_lo_ns:
            return spans[0][2].mean(t_lo_ns, t_hi_ns)
        return sum(c.mean(a, b) * (b - a) for a, b, c in spans) / (t_hi_ns - t_lo_ns)

    def mean_drift(self, t_lo_ns: int, t_hi_ns: int) -> float:
        """Mean drift over ``[t_lo, t_hi]`` (ns per s), the steps left out."""
        if t_hi_ns <= t_lo_ns:
            return float(self.drift(t_lo_ns))
        change = sum(float(c(b)) - float(c(a)) for a, b, c in self.spans(t_lo_ns, t_hi_ns))
        return change / ((t_hi_ns - t_lo_ns) * 1e-9)

    def shifted(self, delta_ns: float) -> SteppedCurve:
        """The same model plus a constant."""
        return SteppedCurve(tuple(p.shifted(delta_ns) for p in self.pieces), self.breaks_ns)

    def steps(self) -> tuple[ClockStep, ...]:
        """The steps: at each break, the offsets of the pieces before and after it."""
        return tuple(
            ClockStep(int(b), float(self.pieces[k](b)), float(self.pieces[k + 1](b)))
            for k, b in enumerate(self.breaks_ns)
        )
