"""Accidental pairs: the grid widths against brute force, the estimates against the false
pairs counted in a two-system simulation with dead times."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcoinc.pairing.accidentals import (
    difference_phases,
    expected_accidentals,
    sideband_accidentals,
    window_sides_ns,
)
from lmcoinc.pairing.telescope import coincide_telescope
from lmcoinc.quality.livetime import effective_time

from ..helpers.detectors import two_systems


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=40),
       st.lists(st.integers(0, 10**6), min_size=1, max_size=40), st.integers(2, 30))
def test_difference_phases_match_all_pairs(t_lst, t_magic, step):
    t_lst, t_magic = np.array(t_lst), np.array(t_magic)
    diffs = np.mod(t_magic[:, None] - t_lst[None, :], step).ravel()
    want = np.bincount(diffs, minlength=step) / diffs.size
    np.testing.assert_allclose(difference_phases(t_lst, t_magic, step), want, atol=1e-12)


def _sides_bruteforce(phases, w, o):
    """Every integer difference d in [o - w, o + w] stands for the true differences around
    it, one grid step of them per grid point: weight P(d mod step) x step, split at o."""
    step, before, after = len(phases), 0.0, 0.0
    for d in range(int(np.ceil(o - w)), int(np.floor(o + w)) + 1):
        earlier = min(max(d - o + step / 2, 0.0), step)
        before += phases[d % step] * earlier
        after += phases[d % step] * (step - earlier)
    return before, after


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=120), st.integers(1, 900),
       st.floats(-5000, 5000))
def test_window_sides_match_bruteforce(weights, w, o):
    phases = np.array(weights) / (sum(weights) or 1.0)
    np.testing.assert_allclose(window_sides_ns(phases, w, o), _sides_bruteforce(phases, w, o),
                               atol=1e-9)


def test_window_sides_on_the_100ns_grid():
    on_grid = np.eye(100)[0]  # every timestamp a multiple of 100 ns
    assert window_sides_ns(on_grid, 300, -3200) == (350.0, 350.0)  # 7 points
    assert window_sides_ns(on_grid, 300, -3192) == (342.0, 258.0)  # 6 points
    assert sum(window_sides_ns(np.full(100, 0.01), 300, -3192)) == pytest.approx(601.0)


@pytest.fixture(scope="module")
def busy_subrun():
    """A subrun at 20 kHz LST-1 and 4 kHz MAGIC: hundreds of accidental pairs."""
    sim = two_systems(np.random.default_rng(11), duration_s=10.0, magic_hz=4000.0)
    found = coincide_telescope(sim.lst_t, np.ones(len(sim.lst_t)), sim.magic_t,
                               np.ones(len(sim.magic_t)), window_ns=300,
                               pre_offset_search_events=None, offset_range_ns=(-6000, -400))
    cand = found.candidates[found.idx_magic]
    false = int((sim.lst_shower[found.idx_lst] != sim.magic_shower[cand]).sum())
    live = effective_time(sim.lst_t, sim.lst_diff, sim.magic_t - sim.offset, sim.magic_diff)
    phases = difference_phases(sim.lst_t, sim.magic_t[found.candidates])
    return sim, found, false, live, phases


def test_expected_accidentals_match_the_false_pairs(busy_subrun):
    sim, found, false, live, phases = busy_subrun
    rate = len(sim.lst_t) / (sim.duration_ns * 1e-9)
    sides = window_sides_ns(phases, 300, found.average_offset_ns)
    n_magic, n_pairs = len(found.candidates), len(found.idx_lst)
    magic_live_s = live.elapsed_s * live.magic.live_fraction
    expected = expected_accidentals(n_magic, n_pairs, rate, sides, 1 - live.lst.live_fraction,
                                    magic_live_s)
    assert false > 250
    assert expected == pytest.approx(false, rel=0.1)
    # as if the events were independent (no dead time): far too many
    assert expected_accidentals(n_magic, n_pairs, rate, sides) > 1.25 * false


def test_sideband_estimate_matches_the_false_pairs(busy_subrun):
    sim, found, false, live, phases = busy_subrun
    reach = live.lst.dead_time_s * 1e9 - 300
    estimate = sideband_accidentals(found.offsets_ns, found.counts, found.average_offset_ns,
                                    300, phases, reach)
    assert estimate == pytest.approx(false, rel=0.15)
    # a profile that does not reach 2w beyond the peak on both sides has no side band
    near = np.abs(found.offsets_ns - found.average_offset_ns) <= 600
    assert sideband_accidentals(found.offsets_ns[near], found.counts[near],
                                found.average_offset_ns, 300, phases) is None
