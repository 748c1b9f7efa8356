"""Image parameters of showers drawn around plausible values (no camera, no I/O)."""

from __future__ import annotations

import numpy as np

__all__ = ["shower_shapes"]


def shower_shapes(
    rng: np.random.Generator, intensity: np.ndarray, r_max_m: float
) -> dict[str, np.ndarray]:
    """Hillas-like image parameters drawn around plausible values for the given intensities.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator (the draws are made in a fixed order).
    intensity : numpy.ndarray
        Image intensities (p.e.).
    r_max_m : float
        Radius (m) of the camera area where the image centres lie.

    Returns
    -------
    dict of numpy.ndarray
        x, y, r (m), phi, psi (rad), length, width and uncertainties (deg,
        angular), skewness, kurtosis, leakage, concentration, n_pixels,
        n_islands.
    """
    n = intensity.size
    lg = np.log10(intensity)
    length = 10 ** rng.normal(np.log10(0.10) + 0.15 * (lg - 2.0), 0.12)
    wl = np.clip(rng.beta(2.5, 3.0, n), 0.08, 1.0)
    width = length * wl
    rad = r_max_m * np.sqrt(rng.random(n))
    ang = rng.uniform(-np.pi, np.pi, n)
    x, y = rad * np.cos(ang), rad * np.sin(ang)
    edge = np.clip((rad / r_max_m - 0.7) / 0.3, 0.0, 1.0)
    leak1 = np.where(rng.random(n) < 0.1 + 0.8 * edge, rng.beta(0.8, 6.0, n) * (0.2 + edge), 0.0)
    leak2 = np.minimum(leak1 + np.where(leak1 > 0, rng.beta(1.0, 5.0, n) * 0.3, 0.0), 1.0)
    n_pixels = np.round(4 + 1.5 * intensity**0.55 * rng.lognormal(0.0, 0.15, n)).astype(np.int64)
    pix1 = np.where(leak1 > 0, np.ceil(leak1 * n_pixels) / n_pixels, 0.0)
    pix2 = np.where(leak2 > 0, np.minimum(np.ceil(leak2 * n_pixels * 1.5) / n_pixels, 1.0), 0.0)
    conc_pixel = np.clip(0.22 * (intensity / 50.0) ** -0.2 * rng.lognormal(0.0, 0.3, n), 0.01, 0.8)
    conc_cog = np.clip(conc_pixel * rng.uniform(1.5, 2.6, n), 0.0, 1.0)
    conc_core = np.clip(rng.beta(5.0, 4.0, n) * 0.9, 0.05, 0.95)
    return {
        "x": x,
        "y": y,
        "r": rad,
        "phi": np.arctan2(y, x),
        "psi": rng.uniform(-np.pi / 2, np.pi / 2, n),
        "length": length,
        "width": width,
        "length_uncertainty": length * rng.uniform(0.5, 1.5, n) / np.sqrt(intensity),
        "width_uncertainty": width * rng.uniform(0.5, 1.5, n) / np.sqrt(intensity),
        "skewness": rng.normal(0.0, 0.35, n),
        "kurtosis": 1.8 + rng.gamma(2.0, 0.4, n),
        "leakage_intensity_width_1": leak1,
        "leakage_intensity_width_2": leak2,
        "leakage_pixels_width_1": pix1,
        "leakage_pixels_width_2": pix2,
        "concentration_cog": conc_cog,
        "concentration_core": conc_core,
        "concentration_pixel": conc_pixel,
        "n_pixels": n_pixels,
        "n_islands": 1 + rng.poisson(0.3, n).astype(np.int64),
    }
