"""The MAGIC DL1 files, written as magic-cta-pipe's ``magic_calib_to_dl1`` writes them.

A ctapipe ``HDF5TableWriter(group_name="events", add_prefix=True)`` writes
``(RealEventInfoContainer, hillas, timing, leakage, concentration)`` rows to
``/events/parameters`` (optionally ``/events/dl1/image``), then the
"MAGIC-LST-Array" ``SubarrayDescription`` is added; one file per telescope
and MAGIC subrun.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .clocks import magic_clock_shift_ns, ns
from .config import SimulationConfig
from .events import EventStream
from .images import append_images
from .instrument import (
    magic_camera_geometry,
    magic_container_classes,
    subarrays,
    timing_parameters,
)
from .magic import MAGIC_TELS
from .tablewriter import append_columns, template_table

__all__ = ["MAGIC_IMAGES_KEY", "MAGIC_PARAMETERS_KEY", "write_magic_files"]

#: PyTables path of the MAGIC DL1 parameters table
MAGIC_PARAMETERS_KEY = "/events/parameters"
#: PyTables path of the MAGIC DL1 image table
MAGIC_IMAGES_KEY = "/events/dl1/image"


def _magic_template_event(tel_id: int, cols: dict[str, np.ndarray]) -> tuple[Any, ...]:
    """Containers of one MAGIC event, computed as magic_calib_to_dl1 computes them."""
    import warnings

    from astropy import units as u
    from ctapipe.containers import DL1CameraContainer
    from ctapipe.image import (
        concentration_parameters,
        hillas_parameters,
        leakage_parameters,
        number_of_islands,
    )

    geom = magic_camera_geometry()
    px, py = geom.pix_x.to_value(u.m), geom.pix_y.to_value(u.m)
    image = 200.0 * np.exp(-0.5 * (((px - 0.1) / 0.05) ** 2 + ((py + 0.05) / 0.025) ** 2))
    peak_time = 28.0 + 10.0 * (px - 0.1)
    signal = image > 6.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n_islands, _ = number_of_islands(geom, signal)
        masked = geom[signal]
        hillas = hillas_parameters(masked, image[signal])
        timing = timing_parameters(masked, image[signal], peak_time[signal], hillas)
        leakage = leakage_parameters(geom, image, signal)
        conc = concentration_parameters(geom, image, hillas)

    _, real_event_info = magic_container_classes()
    time_sec = u.Quantity(float(cols["time_sec"][0]), unit="s", dtype=int)
    time_nanosec = u.Quantity(u.Quantity(float(cols["time_nanosec"][0]), u.ns).round(), dtype=int)
    event_info = real_event_info(
        obs_id=np.uint64(cols["obs_id"][0]),
        event_id=np.int64(cols["event_id"][0]),
        pointing_alt=u.Quantity(float(cols["pointing_alt"][0]), u.rad),
        pointing_az=u.Quantity(float(cols["pointing_az"][0]), u.rad),
        time_sec=time_sec,
        time_nanosec=time_nanosec,
        time_diff=u.Quantity(float(cols["time_diff"][0]), u.s),
        n_pixels=int(np.count_nonzero(signal)),
        n_islands=n_islands,
    )
    event_info.tel_id = tel_id
    event_info.tels_with_trigger = np.sum(2 ** np.array(list(MAGIC_TELS)))
    event_info.prefix = ""
    hillas.prefix = ""
    timing.prefix = ""
    leakage.prefix = ""
    dl1cont = DL1CameraContainer(prefix="")
    dl1cont.image = image
    dl1cont.peak_time = peak_time
    dl1cont.image_mask = signal
    dl1cont.is_valid = True
    return (event_info, hillas, timing, leakage, conc), dl1cont


def magic_subruns(
    cols: dict[str, np.ndarray], stream: EventStream, config: SimulationConfig
) -> tuple[int, np.ndarray]:
    """Number of MAGIC subruns and the subrun (0-based) of each row of a telescope.

    The subruns cut the MAGIC data window into ``magic_subrun_s`` pieces of
    MAGIC clock time, starting at the MAGIC clock reading of the window start.
    """
    m_lo, m_hi = stream.magic_lo_ns, stream.magic_hi_ns
    sub_ns = ns(config.magic_subrun_s)
    n_sub = max(1, -(-(m_hi - m_lo) // sub_ns))
    shift_lo = magic_clock_shift_ns(config, stream.t0_ns, np.array([m_lo]))[0]
    offset_lo = m_lo + int(round(shift_lo))  # MAGIC clock of the window start
    stamp = (cols["time_sec"] * 10**9 + cols["time_nanosec"]) - stream.t0_ns
    return n_sub, np.clip((stamp - offset_lo) // sub_ns, 0, n_sub - 1)


def _write_magic_file(
    path: Path, tel_id: int, cols: dict[str, np.ndarray], rng: np.random.Generator | None
) -> None:
    """One MAGIC file: the parameters (and with ``rng`` the images), then the subarray."""
    from ctapipe.io import HDF5TableWriter

    n = int(cols["event_id"].size)
    with HDF5TableWriter(str(path), group_name="events", mode="w", add_prefix=True) as w:
        if n:
            containers, dl1cont = _magic_template_event(tel_id, cols)
            table, template = template_table(w, "events", "parameters", list(containers))
            append_columns(table, template, cols, n)
            if rng is not None:
                w.exclude("dl1/image", "parameters")  # None: skipped by the writer
                table, template = template_table(
                    w, "events", "dl1/image", [containers[0], dl1cont]
                )
                _append_magic_images(table, template, cols, rng)
    subarrays()[1].to_hdf(str(path))


def write_magic_files(
    magic_dir: Path,
    cols_by_tel: dict[int, dict[str, np.ndarray]],
    stream: EventStream,
    config: SimulationConfig,
    rng: np.random.Generator,
) -> list[Path]:
    """Write one file per MAGIC telescope and subrun as magic_calib_to_dl1 does.

    Parameters
    ----------
    magic_dir : pathlib.Path
        Output directory.
    cols_by_tel : dict
        tel_id → column arrays, as made by :func:`lmcoinc.simulate.magic.magic_columns`.
    stream : EventStream
        The triggers (for the MAGIC data window).
    config : SimulationConfig
        Run number, subrun length, clock offset and whether to write images.
    rng : numpy.random.Generator
        Random generator of the images.

    Returns
    -------
    list of pathlib.Path
        The files ``dl1_M{1,2}.Run{obs_id:08}.{subrun:03}.h5``, M1 first.
    """
    files = []
    for i_tel, tel_id in enumerate(MAGIC_TELS):
        cols = cols_by_tel[tel_id]
        n_sub, subrun = magic_subruns(cols, stream, config)
        bounds = np.searchsorted(subrun, np.arange(n_sub + 1))
        for k in range(n_sub):
            path = magic_dir / f"dl1_M{i_tel + 1}.Run{config.magic_obs_id:08}.{k + 1:03}.h5"
            part = {name: val[bounds[k] : bounds[k + 1]] for name, val in cols.items()}
            _write_magic_file(path, tel_id, part, rng if config.images else None)
            files.append(path)
    return files


_IMAGE_INFO = (
    "obs_id", "event_id", "tel_id", "pointing_alt", "pointing_az", "n_pixels", "n_islands",
    "tels_with_trigger", "time_sec", "time_nanosec", "time_diff",
)  # fmt: skip


def _append_magic_images(
    table: Any, template: np.void, cols: dict[str, np.ndarray], rng: np.random.Generator
) -> None:
    """Images of every row, with the event-info columns of the parameters table."""
    ellipses = {
        "intensity": cols["intensity"],
        "x": cols["x"],
        "y": cols["y"],
        "length_m": cols["length"],
        "width_m": cols["width"],
        "psi_rad": np.deg2rad(cols["psi"]),
        "slope": cols["slope"],
        "intercept": cols["intercept"],
    }

    def rows(sl: slice, image: np.ndarray, peak_time: np.ndarray, mask: np.ndarray) -> dict:
        part = {name: cols[name][sl] for name in _IMAGE_INFO}
        part.update(
            image=image,
            peak_time=peak_time,
            image_mask=mask,
            is_valid=np.ones(image.shape[0], dtype=bool),
        )
        return part

    append_images(table, template, rng, magic_camera_geometry(), ellipses, 1.0, rows)
