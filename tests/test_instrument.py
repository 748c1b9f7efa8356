"""instrument: the reference location and the telescope positions, by hand, with astropy
and with magic-cta-pipe 0.6.2 itself (where its venv is available)."""

from __future__ import annotations

import json
import subprocess
from itertools import combinations

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import ITRS, EarthLocation

from lmcoinc.instrument import (
    REFERENCE_ITRS,
    REFERENCE_LOCATION,
    RELATIVE_POSITIONS,
    telescope_positions,
)

from .helpers.cases import reference_python

NAMES = ("LST-1", "LST-2", "LST-3", "LST-4", "MAGIC-I", "MAGIC-II")
DEFAULT = {"LST-1": 1, "LST-2": 0, "LST-3": 0, "LST-4": 0, "MAGIC-I": 2, "MAGIC-II": 3}
#: mc_tel_ids of several arrays: the default, two telescopes, all six, other ids
CONFIGS = [
    DEFAULT,
    {**DEFAULT, "MAGIC-II": 0},
    {**DEFAULT, "MAGIC-I": -1},
    dict(zip(NAMES, range(1, 7), strict=True)),
    {"LST-1": 0, "LST-2": 5, "LST-3": 0, "LST-4": 6, "MAGIC-I": 0, "MAGIC-II": 0},
    {"LST-1": 7, "LST-2": 0, "LST-3": 0, "LST-4": 0, "MAGIC-I": 8, "MAGIC-II": 9},
]


def test_reference_itrs_is_astropys():
    location = EarthLocation.from_geodetic(*REFERENCE_LOCATION)
    assert (location.x.to_value(u.m), location.y.to_value(u.m),
            location.z.to_value(u.m)) == REFERENCE_ITRS
    itrs = location.get_itrs()
    assert isinstance(itrs, ITRS)
    np.testing.assert_allclose(itrs.cartesian.xyz.to_value(u.m), REFERENCE_ITRS, rtol=0, atol=1e-6)
    lon, lat, height = location.geodetic
    assert (lon.deg, lat.deg, height.to_value(u.m)) == pytest.approx(REFERENCE_LOCATION)


def test_default_positions_by_hand():
    """Mean of LST-1, MAGIC-I and MAGIC-II (-62.84, -129.1967, 42.2233) subtracted, to 1 cm."""
    assert telescope_positions(DEFAULT).keys() == {1, 2, 3}
    got = {tid: pos.tolist() for tid, pos in telescope_positions(DEFAULT).items()}
    assert got == {1: [-8.09, 77.13, 0.78], 2: [39.3, -62.55, -0.97], 3: [-31.21, -14.57, 0.2]}


@pytest.mark.parametrize("config", CONFIGS)
def test_positions_relative_to_the_mean_of_the_telescopes_in_use(config):
    found = telescope_positions(config)
    used = {tid: name for name, tid in config.items() if tid > 0}
    assert found.keys() == used.keys()
    for pos in found.values():
        assert pos.shape == (3,) and np.all(np.round(pos, 2) == pos)
    # the positions are centred on the array (within the 1 cm rounding) ...
    mean = np.mean(list(found.values()), axis=0)
    assert np.all(np.abs(mean) <= 0.005 + 1e-12)
    # ... and each differs from its ground position by the same shift
    shifts = [np.asarray(RELATIVE_POSITIONS[used[tid]]) - pos for tid, pos in found.items()]
    assert np.ptp(shifts, axis=0).max() <= 0.01 + 1e-9


def test_distances_as_in_the_spec():
    """LST-1 to MAGIC-I 147.5 m and to MAGIC-II 94.6 m, in every array that holds them."""
    for config in CONFIGS:
        found = telescope_positions(config)
        tid = {name: t for name, t in config.items() if t > 0}
        if {"LST-1", "MAGIC-I", "MAGIC-II"} <= tid.keys():
            lst = found[tid["LST-1"]]
            assert round(float(np.linalg.norm(lst - found[tid["MAGIC-I"]])), 1) == 147.5
            assert round(float(np.linalg.norm(lst - found[tid["MAGIC-II"]])), 1) == 94.6
        for a, b in combinations(tid, 2):
            exact = np.linalg.norm(np.subtract(RELATIVE_POSITIONS[a], RELATIVE_POSITIONS[b]))
            rounded = np.linalg.norm(found[tid[a]] - found[tid[b]])
            assert abs(rounded - exact) <= 0.01 * np.sqrt(3)


#: Run by the reference venv's python: magic-cta-pipe's REFERENCE_LOCATION and its
#: telescope_positions, taken from their source files and evaluated there (importing
#: the modules would import ctapipe and lstchain, which takes many seconds).
REFERENCE_SCRIPT = """
import ast, json, sys, sysconfig
from pathlib import Path
import numpy as np
from astropy import units as u
from astropy.coordinates import EarthLocation

def definition(path, name):
    tree = ast.parse(path.read_text())
    [node] = [n for n in tree.body if name in (getattr(n, "name", ""),
              *(getattr(t, "id", "") for t in getattr(n, "targets", [])))]
    namespace = {"np": np, "u": u, "EarthLocation": EarthLocation}
    exec(compile(ast.Module([node], []), str(path), "exec"), namespace)
    return namespace[name]

site = Path(sysconfig.get_paths()["purelib"])
loc = definition(site / "ctapipe_io_magic" / "constants.py", "REFERENCE_LOCATION")
script = site / "magicctapipe" / "scripts" / "lst1_magic" / "lst1_magic_event_coincidence.py"
telescope_positions = definition(script, "telescope_positions")
positions = [telescope_positions({"mc_tel_ids": c}) for c in json.loads(sys.argv[1])]
print(json.dumps({
    "geodetic": [loc.lon.deg, loc.lat.deg, loc.height.to_value("m")],
    "itrs": [loc.x.to_value("m"), loc.y.to_value("m"), loc.z.to_value("m")],
    "positions": [{str(k): v.to_value("m").tolist() for k, v in p.items()} for p in positions],
}))
"""


@pytest.fixture(scope="module")
def reference():
    python = reference_python()
    if python is None:
        pytest.skip("no reference venv (LMCOINC_REFERENCE_PYTHON)")
    proc = subprocess.run([python, "-c", REFERENCE_SCRIPT, json.dumps(CONFIGS)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.reference
def test_reference_location_is_magic_cta_pipes(reference):
    assert tuple(reference["itrs"]) == REFERENCE_ITRS
    assert reference["geodetic"] == pytest.approx(REFERENCE_LOCATION, rel=0, abs=1e-9)


@pytest.mark.reference
def test_positions_are_magic_cta_pipes(reference):
    for config, theirs in zip(CONFIGS, reference["positions"], strict=True):
        ours = {str(tid): pos.tolist() for tid, pos in telescope_positions(config).items()}
        assert ours == theirs, config
