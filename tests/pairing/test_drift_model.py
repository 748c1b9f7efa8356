"""pairing/drift_model: a drifting offset per subrun (a broken MAGIC GPS): the MAGIC times it
uses, its coincidence (searched, or the run's followed), what it logs and writes, and the
run's offset learnt from the subruns' tables."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import polars as pl
import pytest

from lmcoinc.clock.curve import fit_offset_curve
from lmcoinc.config import load_config
from lmcoinc.pairing.drift_model import Model
from lmcoinc.pairing.drifting import coincide_telescope_drift, drift_outputs, drift_search
from lmcoinc.pairing.priors import Priors

from ..helpers.driftdata import broken_gps, telescope_events

CONFIG = dataclasses.replace(load_config(None), offset_model="drift")
LOGGER = "lmcoinc.pairing.drift_model"


@pytest.fixture(scope="module")
def drifting():
    """A 4 s subrun, the MAGIC clock 2.437 s ahead and drifting 3.1 µs/s, MAGIC 12 s around."""
    return broken_gps(seed=11, duration_s=4.0, offset_ns=2.437e9, drift_ns_per_s=3100.0)[0]


def _same(a, b) -> None:
    assert a.average_offset_ns == b.average_offset_ns and a.curve == b.curve
    for name in ("candidates", "idx_lst", "idx_magic", "counts", "slice_pairs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_magic_range_and_overlap_window():
    t_first, t_last = 10**18, 10**18 + 10**10
    model = Model(CONFIG, Priors())
    reach = 10 * 10**9
    assert model.magic_range(t_first, t_last) == (t_first - reach - 200 - 300,
                                                  t_last + reach + 200 + 300)
    assert model.overlap_window(t_first, t_last) == (
        t_first - reach - 300, t_last + reach + 300, " widened by max_clock_offset = 10 s")
    short = Model(dataclasses.replace(CONFIG, max_clock_offset_ns=2_500_000_000), Priors())
    assert short.overlap_window(t_first, t_last)[2] == " widened by max_clock_offset = 2.5 s"


def test_magic_range_holds_every_magic_event_the_coincidence_uses(drifting):
    model = Model(CONFIG, Priors())
    lo, hi = model.magic_range(int(drifting.t_lst.min()), int(drifting.t_lst.max()))
    inside = np.flatnonzero((drifting.t_magic >= lo) & (drifting.t_magic <= hi))
    assert 0 < len(inside) < len(drifting.t_magic)
    full = model.coincide(telescope_events(drifting))
    part = model.coincide(telescope_events(dataclasses.replace(
        drifting, t_magic=drifting.t_magic[inside],
        intensity_magic=drifting.intensity_magic[inside])))
    _same(dataclasses.replace(part, candidates=inside[part.candidates]), full)


def test_coincide_is_the_drift_coincidence_and_logs_the_fit(drifting, caplog):
    with caplog.at_level(logging.INFO, logger=LOGGER):
        found = Model(CONFIG, Priors()).coincide(telescope_events(drifting))
    want = coincide_telescope_drift(drifting.t_lst, drifting.intensity_lst, drifting.t_magic,
                                    drifting.intensity_magic, search=drift_search(CONFIG))
    _same(found, want)
    assert not found.from_run_model
    t_lo, t_hi = found.t_range_ns
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER] == [(
        logging.INFO,
        f"MAGIC-I: clock offset {found.curve(t_lo) * 1e-9:.9f} s to "
        f"{found.curve(t_hi) * 1e-9:.9f} s, mean drift {found.drift_us_per_s:.4f} us/s, "
        f"residual rms {found.residual_rms_ns:.1f} ns")]
    assert found.drift_us_per_s == pytest.approx(3.1, abs=0.01)


def test_the_runs_offset_is_followed(drifting, caplog):
    """A batch's second pass gives the run's offset per telescope: followed, and said."""
    searched = Model(CONFIG, Priors()).coincide(telescope_events(drifting))
    priors = Priors(run_curves={2: searched.curve})
    with caplog.at_level(logging.INFO, logger=LOGGER):
        found = Model(CONFIG, priors).coincide(telescope_events(drifting))
    assert found.from_run_model
    assert caplog.records[-1].getMessage().endswith(" (the run's model)")
    want = coincide_telescope_drift(drifting.t_lst, drifting.intensity_lst, drifting.t_magic,
                                    drifting.intensity_magic, search=drift_search(CONFIG),
                                    prior=searched.curve)
    _same(found, want)
    # another telescope's run offset is not this one's
    other = Model(CONFIG, Priors(run_curves={3: searched.curve}))
    assert not other.coincide(telescope_events(drifting)).from_run_model


def test_a_fit_beyond_the_search_limits_is_warned_and_kept(drifting, caplog):
    config = dataclasses.replace(CONFIG, max_drift_ns_per_s=2000.0)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        found = Model(config, Priors()).coincide(telescope_events(drifting))
    assert found.n_pairs > 0
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER] == [
        f"MAGIC-I: the fitted drift reaches {found.drift_us_per_s:.2f} us/s, beyond "
        "max_drift_us_per_s = 2; check the pairs"]


def test_outputs_are_the_drift_outputs(drifting):
    found = Model(CONFIG, Priors()).coincide(telescope_events(drifting))
    columns, tables = Model(CONFIG, Priors()).outputs({2: found})
    want_columns, want_tables = drift_outputs({2: found})
    assert columns == want_columns and list(tables) == list(want_tables)
    assert list(tables) == ["offset_model", "offset_segments"]
    for name, table in tables.items():
        assert table.equals(want_tables[name])


def test_run_curves_fit_the_slices_with_pairs_per_telescope():
    """One curve per telescope over all the subruns' slices that have pairs."""
    t0 = 1_700_000_000.0
    rows = []
    for subrun in range(3):
        for tel_id, offset_us in ((2, 2_437_000.0), (3, 2_437_000.5)):
            time = t0 + 10 * subrun + np.arange(10) + 0.5
            rows.append(pl.DataFrame({
                "tel_id": np.full(10, tel_id), "time": time,
                "offset_us": offset_us + 3.1 * (time - t0), "drift_us_per_s": np.full(10, 3.1),
                "n_pairs": np.where(np.arange(10) == 4, 0, 20),
                "residual_ns": np.zeros(10),
            }))
    tables = [pl.concat(rows[i:i + 2]) for i in range(0, 6, 2)]
    # a slice without pairs has a model value that must not be fitted
    tables[1] = tables[1].with_columns(
        pl.when(pl.col("n_pairs") == 0).then(0.0).otherwise(pl.col("offset_us")).alias(
            "offset_us"))
    curves = Model.run_curves(tables)
    assert sorted(curves) == [2, 3]
    for tel_id, curve in curves.items():
        part = pl.concat(tables).filter((pl.col("tel_id") == tel_id) & (pl.col("n_pairs") > 0))
        t_ns = np.rint(part["time"].to_numpy() * 1e9).astype(np.int64)
        want = fit_offset_curve(t_ns, part["offset_us"].to_numpy() * 1000.0)
        assert curve.pieces == (want,) and curve.breaks_ns == ()  # no step: one piece
        np.testing.assert_allclose(curve(t_ns), part["offset_us"].to_numpy() * 1000, atol=1.0)
    assert Model.run_curves([]) == {}
    assert Model.run_curves([t.with_columns(n_pairs=pl.lit(0)) for t in tables]) == {}
