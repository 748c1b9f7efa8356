"""The output SubarrayDescription "LST-MAGIC-Array" (ctapipe is imported here only)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError, MagicInputError

__all__ = ["RELATIVE_POSITIONS", "read_subarray", "telescope_positions", "write_subarray"]

log = logging.getLogger(__name__)

#: Telescope positions (m) in a common frame, as in magic-cta-pipe.
RELATIVE_POSITIONS = {
    "LST-1": [-70.930, -52.070, 43.00],
    "LST-2": [-35.270, 66.140, 32.00],
    "LST-3": [75.280, 50.490, 28.70],
    "LST-4": [30.910, -64.540, 32.00],
    "MAGIC-I": [-23.540, -191.750, 41.25],
    "MAGIC-II": [-94.05, -143.770, 42.42],
}


def telescope_positions(tel_ids: dict[str, int]) -> dict[int, np.ndarray]:
    """Positions (m) of the telescopes in use relative to their mean, rounded to 1 cm."""
    used = {name: tid for name, tid in tel_ids.items() if tid > 0}
    mean = np.array([RELATIVE_POSITIONS[name] for name in used]).mean(axis=0)
    return {tid: np.round(np.asarray(RELATIVE_POSITIONS[name]) - mean, 2)
            for name, tid in used.items()}


def read_subarray(path: Path, error: type[InputError] | type[MagicInputError], lst: bool):
    """Read a file's SubarrayDescription; an old LST file without one gets the default."""
    from ctapipe.instrument import SubarrayDescription

    try:
        return SubarrayDescription.from_hdf(path)
    except OSError:
        if not lst:
            raise error(f"{path}: no subarray description") from None
        log.warning("%s: no SubarrayDescription (lstchain < 0.10?); using the default LST-1", path)
        from ctapipe_io_lst import REFERENCE_LOCATION, LSTEventSource

        return LSTEventSource.create_subarray(tel_id=1, reference_location=REFERENCE_LOCATION)
    except Exception as err:  # noqa: BLE001 - malformed tables
        raise error(f"{path}: cannot read the subarray description ({err})") from None


def check_same_subarrays(files: list[Path]):
    """Read the MAGIC files' subarrays; all must equal the first one."""
    first = read_subarray(files[0], MagicInputError, lst=False)
    for path in files[1:]:
        if read_subarray(path, MagicInputError, lst=False) != first:
            raise MagicInputError(f"{path}: subarray differs from that of {files[0]}")
    return first


def write_subarray(
    output_file: Path,
    lst_file: Path,
    magic_files: list[Path],
    tel_ids: dict[str, int],
) -> None:
    """Write the "LST-MAGIC-Array" subarray of the telescopes in use.

    LST telescopes take their description from the LST file, MAGIC ones
    from the (identical) subarrays of the MAGIC files; positions are those
    of :func:`telescope_positions`.
    """
    from astropy import units as u
    from astropy.coordinates import EarthLocation
    from ctapipe.instrument import SubarrayDescription

    subarray_lst = read_subarray(lst_file, InputError, lst=True)
    subarray_magic = check_same_subarrays(magic_files)
    descriptions = {}
    for name, tid in tel_ids.items():
        if tid <= 0:
            continue
        source, error, where = (
            (subarray_lst, InputError, lst_file) if name.startswith("LST")
            else (subarray_magic, MagicInputError, magic_files[0])
        )
        if tid not in source.tel:
            raise error(f"{where}: subarray has no telescope {tid} ({name})")
        descriptions[tid] = source.tel[tid]
    positions = {tid: list(pos) * u.m for tid, pos in telescope_positions(tel_ids).items()}
    # magic-cta-pipe's REFERENCE_LOCATION (ctapipe_io_magic.constants)
    location = EarthLocation(lon=-17.890879 * u.deg, lat=28.761579 * u.deg, height=2199 * u.m)
    SubarrayDescription("LST-MAGIC-Array", positions, descriptions, location).to_hdf(output_file)
