"""The offset with steps: each piece where it holds, against a loop over the events."""

from __future__ import annotations

import numpy as np
import pytest

from lmcoinc.clock.curve import OffsetCurve
from lmcoinc.clock.piecewise import SteppedCurve

T0 = 1_700_000_000 * 10**9
PIECES = (OffsetCurve(T0, (1000.0, 20.0, 3.0)), OffsetCurve(T0 + 4 * 10**9, (-5.0e5, -7.0)),
          OffsetCurve(T0, (2.0e6,)))
BREAKS = (T0 + 3 * 10**9, T0 + 6 * 10**9 + 17)
CURVE = SteppedCurve(PIECES, BREAKS)


def _loop(t: np.ndarray, method: str) -> np.ndarray:
    out = []
    for ti in t.tolist():
        k = sum(ti >= b for b in BREAKS)  # a step holds from its time on
        out.append(float(getattr(PIECES[k], method)(ti)))
    return np.array(out)


def test_value_and_drift_of_the_piece_that_holds():
    t = np.array([T0 - 10**9, T0, BREAKS[0] - 1, BREAKS[0], BREAKS[0] + 1, BREAKS[1] - 1,
                  BREAKS[1], T0 + 9 * 10**9], dtype=np.int64)
    np.testing.assert_array_equal(CURVE(t), _loop(t, "__call__"))
    np.testing.assert_array_equal(CURVE.drift(t), _loop(t, "drift"))
    assert CURVE.piece_index(t).tolist() == [0, 0, 0, 1, 1, 1, 2, 2]


def test_mean_and_mean_drift_against_dense_sums():
    lo, hi = T0 + 10**9, T0 + 8 * 10**9
    t = np.linspace(lo, hi, 2_000_001).astype(np.int64)
    assert CURVE.mean(lo, hi) == pytest.approx(np.mean(CURVE(t)), abs=2.0)
    # the drift without the steps: the change within each piece over the span
    change = sum(float(c(b)) - float(c(a)) for a, b, c in CURVE.spans(lo, hi))
    assert CURVE.mean_drift(lo, hi) == pytest.approx(change / 7.0)
    assert abs(CURVE.mean_drift(lo, hi)) < 100  # the 2 s jumps left out


def test_spans_steps_and_shift():
    spans = CURVE.spans(T0 + 10**9, T0 + 5 * 10**9)
    assert [(a, b) for a, b, _ in spans] == [(T0 + 10**9, BREAKS[0]), (BREAKS[0], T0 + 5 * 10**9)]
    assert [c for _, _, c in spans] == list(PIECES[:2])
    assert len(CURVE.spans(T0 + 7 * 10**9, T0 + 8 * 10**9)) == 1
    first, second = CURVE.steps()
    assert first.time_ns == BREAKS[0]
    assert first.before_ns == float(PIECES[0](BREAKS[0]))
    assert first.after_ns == float(PIECES[1](BREAKS[0]))
    assert second.size_ns == pytest.approx(2.0e6 - float(PIECES[1](BREAKS[1])))
    shifted = CURVE.shifted(12.5)
    t = np.array([T0, BREAKS[0], BREAKS[1]])
    np.testing.assert_allclose(shifted(t), CURVE(t) + 12.5)
    assert shifted.steps()[0].size_ns == pytest.approx(first.size_ns)


def test_a_smooth_curve_is_its_one_piece_exactly():
    piece = OffsetCurve(T0, (2.437e9, 3100.0, -0.4, 0.3), (15.0,))
    smooth = SteppedCurve.smooth(piece)
    t = T0 + np.linspace(0, 3e10, 1001).astype(np.int64)
    assert smooth(t).tobytes() == piece(t).tobytes()
    assert smooth.drift(t).tobytes() == piece.drift(t).tobytes()
    assert smooth.mean(int(t[0]), int(t[-1])) == piece.mean(int(t[0]), int(t[-1]))
    span_s = (t[-1] - t[0]) * 1e-9
    assert smooth.mean_drift(int(t[0]), int(t[-1])) == (
        (float(piece(t[-1])) - float(piece(t[0]))) / span_s)
    assert smooth.steps() == ()
