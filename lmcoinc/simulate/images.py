"""Simulated DL1 images: Gaussian ellipses matching the image parameters (numpy only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .tablewriter import append_columns

__all__ = ["ELLIPSE_KEYS", "append_images", "elliptical_images"]

_CHUNK_ROWS = 1_000  # images are made and written this many rows at a time
#: the per-row parameters of :func:`elliptical_images`, in its argument order
ELLIPSE_KEYS = ("intensity", "x", "y", "length_m", "width_m", "psi_rad", "slope", "intercept")


def append_images(
    table: Any,
    template: np.void,
    rng: np.random.Generator,
    geometry: Any,
    ellipses: dict[str, np.ndarray],
    noise_pe: float,
    rows: Callable[..., dict[str, np.ndarray]],
) -> None:
    """Append simulated images to an image table, chunk by chunk.

    Parameters
    ----------
    table, template
        The image table and its template row (:func:`template_table`).
    rng : numpy.random.Generator
        Random generator of the images.
    geometry : ctapipe.instrument.CameraGeometry
        The camera.
    ellipses : dict of numpy.ndarray
        The :data:`ELLIPSE_KEYS` of every row.
    noise_pe : float
        Noise rms (p.e.) of every pixel.
    rows : callable
        ``rows(sl, image, peak_time, mask)`` → the columns of the rows ``sl``.
    """
    from astropy import units as u

    px, py = geometry.pix_x.to_value(u.m), geometry.pix_y.to_value(u.m)
    n = ellipses["intensity"].size
    for start in range(0, n, _CHUNK_ROWS):
        sl = slice(start, min(start + _CHUNK_ROWS, n))
        params = (ellipses[key][sl] for key in ELLIPSE_KEYS)
        image, peak_time, mask = elliptical_images(
            rng, px, py, *params, noise_pe=noise_pe, threshold_pe=6.0
        )
        append_columns(table, template, rows(sl, image, peak_time, mask), image.shape[0])


def elliptical_images(
    rng: np.random.Generator,
    pix_x: np.ndarray,
    pix_y: np.ndarray,
    intensity: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    length_m: np.ndarray,
    width_m: np.ndarray,
    psi_rad: np.ndarray,
    slope: np.ndarray,
    intercept: np.ndarray,
    noise_pe: float,
    threshold_pe: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian-ellipse images (signal + noise), peak times along the major axis and masks.

    Rows whose parameters are NaN get noise only (empty mask).
    """
    ok = np.isfinite(intensity) & np.isfinite(length_m) & np.isfinite(width_m)
    amp = np.where(ok, intensity, 0.0)[:, None]
    cx, cy = np.where(ok, x, 0.0)[:, None], np.where(ok, y, 0.0)[:, None]
    sl = np.where(ok, np.maximum(length_m, 1e-3), 1.0)[:, None]
    sw = np.where(ok, np.maximum(width_m, 1e-3), 1.0)[:, None]
    cpsi, spsi = (
        np.cos(np.where(ok, psi_rad, 0.0))[:, None],
        np.sin(np.where(ok, psi_rad, 0.0))[:, None],
    )
    dx, dy = pix_x[None, :] - cx, pix_y[None, :] - cy
    lon = dx * cpsi + dy * spsi
    lat = -dx * spsi + dy * cpsi
    prof = np.exp(-0.5 * ((lon / sl) ** 2 + (lat / sw) ** 2))
    norm = prof.sum(axis=1, keepdims=True)
    signal = amp * prof / np.where(norm > 0, norm, 1.0)
    image = signal + rng.normal(0.0, noise_pe, signal.shape)
    mask = (signal > threshold_pe) & (image > threshold_pe)
    t_slope = np.where(np.isfinite(slope), slope, 0.0)[:, None]
    t_icpt = np.where(np.isfinite(intercept), intercept, 20.0)[:, None]
    peak_time = t_icpt + t_slope * lon + rng.normal(0.0, 1.0, signal.shape)
    return image, peak_time, mask
