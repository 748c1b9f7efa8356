"""The night model's levels: medians through jumps and outliers, per MAGIC run."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.batch.night import clock_levels, level_at, levels_frame

W = 300


def _levels(values, runs=None, positions=None):
    positions = np.arange(len(values)) if positions is None else np.asarray(positions)
    runs = [None] * len(values) if runs is None else runs
    return clock_levels(2, positions, np.asarray(values, dtype=float), runs, W)


def test_one_level_with_an_outlier():
    values = [-3200, -3210, -3195, -2500, -3205, -3190]
    (level,) = _levels(values)
    assert (level.first, level.last, level.n_subruns) == (0, 5, 5)
    assert level.clock_offset_ns == -3200
    assert level.mad_ns == 5


def test_a_jump_makes_two_levels():
    values = [-3200, -3205, -3198, -1500, -1510, -1490, -1505]
    first, second = _levels(values)
    assert (first.first, first.last, first.clock_offset_ns) == (0, 2, -3200)
    assert (second.first, second.last, second.clock_offset_ns) == (3, 6, -1502.5)
    assert level_at([first, second], 2) is first
    assert level_at([first, second], 3) is second


def test_an_outlier_first_is_dropped():
    (level,) = _levels([-9000, -3200, -3201, -3199])
    assert (level.first, level.n_subruns, level.clock_offset_ns) == (1, 3, -3200)


def test_levels_per_magic_run_and_nearest():
    runs = [11, 11, 11, 12, 12, 12]
    values = [-3200, -3201, -3199, -3300, -3301, -3299]
    levels = _levels(values, runs, positions=[0, 1, 2, 6, 7, 8])
    assert [(lv.magic_obs_id, lv.clock_offset_ns) for lv in levels] == [(11, -3200), (12, -3300)]
    # a subrun without a run of its own: the nearest level in the subrun order
    assert level_at(levels, 4).magic_obs_id == 11
    assert level_at(levels, 5).magic_obs_id == 12
    # with its MAGIC run known, that run's level even if another is nearer
    assert level_at(levels, 3, magic_run=12).magic_obs_id == 12
    assert level_at(levels, 3, magic_run=99).magic_obs_id == 11  # unknown run: nearest
    assert level_at([], 3) is None
    frame = levels_frame(levels, subruns=list(range(100, 109)))
    assert frame["first_subrun"].to_list() == [100, 106]
    assert frame["clock_offset_us"].to_list() == [-3.2, -3.3]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-20, 20), st.integers(2, 8)), min_size=1, max_size=5),
    st.randoms(use_true_random=False),
)
def test_piecewise_constant_clock_with_noise_and_outliers(pieces, random):
    """Levels ≥ 2 subruns long, a jump ≥ 3 w between neighbours, noise < w/4 and
    isolated outliers ≥ 3 w off: the levels found are the true ones."""
    values, truth, outliers = [], [], []
    level_value = -3200.0
    for k, (step, length) in enumerate(pieces):
        level_value += (3 * W + 50 * abs(step)) * (1 if step >= 0 else -1) if k else 0
        start = len(values)
        for i in range(length):
            values.append(level_value + random.uniform(-W / 4, W / 4))
            # an outlier inside a level, never at its edges nor beside another
            if 0 < i < length - 1 and random.random() < 0.2 and (
                    not outliers or outliers[-1] < len(values) - 2):
                outliers.append(len(values))
                values.append(level_value + random.choice([-1, 1]) * 5 * W)
        truth.append((start, len(values) - 1, length))
    levels = _levels(values)
    assert [(lv.first, lv.last, lv.n_subruns) for lv in levels] == truth
    for lv in levels:
        kept = [v for i, v in enumerate(values) if lv.first <= i <= lv.last and i not in outliers]
        assert lv.clock_offset_ns == np.median(kept)
