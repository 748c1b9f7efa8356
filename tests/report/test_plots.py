"""The report's figures: PNG files of the expected size that draw each telescope's data."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread

from lmcoinc.report import plots
from lmcoinc.report.data import load_output, telescope_rows

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: matplotlib's first two colours: MAGIC-I (tel 2) and MAGIC-II (tel 3)
BLUE, ORANGE = (0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)


def _size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE) and png[12:16] == b"IHDR"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _pixels_of(png: bytes, colour: tuple[int, int, int]) -> int:
    pixels = (imread(io.BytesIO(png))[..., :3] * 255).round().astype(int)
    return int((np.abs(pixels - colour).max(axis=-1) <= 10).sum())


@pytest.fixture(scope="module")
def data(run_outputs):
    return load_output(run_outputs())


@pytest.mark.parametrize(("draw", "panels"), [
    (plots.night_offsets_png, 1), (plots.night_pairs_png, 2), (plots.night_rates_png, 2),
    (plots.night_quality_png, 2),
])
def test_night_figures(data, draw, panels):
    rows = telescope_rows(data)
    png = draw(rows)
    assert _size(png) == (720, int((2.4 * panels + 0.6) * 80))  # 9 in wide at 80 dpi
    assert _pixels_of(png, BLUE) > 10 and _pixels_of(png, ORANGE) > 10  # both telescopes
    only_tel2 = draw(rows.filter(pl.col("tel_id") == 2))
    assert _pixels_of(only_tel2, BLUE) > 10 and _pixels_of(only_tel2, ORANGE) == 0


def test_offsets_follow_the_data(data):
    rows = telescope_rows(data)
    moved = rows.with_columns(pl.col("average_offset") + pl.Series([0.0, 0.0, 0.5, 0.5, 0, 0]))
    assert plots.night_offsets_png(moved) != plots.night_offsets_png(rows)


def test_profiles_on_one_reused_canvas(data):
    canvas = plots.ProfileCanvas()
    first, second, third = (canvas.png(s) for s in data.subruns)
    assert _size(first) == (432, 256)  # 5.4 x 3.2 in at 80 dpi
    assert len({first, second, third}) == 3
    assert canvas.png(data.subruns[0]) == first  # nothing left of the subruns drawn before
    assert _pixels_of(first, ORANGE) > 100  # tel 3's dashed profile, over tel 2's
    feature = data.subruns[0].feature
    tel2 = canvas.png(replace(data.subruns[0], feature=feature.filter(
        pl.col("coincidence_id") == 12)))
    assert _pixels_of(tel2, BLUE) > 100 and _pixels_of(tel2, ORANGE) == 0
    no_profile = canvas.png(replace(data.subruns[0], profile=None, feature=feature.filter(
        pl.col("coincidence_id") == 12)))
    assert 0 < _pixels_of(no_profile, BLUE) < _pixels_of(tel2, BLUE)  # the offset's lines only


def test_profile_with_an_offset_model(data):
    subrun = data.subruns[1]
    model = pl.DataFrame({"tel_id": [2, 2, 3, 3], "time": [1.7e9, 1.7e9 + 1] * 2,
                          "offset_us": [-3.2, -3.1, -3.3, -3.2]})
    plain = plots.ProfileCanvas().png(subrun)
    drawn = plots.ProfileCanvas().png(replace(subrun, offset_model=model))
    assert _size(drawn) == (720, 256)  # the model beside the profile
    assert _pixels_of(drawn, BLUE) > _pixels_of(plain, BLUE)
    without_columns = replace(subrun, offset_model=model.drop("offset_us"))
    assert plots.ProfileCanvas().png(without_columns) == plain  # not a model table: not drawn
    assert set(plots.MODEL_COLUMNS) == {"tel_id", "time", "offset_us"}


def test_piecewise_model_and_its_steps(data):
    """Drift mode's model of a subrun with a clock step: one line per segment (none drawn
    across the step) and a dotted line at the step, in the telescope's colour."""
    subrun = data.subruns[1]
    t = 1.7e9 + np.arange(6.0)
    model = pl.DataFrame({"tel_id": [2] * 6, "time": t, "segment": [0, 0, 0, 1, 1, 1],
                          "offset_us": [-3.2, -3.2, -3.2, -153.2, -153.2, -153.2]})
    segments = pl.DataFrame({"tel_id": [2, 2], "segment": [0, 1], "start": [t[0], t[3] - 0.5],
                             "step_us": [None, -150.0]})
    curves = plots._model_curves(model)
    assert [len(x) for x, _ in curves[2]] == [3, 3]  # two lines, not one through the step
    assert plots._steps(replace(subrun, offset_segments=segments), t[0]) == [(2, 2.5, -150.0)]
    assert plots._steps(replace(subrun, offset_segments=None), t[0]) == []
    unmarked = plots.ProfileCanvas().png(replace(subrun, offset_model=model))
    marked = plots.ProfileCanvas().png(replace(subrun, offset_model=model,
                                               offset_segments=segments))
    assert _pixels_of(marked, BLUE) > _pixels_of(unmarked, BLUE)
