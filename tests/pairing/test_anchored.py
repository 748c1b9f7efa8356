"""Clock offsets per telescope (lmcoinc.pairing.anchored, through the constant offset model
and pair_telescopes) on hand-made event streams.

The streams: LST-1 at 5 kHz; MAGIC sees a part of the showers at
``t_LST + clock + geometric delay + jitter`` with the delay of its pointing:
alt 30° az 110° (delays -329 ns for MAGIC-I, -271 ns for MAGIC-II), or that
first and alt 30° az 290° (+335 ns, +273 ns) from half-way on, as a merged
run over two pointings.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lmcoinc.clock.geometry import SPEED_OF_LIGHT_M_PER_NS
from lmcoinc.config import load_config
from lmcoinc.config.history import HistoryEntry, OffsetHistory
from lmcoinc.errors import NoCoincidenceError
from lmcoinc.instrument import RELATIVE_POSITIONS
from lmcoinc.io.lst_events import LstEvents
from lmcoinc.io.magic_events import MagicEvents
from lmcoinc.pairing import Priors, offset_model, pair_telescopes
from lmcoinc.pairing.anchored import chance_pairs, weakness
from lmcoinc.pairing.telescope import coincide_telescope
from lmcoinc.utils.timer import StageTimer

CLOCK_NS = -3200
T0_NS = 1_702_000_000 * 10**9  # 2023-12-08: the history says -3.2 us
POINTINGS = (np.radians([30.0, 110.0]), np.radians([30.0, 290.0]))
NAMES = {2: "MAGIC-I", 3: "MAGIC-II"}


def _delay_by_loop(alt: float, az: float, name: str) -> float:
    """-(r_MAGIC - r_LST)·n / c for one pointing, written out."""
    n = (math.cos(alt) * math.cos(az), -math.cos(alt) * math.sin(az), math.sin(alt))
    b = [m - lst for m, lst in zip(RELATIVE_POSITIONS[name], RELATIVE_POSITIONS["LST-1"],
                                   strict=True)]
    return -sum(bi * ni for bi, ni in zip(b, n, strict=True)) / SPEED_OF_LIGHT_M_PER_NS


def _streams(seed=0, n_lst=20_000, n_common=1000, n_magic_only=300, span_ns=4 * 10**9,
             two_pointings=False):
    """LstEvents and the MAGIC rows of telescopes 2 and 3, and the true pairs' LST rows."""
    rng = np.random.default_rng(seed)
    t_lst = T0_NS + np.sort(rng.choice(span_ns, n_lst, replace=False)).astype(np.int64)
    intensity_lst = rng.lognormal(4, 1, n_lst)
    common = np.sort(rng.choice(n_lst, n_common, replace=False))
    intensity_lst[common] *= 3  # MAGIC sees the brighter showers
    frames = []
    for tel_id, name in NAMES.items():
        own = T0_NS + np.sort(rng.choice(span_ns, n_magic_only)).astype(np.int64)
        t_true = np.concatenate([t_lst[common], own])
        second = (t_true >= T0_NS + span_ns // 2) & two_pointings
        alt = np.where(second, POINTINGS[1][0], POINTINGS[0][0])
        az = np.where(second, POINTINGS[1][1], POINTINGS[0][1])
        delay = np.array([_delay_by_loop(a, z, name) for a, z in zip(alt, az, strict=True)])
        t_magic = t_true + CLOCK_NS + np.rint(delay).astype(np.int64) + rng.integers(
            -40, 41, len(t_true))
        intensity = np.concatenate([intensity_lst[common] * rng.uniform(0.5, 2, n_common),
                                    rng.lognormal(4, 1, n_magic_only)])
        order = np.argsort(t_magic, kind="stable")
        frames.append(pl.DataFrame({
            "tel_id": np.full(len(order), tel_id), "time_sec": t_magic[order] // 10**9,
            "time_nanosec": t_magic[order] % 10**9, "intensity": intensity[order],
            "pointing_alt": alt[order], "pointing_az": az[order],
            "true_lst_row": np.concatenate([common, np.full(n_magic_only, -1)])[order],
        }))
    n = len(t_lst)
    lst = LstEvents(path=Path("hand-made"), keys=pl.DataFrame({"obs_id_lst": np.ones(n)}),
                    t_ns=t_lst, intensity=intensity_lst, columns=[], focal_length_m=28.0,
                    timestamp_column="dragon_time", file_rows=np.arange(n))
    return lst, pl.concat(frames)


def _found(lst, magic, history_fallback=False, night_offsets_ns=None, **settings):
    """pair_telescopes with the constant model on the hand-made events, with these priors
    and config settings: tel_id → (its candidate rows, its result with the candidates
    numbered among the telescope's rows); {} when no telescope has a pair."""
    config = dataclasses.replace(load_config(None), **settings)
    priors = Priors(history_fallback=history_fallback, night_offsets_ns=night_offsets_ns or {})
    ids = pl.int_range(pl.len(), dtype=pl.Int64)
    events = MagicEvents.from_frame(
        magic.with_columns(obs_id_magic=pl.lit(1, pl.Int64), event_id_magic=ids), files=[])
    try:
        found = pair_telescopes(lst, events, offset_model(config, priors), config.tel_names,
                                StageTimer())
    except NoCoincidenceError:
        return {}
    out = {}
    for tel_id, tel in found.items():
        rows = np.flatnonzero(magic["tel_id"].to_numpy() == tel_id)
        local = np.searchsorted(rows, tel.candidates)
        out[tel_id] = (magic[tel.candidates], dataclasses.replace(tel, candidates=local))
    return out


def _recall(rows: pl.DataFrame, found) -> float:
    """Fraction of the true pairs among the telescope's pairs."""
    true = rows["true_lst_row"].to_numpy()
    pairs = set(zip(found.idx_lst.tolist(), true[found.idx_magic].tolist(), strict=True))
    hits = sum(1 for i, j in pairs if i == j)
    return hits / np.count_nonzero(true >= 0)


@pytest.fixture(scope="module")
def streams():
    return _streams()


@pytest.fixture(scope="module")
def two_pointings():
    return _streams(two_pointings=True)


def test_clock_offset_is_the_found_offset_minus_the_mean_delay(streams):
    lst, magic = streams
    found = _found(lst, magic)
    for tel_id, (candidates, tel) in found.items():
        # the results of the reference's algorithm are untouched
        alone = coincide_telescope(
            lst.t_ns, lst.intensity, *_times_and_intensity(magic, tel_id), window_ns=300,
            pre_offset_search_events=100, offset_range_ns=(-10_000, 0))
        assert tel.average_offset_ns == alone.average_offset_ns
        np.testing.assert_array_equal(tel.idx_lst, alone.idx_lst)
        # brute force: a loop over the pairs
        delays = [_delay_by_loop(a, z, NAMES[tel_id]) for a, z in zip(
            candidates["pointing_alt"].to_numpy()[tel.idx_magic],
            candidates["pointing_az"].to_numpy()[tel.idx_magic], strict=True)]
        assert tel.geometric_delay_ns == pytest.approx(sum(delays) / len(delays), abs=1e-6)
        assert tel.clock_offset_ns == pytest.approx(
            tel.average_offset_ns - sum(delays) / len(delays), abs=1e-6)
        assert abs(tel.clock_offset_ns - CLOCK_NS) <= 20
        assert tel.offset_source == "local"


def _times_and_intensity(magic, tel_id):
    rows = magic.filter(pl.col("tel_id") == tel_id)
    return (rows["time_sec"].to_numpy() * 10**9 + rows["time_nanosec"].to_numpy(),
            rows["intensity"].to_numpy())


def test_geometric_delay_pairs_two_pointings_at_the_clock_offset(two_pointings):
    lst, magic = two_pointings
    plain, geometric = _found(lst, magic), _found(lst, magic, geometric_delay=True)
    # MAGIC-I's delays of the two pointings differ by 664 ns: more than the window
    assert _recall(plain[2][0], plain[2][1]) < 0.9
    for tel_id, (candidates, tel) in geometric.items():
        assert abs(tel.average_offset_ns - CLOCK_NS) <= 20
        assert tel.clock_offset_ns == pytest.approx(tel.average_offset_ns, abs=1)
        assert _recall(candidates, tel) >= 0.99
        # the pairs are centred: the offset is the mean difference of the pairs, delays
        # removed (restated with the loop's delays), and the pairs are those at it
        t_magic = _times_and_intensity(magic, tel_id)[0][tel.candidates]
        differences = [
            int(t_magic[j]) - int(lst.t_ns[i]) - round(_delay_by_loop(a, z, NAMES[tel_id]))
            for i, j, a, z in zip(tel.idx_lst, tel.idx_magic,
                                  candidates["pointing_alt"].to_numpy()[tel.idx_magic],
                                  candidates["pointing_az"].to_numpy()[tel.idx_magic],
                                  strict=True)]
        assert abs(tel.average_offset_ns - sum(differences) / len(differences)) <= 1
        assert max(abs(d - tel.average_offset_ns) for d in differences) <= 300


def _sparse(seed=1):
    """Eight MAGIC showers over 4 s: the 100 brightest LST events miss them."""
    return _streams(seed=seed, n_common=8, n_magic_only=0)


def test_sparse_subrun_falls_back_on_the_history(caplog):
    lst, magic = _sparse()
    alone = _found(lst, magic)
    for rows, tel in alone.values():  # the pre-offset search fails
        assert _recall(rows, tel) == 0
    with caplog.at_level(logging.WARNING, logger="lmcoinc.pairing.anchored"):
        found = _found(lst, magic, history_fallback=True)
    assert sorted(found) == [2, 3]
    for rows, tel in found.values():
        assert tel.offset_source == "history"
        assert _recall(rows, tel) == 1
        assert abs(tel.clock_offset_ns - CLOCK_NS) < 100
    assert "pairing around the history clock offset -3.200 us instead" in caplog.text
    # a history that is wrong for the night finds accidental pairs at best: not used
    wrong = OffsetHistory((HistoryEntry(None, None, 118_800, "wrong.yaml"),))
    for rows, tel in _found(lst, magic, history_fallback=True, offset_history=wrong).values():
        assert tel.offset_source == "local" and _recall(rows, tel) == 0


def test_one_pair_is_not_enough_to_fall_back():
    """No scan of its own (a fixed range 1000 s away) and one true shower: the history's
    scan finds that one pair, which is not kept (at least 2, 5 σ above the accidental)."""
    lst, magic = _streams(n_common=1, n_magic_only=0)
    far = {"pre_offset_search": False, "offset_start_ns": -10**12,
           "offset_stop_ns": -10**12 + 10_000}
    assert _found(lst, magic, **far) == {}
    assert _found(lst, magic, history_fallback=True, **far) == {}
    lst, magic = _streams(n_common=2, n_magic_only=0)
    assert sorted(_found(lst, magic, history_fallback=True, **far)) == [2, 3]


def test_sparse_subrun_falls_back_on_the_night():
    lst, magic = _sparse()
    found = _found(lst, magic, night_offsets_ns={2: -3195, 3: -3205})
    for rows, tel in found.values():
        assert tel.offset_source == "night" and _recall(rows, tel) == 1


def test_a_sound_result_is_kept_against_the_night(streams):
    """A jump: the night's offset of the neighbours is 2 µs away; the subrun keeps its own."""
    lst, magic = streams
    alone = _found(lst, magic)
    found = _found(lst, magic, night_offsets_ns={2: CLOCK_NS + 2000, 3: CLOCK_NS + 2000},
                   history_fallback=True)
    for tel_id, (_, tel) in found.items():
        assert tel.offset_source == "local"
        np.testing.assert_array_equal(tel.idx_lst, alone[tel_id][1].idx_lst)


def test_a_wrong_peak_far_from_the_night_is_replaced():
    """The 15 brightest showers of both (a decoy) lie 8 µs off: the pre-offset search
    follows them and the subrun pairs 15 events there, enough by number; far from the
    night's offset, it is scanned there and its 1000 dim true pairs win."""
    lst, magic = _streams(n_common=1000, n_magic_only=0)
    rng = np.random.default_rng(9)
    magic = magic.with_columns(intensity=pl.lit(1.0))  # the true showers: dim in MAGIC
    decoy_rows = rng.choice(lst.height, 15, replace=False)
    lst = dataclasses.replace(lst, intensity=lst.intensity.copy())
    lst.intensity[decoy_rows] = 1e6
    decoys = [pl.DataFrame({
        "tel_id": np.full(15, tel_id), "time_sec": (lst.t_ns[decoy_rows] - 8000) // 10**9,
        "time_nanosec": (lst.t_ns[decoy_rows] - 8000) % 10**9, "intensity": np.full(15, 1e6),
        "pointing_alt": np.full(15, POINTINGS[0][0]), "pointing_az": np.full(15, POINTINGS[0][1]),
        "true_lst_row": np.full(15, -1),
    }) for tel_id in NAMES]
    magic = pl.concat([magic, *decoys]).sort("tel_id", "time_sec", "time_nanosec")
    for _, tel in _found(lst, magic).values():
        assert len(tel.idx_lst) >= 15 and abs(tel.clock_offset_ns + 8000) < 500
    found = _found(lst, magic, night_offsets_ns={2: CLOCK_NS, 3: CLOCK_NS})
    for rows, tel in found.values():
        assert tel.offset_source == "night" and _recall(rows, tel) >= 0.99


def test_warning_when_far_from_the_history(streams, caplog):
    lst, magic = streams
    far = OffsetHistory((HistoryEntry(None, None, -6200, "mine.yaml"),))
    with caplog.at_level(logging.WARNING, logger="lmcoinc.pairing.anchored"):
        _found(lst, magic, offset_history=far)
    assert "MAGIC-I: clock offset -3.2" in caplog.text
    assert "from the history's -6.2 us for the night of 2023-12-07 (…, mine.yaml)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmcoinc.pairing.anchored"):
        _found(lst, magic)  # the packaged history: -3.2 us
    assert "history" not in caplog.text


