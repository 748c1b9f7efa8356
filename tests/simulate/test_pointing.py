"""Pointing schedules and the geometric delay between LST-1 and the MAGIC telescopes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from lmcoinc.config import load_config
from lmcoinc.instrument import RELATIVE_POSITIONS
from lmcoinc.io.magic_source import MagicDirectory
from lmcoinc.pipeline import process_subrun
from lmcoinc.simulate import SimulationConfig, simulate
from lmcoinc.simulate.pointing import (
    SPEED_OF_LIGHT_M_PER_NS,
    altaz_to_hadec,
    geometric_delays_ns,
    hadec_to_altaz,
    tracked_pointing,
)

from ..helpers.simread import LST_KEY, magic_rows, read

#: The telescopes of the default config (MAGIC files with others are an error).
TEL_NAMES = load_config(None).tel_names

START = 1_700_000_000.0
#: three pointings in one night (alt, az in deg)
NIGHT = ((START - 600.0, 70.0, 170.0), (START + 1.0, 35.0, 80.0), (START + 3600.0, 45.0, 300.0))


def _brute_delay(alt: float, az: float, magic: str) -> float:
    """-(r_MAGIC - r_LST) . n / c, term by term."""
    n = (math.cos(alt) * math.cos(az), -math.cos(alt) * math.sin(az), math.sin(alt))
    r = [m - lst for m, lst in zip(RELATIVE_POSITIONS[magic], RELATIVE_POSITIONS["LST-1"],
                                   strict=True)]  # fmt: skip
    return -sum(a * b for a, b in zip(r, n, strict=True)) / SPEED_OF_LIGHT_M_PER_NS


def test_geometric_delays() -> None:
    rng = np.random.default_rng(1)
    alt, az = rng.uniform(0.2, 1.5, 20), rng.uniform(0, 2 * np.pi, 20)
    delays = geometric_delays_ns(alt, az)
    for k, magic in enumerate(("MAGIC-I", "MAGIC-II")):
        expected = [_brute_delay(a, z, magic) for a, z in zip(alt, az, strict=True)]
        np.testing.assert_allclose(delays[k], expected, rtol=1e-12)
    # the largest delays: along the baselines of 147.5 m and 94.6 m
    for k, magic, length in ((0, "MAGIC-I", 147.5), (1, "MAGIC-II", 94.6)):
        r = np.subtract(RELATIVE_POSITIONS[magic], RELATIVE_POSITIONS["LST-1"])
        assert np.linalg.norm(r) == pytest.approx(length, abs=0.05)
        along = -r / np.linalg.norm(r)
        d = geometric_delays_ns(np.array([math.asin(along[2])]),
                                np.array([math.atan2(-along[1], along[0])]))  # fmt: skip
        assert d[k, 0] == pytest.approx(length / SPEED_OF_LIGHT_M_PER_NS, abs=0.5)


def test_tracking_moves_like_the_sky() -> None:
    alt, az = np.radians([35.0, 70.0, 45.0]), np.radians([80.0, 170.0, 300.0])
    back = hadec_to_altaz(*altaz_to_hadec(alt, az))
    np.testing.assert_allclose(back, (alt, az), atol=1e-12)
    t = START + np.array([-1.0, 0.0, 1.0, 600.0, 3599.0, 3600.0, 7200.0])
    t_alt, t_az = tracked_pointing(NIGHT, t)
    assert np.degrees(t_alt[1]) == pytest.approx(70.2, abs=2.0)  # 10 min into the first
    assert np.degrees([t_alt[2], t_az[2]]) == pytest.approx([35.0, 80.0], abs=1e-9)
    assert np.degrees([t_alt[5], t_az[5]]) == pytest.approx([45.0, 300.0], abs=1e-9)
    # a source in the east rises: about 12 deg per hour at this azimuth
    rise = np.degrees(t_alt[3] - t_alt[2]) * 6
    assert 8 < rise < 15
    # any motion is at most the sidereal rate, 15 deg per hour
    step = np.degrees(t_alt[6] - t_alt[5])
    assert abs(step) < 15


def test_schedule_and_delay_in_the_files(tmp_path: Path) -> None:
    config = SimulationConfig(duration_s=1.5, seed=6, geometric_delay=True, pointing_schedule=NIGHT)
    files = simulate(tmp_path / "in", config)
    lst = read(files.lst_file, LST_KEY)
    assert np.degrees(lst["alt_tel"][:5]) == pytest.approx(70.2, abs=2.0)  # first segment
    later = lst["dragon_time"] > START + 1.0001
    assert np.degrees(lst["alt_tel"][later]) == pytest.approx(35.0, abs=0.01)
    assert np.degrees(lst["az_tel"][later]) == pytest.approx(80.0, abs=0.01)
    m1, m2 = magic_rows(files.magic_files, "M1"), magic_rows(files.magic_files, "M2")
    late = m1["time_sec"] >= START + 2
    assert np.degrees(m1["pointing_alt"][late]) == pytest.approx(35.0, abs=0.01)
    # M1 and M2 rows of a stereo event: each has its own delay
    pairs = pl.read_parquet(files.true_pairs)
    delay = pairs.pivot(on="tel_id", index="event_id_magic", values="geometric_delay_ns")
    delay = delay.drop_nulls().rename({"2": "d1", "3": "d2"})
    _, i1, i2 = np.intersect1d(m1["event_id"], m2["event_id"], return_indices=True)
    stamps = pl.DataFrame({
        "event_id_magic": m1["event_id"][i1],
        "dt": (m2["time_sec"][i2] - m1["time_sec"][i1]) * 10**9
        + m2["time_nanosec"][i2] - m1["time_nanosec"][i1],
    }).join(delay, on="event_id_magic")  # fmt: skip
    error = (stamps["dt"] - (stamps["d2"] - stamps["d1"])).to_numpy()
    assert stamps.height > 100
    assert np.abs(error).max() < 100 and abs(error.mean()) < 10  # the 100 ns grid
    assert (stamps["d2"] - stamps["d1"]).abs().max() > 150  # really different here
    # the coincidence finds per telescope the clock offset plus that telescope's
    # delay, here averaged over the two pointings of the subrun
    result = process_subrun(files.lst_file, MagicDirectory(files.magic_dir, TEL_NAMES),
                             tmp_path / "out", load_config(None))
    for tel_id, found in result.result.telescopes.items():
        delays = pairs.filter(pl.col("tel_id") == tel_id)["geometric_delay_ns"]
        assert delays.max() - delays.min() > 200
        expected = config.true_offset_ns + delays.mean()
        assert found.average_offset_ns == pytest.approx(expected, abs=60)
