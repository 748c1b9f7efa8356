#!/usr/bin/env python
"""Write lmcoinc/resources/lst1_subarray.h5: the default LST-1 description.

LST-1 DL1 files of lstchain < 0.10 carry no usable SubarrayDescription; the
reference then takes ``ctapipe_io_lst``'s default LST-1. lmcoinc ships that
description as a file, so that ``lmcoinc run`` needs neither ctapipe nor
ctapipe_io_lst. Usage (in an environment with ctapipe_io_lst):

    python scripts/make_lst1_subarray.py
"""

from __future__ import annotations

from pathlib import Path

from astropy import units as u
from astropy.coordinates import EarthLocation
from ctapipe_io_lst import LSTEventSource

from lmcoinc.instrument import REFERENCE_LOCATION

TARGET = Path(__file__).resolve().parents[1] / "lmcoinc" / "resources" / "lst1_subarray.h5"


def main() -> None:
    lon, lat, height = REFERENCE_LOCATION
    location = EarthLocation(lon=lon * u.deg, lat=lat * u.deg, height=height * u.m)
    subarray = LSTEventSource.create_subarray(tel_id=1, reference_location=location)
    TARGET.unlink(missing_ok=True)
    subarray.to_hdf(TARGET)
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
