"""pairing/constant_model: one offset per subrun (the reference's model): the MAGIC times it
uses, the overlap window, its coincidence and the symptom of a drifting clock."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from lmcoinc.clock.scan import scan_offsets
from lmcoinc.config import load_config
from lmcoinc.pairing.anchored import explained_coincidence
from lmcoinc.pairing.constant_model import Model, profile_symptom
from lmcoinc.pairing.priors import Priors
from lmcoinc.results import TelescopeCoincidence

from ..helpers.driftdata import broken_gps, constant_coincidence, telescope_events

CONFIG = load_config(None)
FIXED = dataclasses.replace(CONFIG, pre_offset_search=False, offset_start_ns=-10_000,
                            offset_stop_ns=0)


def test_constant_mode_symptom():
    drifting_events, _ = broken_gps(seed=15, offset_ns=2.437e9, drift_ns_per_s=1000.0)
    assert profile_symptom(constant_coincidence(drifting_events), 300)
    steady, _ = broken_gps(seed=15, offset_ns=2.437e9, drift_ns_per_s=0.0)
    assert not profile_symptom(constant_coincidence(steady), 300)
    # A fixed scan range that misses the offset: no peak either.
    assert profile_symptom(constant_coincidence(steady, pre=None), 300)


def _found(counts: list[int], pre: int | None = None, average: int = 0) -> TelescopeCoincidence:
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.arange(len(counts), dtype=np.int64) * 100
    empty = np.empty(0, np.int64)
    return TelescopeCoincidence(pre, offsets, counts, average, empty, empty, empty)


@pytest.mark.parametrize(("counts", "pre", "average", "symptom"), [
    ([1, 2, 1, 60, 2, 1, 0], None, 300, False),     # a peak far above the median
    ([9, 10, 11, 10, 9, 10, 11], None, 300, True),  # flat: max - median 1 < median 10
    ([100, 100, 100, 149, 100, 100], None, 300, True),  # 49 above a median of 100
    ([100, 100, 100, 201, 100, 100], None, 300, False),  # 101 above: more than the median
    ([0, 0, 0, 3, 0, 0, 0], None, 300, False),      # median 0: any peak is one
    ([1, 2, 1, 60, 2, 1, 0], 0, 300, False),        # the pre-offset within the window
    ([1, 2, 1, 60, 2, 1, 0], -1, 300, True),        # 301 ns from the average
])
def test_profile_symptom_rule(counts, pre, average, symptom):
    """No peak: max - median < max(median, 5 sqrt(median)); or the pre-offset search and the
    average disagree by more than the window (300 ns)."""
    median = float(np.median(counts))
    rule = (max(counts) - median < max(median, 5 * np.sqrt(median))
            or (pre is not None and abs(average - pre) > 300))
    assert rule == symptom
    assert profile_symptom(_found(counts, pre, average), 300) is symptom


# --- the MAGIC times used, the overlap window ------------------------------------------


def test_overlap_window():
    t_first, t_last = 10**18, 10**18 + 5 * 10**9
    model = Model(CONFIG, Priors())
    assert model.overlap_window(t_first, t_last) == (t_first - 300, t_last + 300, "")
    lo, hi, how = Model(FIXED, Priors()).overlap_window(t_first, t_last)
    assert (lo, hi) == (t_first - 10_000 - 300, t_last - 100 + 300)
    assert how == " shifted by the scanned offsets -10 to -0.1 us"
    empty = dataclasses.replace(FIXED, offset_start_ns=0, offset_stop_ns=0)
    assert Model(empty, Priors()).overlap_window(t_first, t_last) is None


@pytest.mark.parametrize("config", [CONFIG, FIXED], ids=["pre-offset search", "fixed range"])
def test_magic_range_holds_every_magic_event_the_coincidence_uses(config):
    """The coincidence of the MAGIC events within magic_range is that of all of them (what
    the batch's cache relies on); the range is as narrow as the window allows."""
    events, _ = broken_gps(seed=3, duration_s=2.0, offset_ns=-3200.0, drift_ns_per_s=0.0,
                           magic_margin_s=5.0)
    model = Model(config, Priors())
    t_first, t_last = int(events.t_lst.min()), int(events.t_lst.max())
    lo, hi = model.magic_range(t_first, t_last)
    inside = np.flatnonzero((events.t_magic >= lo) & (events.t_magic <= hi))
    assert 0 < len(inside) < len(events.t_magic)
    full = model.coincide(telescope_events(events))
    part = model.coincide(telescope_events(dataclasses.replace(
        events, t_magic=events.t_magic[inside], intensity_magic=events.intensity_magic[inside])))
    assert part.average_offset_ns == full.average_offset_ns
    np.testing.assert_array_equal(part.counts, full.counts)
    np.testing.assert_array_equal(inside[part.candidates], full.candidates)
    np.testing.assert_array_equal(part.idx_lst, full.idx_lst)
    np.testing.assert_array_equal(part.idx_magic, full.idx_magic)
    if config.pre_offset_search:
        reach = t_last - t_first + 4 * 300 + 200
        assert (lo, hi) == (t_first - reach - 300, t_last + reach + 300)
    else:
        offsets = scan_offsets(-10_000, 0)
        assert lo <= t_first + offsets[0] - 300 and hi >= t_last + offsets[-1] + 300
        assert (lo, hi) == (t_first - 10_000 - 200 - 300, t_last + 200 + 300)


# --- the coincidence of a telescope ------------------------------------------------------


def test_coincide_is_the_explained_coincidence_and_warns_of_a_drift(caplog):
    model = Model(CONFIG, Priors())
    steady, _ = broken_gps(seed=15, offset_ns=-3200.0, drift_ns_per_s=0.0)
    drifting, _ = broken_gps(seed=15, offset_ns=-3200.0, drift_ns_per_s=1000.0)
    for events, warned in [(steady, False), (drifting, True)]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="lmcoinc.pairing.constant_model"):
            found = model.coincide(telescope_events(events))
        want = explained_coincidence(telescope_events(events), CONFIG, Priors())
        assert (found.average_offset_ns, found.clock_offset_ns, found.offset_source) == (
            want.average_offset_ns, want.clock_offset_ns, want.offset_source)
        np.testing.assert_array_equal(found.idx_lst, want.idx_lst)
        messages = [r.getMessage() for r in caplog.records
                    if r.name == "lmcoinc.pairing.constant_model"]
        assert messages == (["offset profile of MAGIC-I has no peak: the clocks may drift "
                             "(broken GPS?); try offset_model: drift"] if warned else [])


def test_no_outputs_and_nothing_learnt_from_the_run():
    found = constant_coincidence(broken_gps(seed=1, offset_ns=-3200.0, drift_ns_per_s=0.0,
                                            duration_s=1.0)[0])
    assert Model(CONFIG, Priors()).outputs({2: found}) == ({}, {})
    assert Model.run_curves([]) == {}
