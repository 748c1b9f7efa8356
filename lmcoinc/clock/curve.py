"""A clock offset that changes with time: a quadratic spline of the LST time.

``offset(t)`` is the MAGIC clock minus the LST clock for an event at LST time
``t`` (int64 ns): a constant, a drift and slow changes of the drift. Within
each knot interval it is a quadratic; value and drift are continuous at the
knots (at most :data:`KNOT_SPACING_S` apart). Pure numpy: fit, evaluate, mean, shift.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["KNOT_SPACING_S", "OffsetCurve", "fit_offset_curve"]

#: Spacing of the knots where the change of the drift may change (s).
KNOT_SPACING_S = 60.0
#: Shortest span of the data that constrains a change of the drift (s).
MIN_QUADRATIC_SPAN_S = 2.0
#: Standard errors a model's highest term must reach to be kept.
SIGNIFICANCE = 3.0


@dataclass(frozen=True)
class OffsetCurve:
    """``offset(t) = Σ coef_k b_k(x)``, ``x = (t - t_ref) / 1e9`` (s).

    The basis is ``1, x, x², (x - k_1)₊², (x - k_2)₊², ...`` up to ``degree``
    (0, 1 or 2); knots only with degree 2.

    Attributes
    ----------
    t_ref_ns : int
        Reference time (UNIX ns).
    coef : tuple of float
        Coefficients in ns, ns/s, ns/s², ...
    knots_s : tuple of float
        Interior knots (s from ``t_ref_ns``).
    """

    t_ref_ns: int
    coef: tuple[float, ...]
    knots_s: tuple[float, ...] = ()

    @property
    def degree(self) -> int:
        """Polynomial degree within a knot interval."""
        return min(len(self.coef) - 1, 2)

    def seconds(self, t_ns: np.ndarray | int) -> np.ndarray:
        """Seconds from ``t_ref_ns`` (exact int64 difference, then float)."""
        return (np.asarray(t_ns, dtype=np.int64) - np.int64(self.t_ref_ns)) * 1e-9

    def __call__(self, t_ns: np.ndarray | int) -> np.ndarray:
        """The offset (float ns) at LST times ``t_ns``."""
        if len(self.coef) == 1 and not self.knots_s:  # a constant: the basis is all ones
            c = np.float64(self.coef[0])
            return c if np.ndim(t_ns) == 0 else np.full(np.shape(t_ns), c)
        return basis(self.seconds(t_ns), self.degree, self.knots_s) @ np.asarray(self.coef)

    def drift(self, t_ns: np.ndarray | int) -> np.ndarray:
        """The drift d offset / dt (ns per s) at LST times ``t_ns``."""
        x = self.seconds(t_ns)
        c = self.coef
        out = np.zeros(np.shape(x)) + (c[1] if len(c) > 1 else 0.0)
        if len(c) > 2:
            out = out + 2 * c[2] * x
        for k, ck in zip(self.knots_s, c[3:], strict=True):
            out = out + 2 * ck * np.maximum(x - k, 0.0)
        return out

    def mean(self, t_lo_ns: int, t_hi_ns: int) -> float:
        """Mean of the offset over ``[t_lo, t_hi]`` (exact integral / length, ns)."""
        a, b = float(self.seconds(t_lo_ns)), float(self.seconds(t_hi_ns))
        if b <= a:
            return float(self(t_lo_ns))
        c = self.coef
        total = sum(ck * (b ** (p + 1) - a ** (p + 1)) / (p + 1) for p, ck in enumerate(c[:3]))
        for k, ck in zip(self.knots_s, c[3:], strict=True):
            total += ck * (max(b - k, 0.0) ** 3 - max(a - k, 0.0) ** 3) / 3
        return total / (b - a)

    def shifted(self, delta_ns: float) -> OffsetCurve:
        """The same model plus a constant."""
        return replace(self, coef=(self.coef[0] + delta_ns, *self.coef[1:]))


def basis(x: np.ndarray, degree: int, knots_s: tuple[float, ...] = ()) -> np.ndarray:
    """Design matrix ``(n, degree + 1 + len(knots))`` of the model at seconds ``x``."""
    x = np.asarray(x, dtype=np.float64)
    columns = [x**p for p in range(degree + 1)]
    columns += [np.maximum(x - k, 0.0) ** 2 for k in knots_s]
    return np.stack(columns, axis=-1)


def fit_offset_curve(t_ns: np.ndarray, offset_ns: np.ndarray) -> OffsetCurve:
    """Least-squares model of offsets measured at LST times.

    The degree follows the time span of the measurements: a constant for a
    single instant, a drift below :data:`MIN_QUADRATIC_SPAN_S`, else a
    quadratic spline with evenly spaced knots at most
    :data:`KNOT_SPACING_S` seconds apart. Without knots, the highest term
    is dropped while it is below :data:`SIGNIFICANCE` standard errors: a
    steady clock gets a constant, not a drift fitted to the noise.

    Parameters
    ----------
    t_ns : numpy.ndarray of int64
        LST times (any order), at least one.
    offset_ns : numpy.ndarray
        MAGIC minus LST time of each (ns).
    """
    t_ns = np.asarray(t_ns, dtype=np.int64)
    offset_ns = np.asarray(offset_ns, dtype=np.float64)
    t_lo, t_hi = int(t_ns.min()), int(t_ns.max())
    t_ref = t_lo + (t_hi - t_lo) // 2
    span = (t_hi - t_lo) * 1e-9
    degree = 0 if span == 0 or len(t_ns) < 3 else 1 if span < MIN_QUADRATIC_SPAN_S else 2
    n_knots = max(0, int(np.ceil(span / KNOT_SPACING_S)) - 1) if degree == 2 else 0
    knots = tuple(-span / 2 + span * (i + 1) / (n_knots + 1) for i in range(n_knots))
    x = (t_ns - np.int64(t_ref)) * 1e-9
    while True:
        coef, error = _least_squares(basis(x, degree, knots), offset_ns)
        if knots or degree == 0 or abs(coef[degree]) >= SIGNIFICANCE * error[degree]:
            return OffsetCurve(t_ref, tuple(float(c) for c in coef), knots)
        degree -= 1


def _least_squares(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and their standard errors (inf without degrees of freedom)."""
    # Columns scaled to unit size and y centred, for a well-conditioned solve.
    scale = np.maximum(np.abs(design).max(axis=0), 1e-300)
    centre = float(np.median(y))
    a = design / scale
    coef, *_ = np.linalg.lstsq(a, y - centre, rcond=None)
    n, p = a.shape
    if n > p:
        variance = float(np.sum((y - centre - a @ coef) ** 2)) / (n - p)
        error = np.sqrt(variance * np.diag(np.linalg.pinv(a.T @ a))) / scale
    else:
        error = np.full(p, np.inf)
    coef = coef / scale
    coef[0] += centre
    return coef, error
