"""The drifting offset model: fit, value, drift and mean against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.clock.curve import KNOT_SPACING_S, OffsetCurve, basis, fit_offset_curve

T0 = 1_700_000_000 * 10**9


def _spline(x: np.ndarray, coef: list[float], knots: list[float]) -> np.ndarray:
    """Brute force: the quadratic spline written out term by term."""
    out = coef[0] + coef[1] * x + coef[2] * x * x
    for k, c in zip(knots, coef[3:], strict=True):
        out = out + c * np.where(x > k, (x - k) ** 2, 0.0)
    return out


def test_fit_recovers_a_quadratic_exactly():
    t = T0 + np.sort(np.random.default_rng(1).integers(0, 10 * 10**9, 500))
    x = (t - T0) * 1e-9
    truth = 2_437_000_000.0 + 3100.0 * x + 0.7 * x * x
    model = fit_offset_curve(t, truth)
    assert model.degree == 2 and model.knots_s == ()
    np.testing.assert_allclose(model(t), truth, atol=1e-4, rtol=0)
    np.testing.assert_allclose(model.drift(t), 3100.0 + 1.4 * x, atol=1e-6, rtol=0)


def test_fit_of_a_long_span_follows_a_changing_drift():
    """Over a run the drift changes: knots at most KNOT_SPACING_S apart, as few as that allows."""
    t = T0 + np.sort(np.random.default_rng(2).integers(0, 300 * 10**9, 5000))
    x = (t - T0) * 1e-9
    truth = -1.2e9 + 5000.0 * x + 2000.0 * np.sin(x / 100.0)
    model = fit_offset_curve(t, truth)
    edges = np.diff([x.min() - 150, *model.knots_s, x.max() - 150])
    assert edges.max() <= KNOT_SPACING_S and len(model.knots_s) == 4
    quadratic = fit_offset_curve(t[x < 1.9], truth[x < 1.9])
    assert quadratic.degree == 1  # below MIN_QUADRATIC_SPAN_S: a drift only
    assert np.abs(model(t) - truth).max() < 20.0  # a sine of 2 µs amplitude, 630 s period


def test_value_drift_and_mean_against_brute_force():
    knots = [-20.0, 15.0]
    coef = [5.0e8, -2000.0, 0.3, -0.5, 0.25]
    model = OffsetCurve(T0, tuple(coef), tuple(knots))
    t = T0 + np.linspace(-60e9, 50e9, 200_001).astype(np.int64)
    x = (t - T0) * 1e-9
    values = _spline(x, coef, knots)
    np.testing.assert_allclose(model(t), values, rtol=0, atol=1e-6)
    numeric = np.gradient(values, x)
    np.testing.assert_allclose(model.drift(t)[1:-1], numeric[1:-1], rtol=0, atol=1e-3)
    # The mean over an interval: the trapezoidal integral of the dense values.
    mean = model.mean(int(t[0]), int(t[-1]))
    integral = np.sum((values[1:] + values[:-1]) / 2 * np.diff(x))  # np.trapezoid: numpy >= 2
    assert mean == pytest.approx(integral / (x[-1] - x[0]), abs=1e-3)
    assert model.shifted(7.5)(t[:5]) == pytest.approx(values[:5] + 7.5)


def test_single_instant_is_a_constant():
    model = fit_offset_curve(np.array([T0, T0]), np.array([10.0, 20.0]))
    assert model.degree == 0
    assert model(T0 + 10**9) == pytest.approx(15.0)
    assert model.mean(T0, T0) == pytest.approx(15.0)


def _selected_degree(x: np.ndarray, y: np.ndarray, degree: int) -> tuple[int, np.ndarray]:
    """Brute force: drop the highest term of np.polyfit while below 3 standard errors."""
    while True:
        coef, cov = np.polyfit(x, y, degree, cov=True)  # scaled by chi2 / (n - degree - 1)
        if degree == 0 or abs(coef[0]) >= 3 * np.sqrt(cov[0, 0]):
            return degree, coef[::-1]
        degree -= 1


@pytest.mark.parametrize(
    ("drift", "curvature"), [(0.0, 0.0), (0.3, 0.0), (3.0, 0.0), (1000.0, 0.0), (0.0, 2.0),
                             (3100.0, 0.5), (3100.0, 0.01)],
)
def test_insignificant_terms_are_dropped(drift, curvature):
    """A steady clock is a constant; a drift or a change of it is kept when significant."""
    rng = np.random.default_rng(int(drift + 10 * curvature))
    t = T0 + np.sort(rng.integers(0, 10 * 10**9, 1400))
    t_ref = int(t.min()) + (int(t.max()) - int(t.min())) // 2
    x = (t - t_ref) * 1e-9
    y = 1.5e9 + drift * x + curvature * x * x + rng.normal(0.0, 95.0, len(t))
    model = fit_offset_curve(t, y)
    degree, coef = _selected_degree(x, y - 1.5e9, 2)
    assert model.degree == degree and model.t_ref_ns == t_ref
    np.testing.assert_allclose(np.array(model.coef) - [1.5e9, 0, 0][:degree + 1], coef,
                               rtol=1e-6, atol=1e-3)
    if drift == 0.0 and curvature == 0.0:
        assert model.degree == 0
    if drift >= 1000.0:
        assert model.degree >= 1


@pytest.mark.parametrize("offset", [-3_200.5, 0.0, 1e12, float("inf")])
def test_a_constant_is_its_basis_times_its_coefficient(offset):
    """A constant's shortcut gives what its design matrix gives, bit for bit and in shape."""
    curve = OffsetCurve(1_700_000_000_000_000_000, (offset,))
    t = np.array([1_699_999_990_000_000_000, 1_700_000_000_000_000_000, 1_700_000_012_345_678_901])
    full = basis(curve.seconds(t), 0) @ np.asarray(curve.coef)
    assert np.array_equal(curve(t), full) and curve(t).dtype == full.dtype
    one = basis(curve.seconds(t[1]), 0) @ np.asarray(curve.coef)
    assert curve(int(t[1])) == one and np.shape(curve(int(t[1]))) == np.shape(one)
    assert curve(t[:0]).shape == (0,)
