"""pairing/coincidence: every MAGIC telescope of a subrun given to the offset model in
ascending tel_id, the telescopes without coincidence skipped, candidates mapped to the MAGIC
rows; the log of each telescope as the reference's; the clock columns."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lmcoinc.errors import NoCoincidenceError
from lmcoinc.io.lst_events import LstEvents
from lmcoinc.io.magic_events import MagicEvents
from lmcoinc.pairing.coincidence import clock_columns, log_telescope, pair_telescopes
from lmcoinc.results import TelescopeCoincidence, TelescopeSkipped
from lmcoinc.utils.timer import StageTimer

NAMES = {2: "MAGIC-I", 3: "MAGIC-II", 4: "MAGIC-X"}
#: MAGIC rows in prepared order (the telescopes interleaved)
TEL_OF_ROW = [3, 2, 2, 4, 3, 2, 4]


def _lst() -> LstEvents:
    t = 1_700_000_000 * 10**9 + np.array([0, 5000, 9000], dtype=np.int64)
    return LstEvents(path=Path("hand-made"), keys=pl.DataFrame({"obs_id_lst": [1, 1, 1]}),
                     t_ns=t, intensity=np.array([10.0, 20.0, 30.0]), columns=[],
                     focal_length_m=28.0, timestamp_column="dragon_time",
                     file_rows=np.arange(3))


def _magic() -> MagicEvents:
    n = len(TEL_OF_ROW)
    t = 1_700_000_000 * 10**9 + 1000 * np.arange(n)
    return MagicEvents.from_frame(pl.DataFrame({
        "obs_id_magic": np.ones(n, np.int64), "event_id_magic": np.arange(n),
        "tel_id": TEL_OF_ROW, "time_sec": t // 10**9, "time_nanosec": t % 10**9,
        "intensity": np.arange(n) * 1.5, "pointing_alt": np.arange(n) * 0.01,
        "pointing_az": np.arange(n) * 0.02,
    }), files=[])


def _paired(last: int) -> TelescopeCoincidence:
    """Pairs of LST rows 0 and 2 with a telescope's first and last event (``last``)."""
    return TelescopeCoincidence(-3200, np.array([-3300, -3200]), np.array([1, 2]), -3250,
                                np.array([0, last]), np.array([0, 2]), np.array([0, 1]),
                                clock_offset_ns=-3251.5)


class Recorder:
    """An offset model that records what it is given; skips the telescopes of ``skip``,
    pairs the others' first and last events (candidates: positions in its events)."""

    def __init__(self, skip: set[int]) -> None:
        self.skip, self.given = skip, []

    def coincide(self, events):
        self.given.append(events)
        if events.tel_id in self.skip:
            raise TelescopeSkipped("no pairs here")
        return _paired(len(events.t_magic) - 1)


def test_each_telescope_in_ascending_order_with_its_own_events(caplog):
    lst, magic, model, timer = _lst(), _magic(), Recorder({3}), StageTimer()
    with caplog.at_level(logging.DEBUG, logger="lmcoinc.pairing.coincidence"):
        found = pair_telescopes(lst, magic, model, NAMES, timer)
    assert [e.tel_id for e in model.given] == [2, 3, 4]
    tel_of = np.array(TEL_OF_ROW)
    for events in model.given:
        rows = np.flatnonzero(tel_of == events.tel_id)
        assert events.name == NAMES[events.tel_id]
        np.testing.assert_array_equal(events.t_lst, lst.t_ns)
        np.testing.assert_array_equal(events.intensity_lst, lst.intensity)
        for name in ("t_magic", "intensity_magic", "pointing_alt", "pointing_az"):
            source = {"t_magic": magic.t_ns, "intensity_magic": magic.intensity,
                      "pointing_alt": magic.pointing_alt, "pointing_az": magic.pointing_az}
            np.testing.assert_array_equal(getattr(events, name), source[name][rows])
    # the skipped telescope is left out; candidates are rows of the MAGIC events
    assert list(found) == [2, 4]
    np.testing.assert_array_equal(found[2].candidates, [1, 5])
    np.testing.assert_array_equal(found[4].candidates, [3, 6])
    assert found[2].average_offset_ns == -3250 and found[2].clock_offset_ns == -3251.5
    assert "offsets" in timer.timings
    messages = [r.getMessage() for r in caplog.records]
    assert "MAGIC-II: no pairs here" in messages
    assert "MAGIC-II: no coincidence; skipping" in messages
    assert not any(m.startswith("MAGIC-II: average") for m in messages)


def test_no_telescope_with_a_coincidence():
    model = Recorder({2, 3, 4})
    with pytest.raises(NoCoincidenceError) as err:
        pair_telescopes(_lst(), _magic(), model, NAMES, StageTimer())
    assert str(err.value) == "no coincident events found for any MAGIC telescope"
    assert len(model.given) == 3


def test_log_of_a_telescope_as_the_reference(caplog):
    found = _paired(3)
    with caplog.at_level(logging.DEBUG, logger="lmcoinc.pairing.coincidence"):
        log_telescope("MAGIC-I", found)
        log_telescope("MAGIC-II", TelescopeCoincidence(
            None, np.array([-100]), np.array([1]), -100, np.arange(3), np.array([1]),
            np.array([2])))
    # the reference's lines, those of every scanned offset at DEBUG (-v)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "MAGIC-I: pre offset search finds -3.2 us"),
        ("INFO", "MAGIC-I: time offset scan from -3.3 us to -3.2 us"),
        ("DEBUG", "  time offset -3.3 us --> 1 events"),
        ("DEBUG", "  time offset -3.2 us --> 2 events"),
        ("INFO", "MAGIC-I: average offset -3.250 us, 2 coincident events of 2 (100.0%)"),
        ("INFO", "MAGIC-II: time offset scan from -0.1 us to -0.1 us"),
        ("DEBUG", "  time offset -0.1 us --> 1 events"),
        ("INFO", "MAGIC-II: average offset -0.100 us, 1 coincident events of 3 (33.3%)"),
    ]


def test_clock_columns_in_us_null_where_not_computed():
    empty = np.empty(0, np.int64)
    telescopes = [
        TelescopeCoincidence(None, empty, empty, 0, empty, empty, empty, -3251.5, 52.25, "night"),
        TelescopeCoincidence(None, empty, empty, 0, empty, empty, empty),
    ]
    assert clock_columns(telescopes) == {
        "clock_offset": [-3.2515, None], "geometric_delay": [0.05225, None],
        "offset_source": ["night", "local"], "n_offset_steps": [0, 0],
    }
    assert clock_columns([]) == {"clock_offset": [], "geometric_delay": [], "offset_source": [],
                                 "n_offset_steps": []}
