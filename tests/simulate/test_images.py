"""Simulated DL1 images: Gaussian ellipses with the image parameters, and the image tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tables

from lmcoinc.simulate import SimulationConfig, simulate
from lmcoinc.simulate.images import elliptical_images

from ..helpers.simread import LST_IMAGE_KEY, LST_KEY, MAGIC_IMAGE_KEY, MAGIC_KEY

#: A square camera of 81 x 81 pixels of 1 cm.
GRID = np.arange(-40, 41) * 0.01
PIX_X, PIX_Y = (a.ravel() for a in np.meshgrid(GRID, GRID))


def _images(noise_pe=0.0, **rows):
    params = {"intensity": [1000.0], "x": [0.05], "y": [-0.1], "length_m": [0.08],
              "width_m": [0.03], "psi_rad": [0.5], "slope": [4.0], "intercept": [25.0]}
    params.update(rows)
    arrays = [np.asarray(v, dtype=float) for v in params.values()]
    return elliptical_images(np.random.default_rng(1), PIX_X, PIX_Y, *arrays,
                             noise_pe=noise_pe, threshold_pe=6.0)


def test_ellipse_has_the_parameters():
    (image,), (peak_time,), (mask,) = _images()
    assert abs(image.sum() - 1000.0) < 1e-9  # the intensity
    cx, cy = (image * PIX_X).sum() / 1000, (image * PIX_Y).sum() / 1000
    assert abs(cx - 0.05) < 1e-6 and abs(cy + 0.1) < 1e-6
    lon = (PIX_X - cx) * np.cos(0.5) + (PIX_Y - cy) * np.sin(0.5)
    lat = -(PIX_X - cx) * np.sin(0.5) + (PIX_Y - cy) * np.cos(0.5)
    assert abs(np.sqrt((image * lon**2).sum() / 1000) - 0.08) < 1e-3  # length
    assert abs(np.sqrt((image * lat**2).sum() / 1000) - 0.03) < 1e-3  # width
    assert abs((image * lon * lat).sum() / 1000) < 0.01 * 0.03**2  # the major axis along psi
    np.testing.assert_array_equal(mask, image > 6.0)  # no noise: the signal above threshold
    slope, intercept = np.polyfit(lon, peak_time, 1)  # times along the major axis, 1 ns jitter
    assert abs(slope - 4.0) < 0.2 and abs(intercept - 25.0) < 0.05
    assert abs(np.std(peak_time - 25.0 - 4.0 * lon) - 1.0) < 0.05


def test_noise_and_failed_rows():
    image, peak_time, mask = _images(
        noise_pe=1.5, intensity=[1000.0, np.nan], slope=[4.0, np.nan],
        intercept=[25.0, np.nan], x=[0.05, 0.05], y=[-0.1, -0.1], length_m=[0.08, 0.08],
        width_m=[0.03, 0.03], psi_rad=[0.5, 0.5])
    assert image.shape == peak_time.shape == mask.shape == (2, PIX_X.size)
    noise = image[1]  # NaN parameters: noise only, nothing kept, times around 20 ns
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1.5) < 0.1
    assert not mask[1].any() and abs(peak_time[1].mean() - 20.0) < 0.1
    signal = image[0] - noise.mean()
    assert abs(signal.sum() - 1000.0) < 5 * 1.5 * np.sqrt(PIX_X.size)
    assert mask[0].sum() > 5 and (image[0][mask[0]] > 6.0).all()


def test_images(tmp_path: Path) -> None:
    config = SimulationConfig(duration_s=0.3, magic_start_delay_s=-0.1, magic_extra_s=0.1,
                              images=True)  # fmt: skip
    files = simulate(tmp_path, config)
    with tables.open_file(files.lst_file) as f:
        params = f.get_node(LST_KEY).read()
        images = f.get_node(LST_IMAGE_KEY).read()
        assert f.get_node(LST_IMAGE_KEY).filters.complib == "blosc:zstd"
    assert images.shape == params.shape
    assert images["image"].shape[1] == 1855 and images["image"].dtype == np.float32
    assert images["peak_time"].dtype == np.float32
    assert images["image_mask"].dtype == np.bool_
    assert np.array_equal(images["event_id"], params["event_id"])
    assert (images["tel_id"] == 1).all()
    bright = params["intensity"] > 500
    assert images["image_mask"][bright].sum(axis=1).min() > 0
    for path in files.magic_files:
        with tables.open_file(path) as f:
            p = f.get_node(MAGIC_KEY).read()
            im = f.get_node(MAGIC_IMAGE_KEY).read()
        assert im["image"].shape == (len(p), 1039)
        assert im["image_mask"].dtype == np.bool_ and im["is_valid"].all()
        assert np.array_equal(im["event_id"], p["event_id"])
