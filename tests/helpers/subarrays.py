"""Subarray descriptions in tests: as PyTables stores them, and as the reference writes its
output subarray (ctapipe's ``SubarrayDescription``, magic-cta-pipe 0.6.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import EarthLocation

from lmcoinc.config import load_config
from lmcoinc.instrument import telescope_positions
from lmcoinc.io.subarray import read_raw_subarray

INSTRUMENT = "/configuration/instrument"
OPTICS_KEY = f"{INSTRUMENT}/telescope/optics"
#: magic-cta-pipe's REFERENCE_LOCATION (ctapipe_io_magic.constants), written out
MAGIC_REFERENCE_LOCATION = EarthLocation(
    lon=-17.890879 * u.deg, lat=28.761579 * u.deg, height=2199 * u.m
)
DEFAULT_TEL_IDS = load_config(None).tel_ids


def magic_files(good: Path) -> list[Path]:
    """The MAGIC files of a good input (``magic/``), sorted."""
    return sorted((good / "magic").glob("*.h5"))


def assert_same_tables(ours: dict, theirs: dict) -> None:
    """The same tables (path → array), byte for byte."""
    assert ours.keys() == theirs.keys()
    for key, table in theirs.items():
        assert ours[key].dtype == table.dtype, key
        assert ours[key].tobytes() == table.tobytes(), key


def assert_same_attrs(ours: dict, theirs: dict) -> None:
    """The same attributes (path → name → value), of the same types."""
    assert ours.keys() == theirs.keys()
    for key, attrs in theirs.items():
        assert ours[key].keys() == attrs.keys(), key
        for name, value in attrs.items():
            assert type(ours[key][name]) is type(value), (key, name)
            assert np.array_equal(ours[key][name], value), (key, name)


def reference_subarray(lst_tel, magic_subarray, tel_ids: dict[str, int]):
    """The reference's output subarray: its positions, the input descriptions, MAGIC's location."""
    from ctapipe.instrument import SubarrayDescription

    positions = {tid: pos * u.m for tid, pos in telescope_positions(tel_ids).items()}
    descriptions = {
        tid: lst_tel if name.startswith("LST") else magic_subarray.tel[tid]
        for name, tid in tel_ids.items() if tid > 0
    }
    return SubarrayDescription(
        "LST-MAGIC-Array", positions, descriptions, MAGIC_REFERENCE_LOCATION
    )


def assert_written_as_reference(out: Path, expected, tmp_path: Path) -> None:
    """The subarray of ``out`` reads back as ``expected`` and is stored as ctapipe stores it."""
    from ctapipe.instrument import SubarrayDescription

    assert SubarrayDescription.from_hdf(out) == expected
    # and stored as ctapipe stores it: the same tables, byte for byte, and attributes
    ref_file = tmp_path / "ctapipe.h5"
    expected.to_hdf(ref_file)
    ours, theirs = read_raw_subarray(out), read_raw_subarray(ref_file)
    assert_same_tables(ours.tables, theirs.tables)
    assert_same_attrs(ours.attrs, theirs.attrs)