def test_chance_pairs_against_a_count():
    rng = np.random.default_rng(4)
    span, window = 10 * 10**9, 300
    t_lst = np.sort(rng.integers(0, span, 50_000))
    t_magic = rng.integers(10**8, span - 10**8, 200_000)
    lo = np.searchsorted(t_lst, t_magic - window, side="left")
    hi = np.searchsorted(t_lst, t_magic + window, side="right")
    counted = int((hi - lo).sum())
    expected = chance_pairs(len(t_lst), int(t_lst[-1] - t_lst[0]), len(t_magic), window)
    assert counted == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize(("n_pairs", "clock_ns", "night_ns", "weak"), [
    (None, None, None, "no coincident events"),
    (50, None, None, "no coincident events"),
    (9, -3200.0, None, "only 9 coincident events"),
    (10, -3200.0, None, None),
    (10, -3200.0, -3400.0, None),     # 200 ns from the night's: within the window
    (10, -3200.0, -3501.0, "clock offset -3.200 us far from the night's"),
])
def test_weakness(n_pairs, clock_ns, night_ns, weak):
    """The rule of a weak result (min_coincidences 10, window 300 ns), shared by the
    fallbacks and the night model."""
    assert weakness(n_pairs, clock_ns, night_ns, load_config(None)) == weak
