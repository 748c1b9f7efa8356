"""Hillas-like image parameters drawn for given intensities: consistent with each other."""

from __future__ import annotations

import numpy as np

from lmcoinc.simulate.shapes import shower_shapes

KEYS = {"x", "y", "r", "phi", "psi", "length", "width", "length_uncertainty",
        "width_uncertainty", "skewness", "kurtosis", "leakage_intensity_width_1",
        "leakage_intensity_width_2", "leakage_pixels_width_1", "leakage_pixels_width_2",
        "concentration_cog", "concentration_core", "concentration_pixel", "n_pixels",
        "n_islands"}


def _shapes(n=5000, r_max=0.95, seed=0, intensity=None):
    rng = np.random.default_rng(seed)
    intensity = 10 ** rng.uniform(1.5, 5, n) if intensity is None else intensity
    return intensity, shower_shapes(np.random.default_rng(seed + 1), intensity, r_max)


def test_parameters_agree_with_each_other():
    intensity, s = _shapes()
    assert set(s) == KEYS and all(len(v) == len(intensity) for v in s.values())
    np.testing.assert_allclose(s["r"], np.hypot(s["x"], s["y"]))
    np.testing.assert_allclose(s["phi"], np.arctan2(s["y"], s["x"]))
    assert s["r"].max() <= 0.95
    assert (np.abs(s["psi"]) <= np.pi / 2).all()
    assert (0 < s["width"]).all() and (s["width"] <= s["length"]).all()
    assert (s["length_uncertainty"] > 0).all() and (s["width_uncertainty"] > 0).all()
    l1, l2 = s["leakage_intensity_width_1"], s["leakage_intensity_width_2"]
    assert (0 <= l1).all() and (l1 <= l2).all() and (l2 <= 1).all()
    assert ((l1 > 0) == (s["leakage_pixels_width_1"] > 0)).all()
    pixels = s["leakage_pixels_width_1"] * s["n_pixels"]
    np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-9)  # whole pixels
    for name in ("concentration_cog", "concentration_core", "concentration_pixel"):
        assert (0 <= s[name]).all() and (s[name] <= 1).all()
    assert s["n_pixels"].dtype == s["n_islands"].dtype == np.int64
    assert (s["n_pixels"] >= 4).all() and (s["n_islands"] >= 1).all()
    # images at the camera edge leak more often
    edge = s["r"] > 0.9 * 0.95
    assert (l1[edge] > 0).mean() > 2 * (l1[~edge] > 0).mean()


def test_brighter_showers_are_larger():
    _, faint = _shapes(intensity=np.full(2000, 50.0))
    _, bright = _shapes(intensity=np.full(2000, 5e4))
    assert np.median(bright["length"]) > 2 * np.median(faint["length"])
    assert np.median(bright["n_pixels"]) > 10 * np.median(faint["n_pixels"])
    assert np.median(bright["length_uncertainty"] / bright["length"]) < np.median(
        faint["length_uncertainty"] / faint["length"])


def test_same_draws_same_parameters():
    _, a = _shapes(seed=4)
    _, b = _shapes(seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in KEYS)
    assert shower_shapes(np.random.default_rng(0), np.array([]), 1.0)["x"].shape == (0,)
