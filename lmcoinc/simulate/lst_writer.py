"""The LST-1 DL1 file, written as lstchain 0.12 ``lstchain_data_r0_to_dl1`` writes it.

Global metadata in the root attributes, ``SubarrayDescription.to_hdf`` of
``LSTEventSource.create_subarray(tel_id=1)``, and a ctapipe ``HDF5TableWriter``
(group ``dl1/event``, ``HDF5_ZSTD_FILTERS``, lstchain's ``setup_writer``
column exclusions) writing ``[EventIndexContainer, DL1ParametersContainer]``
rows to ``/dl1/event/telescope/parameters/LST_LSTCam`` (and optionally the
images to ``/dl1/event/telescope/image/LST_LSTCam``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .images import append_images
from .instrument import subarrays, timing_parameters
from .lst import EVENT_TYPE_FLATFIELD, LST_FOCAL_LENGTH_M, LST_N_PIXELS, TIB_MONO
from .tablewriter import append_columns, template_table

__all__ = ["LST_IMAGES_KEY", "LST_PARAMETERS_KEY", "write_lst_file"]

#: PyTables path of the LST-1 DL1 parameters table
LST_PARAMETERS_KEY = "/dl1/event/telescope/parameters/LST_LSTCam"
#: PyTables path of the LST-1 DL1 image table
LST_IMAGES_KEY = "/dl1/event/telescope/image/LST_LSTCam"


def _lst_template_event(subarray: Any, cols: dict[str, np.ndarray]) -> tuple[Any, ...]:
    """Containers of one real-looking LST event, filled as lstchain's r0_to_dl1 fills them."""
    import warnings

    from astropy import units as u
    from astropy.time import Time
    from ctapipe.containers import DL1CameraContainer, EventIndexContainer, EventType
    from ctapipe.image import hillas_parameters
    from lstchain.io.config import get_standard_config
    from lstchain.io.io import add_config_metadata, add_global_metadata, global_metadata
    from lstchain.io.lstcontainers import DL1ParametersContainer, ExtraImageInfo
    from lstchain.reco.r0_to_dl1 import _camera_distance_to_angle

    tel = subarray.tel[1]
    geom = tel.camera.geometry
    focal = tel.optics.equivalent_focal_length
    px, py = geom.pix_x.to_value(u.m), geom.pix_y.to_value(u.m)
    image = (300.0 * np.exp(-0.5 * (((px - 0.3) / 0.08) ** 2 + ((py - 0.1) / 0.04) ** 2))).astype(
        np.float32
    )
    peak_time = (20.0 + 5.0 * (px - 0.3)).astype(np.float32)
    mask = image > 6.0

    index = EventIndexContainer(obs_id=int(cols["obs_id"][0]), event_id=int(cols["event_id"][0]))
    dl1 = DL1ParametersContainer()
    dl1.calibration_id = 1
    dl1.obs_id = index.obs_id
    dl1.event_id = index.event_id
    dl1.n_islands = 1
    dl1.n_pixels = int(np.count_nonzero(mask))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # lstchain.reco.r0_to_dl1.parametrize_image, with the numba-compiled
        # timing fit replaced by its numpy equivalent (same types, no JIT cost)
        geom_sel, image_sel = geom[mask], image[mask]
        hillas = hillas_parameters(geom_sel, image_sel)
        dl1.fill_hillas(hillas)
        for key in ["width", "width_uncertainty", "length", "length_uncertainty"]:
            setattr(dl1, key, _camera_distance_to_angle(getattr(dl1, key), focal))
        dl1.wl = dl1.width / dl1.length
        timing = timing_parameters(geom_sel, image_sel, peak_time[mask], hillas)
        dl1.time_gradient = timing.slope.value
        dl1.intercept = timing.intercept
        dl1.set_leakage(geom, image, mask)
        dl1.set_concentration(geom_sel, image_sel, hillas)
        dl1.log_intensity = np.log10(dl1.intensity)
    dl1.set_telescope_info(subarray, 1)
    time = Time(float(cols["dragon_time"][0]), format="unix")
    dl1.ucts_time = time.unix
    dl1.dragon_time = time.unix
    dl1.tib_time = time.unix
    dl1.ucts_jump = False
    dl1.ucts_trigger_type = np.uint8(TIB_MONO)
    dl1.trigger_type = np.uint8(TIB_MONO)
    dl1.az_tel = u.Quantity(float(cols["az_tel"][0]), u.rad)
    dl1.alt_tel = u.Quantity(float(cols["alt_tel"][0]), u.rad)
    dl1.sin_az_tel = np.sin(dl1.az_tel)
    dl1.trigger_time = time.unix
    dl1.event_type = EventType.SUBARRAY
    dl1.prefix = ""

    dl1_tel = DL1CameraContainer(
        image=image, peak_time=peak_time, image_mask=mask, is_valid=True, prefix=""
    )
    extra_im = ExtraImageInfo()
    extra_im.prefix = ""
    extra_im.tel_id = 1
    extra_im.selected_gain_channel = np.zeros(LST_N_PIXELS, dtype=np.int8)

    metadata = global_metadata()
    config = get_standard_config()
    for container in (extra_im, dl1, dl1_tel):
        add_global_metadata(container, metadata)
        add_config_metadata(container, config)
    return index, dl1, dl1_tel, extra_im


def write_lst_file(
    path: Path,
    cols: dict[str, np.ndarray],
    with_subarray: bool,
    image_rng: np.random.Generator | None,
) -> None:
    """Write the LST-1 DL1 file as lstchain 0.12 ``r0_to_dl1`` does.

    Parameters
    ----------
    path : pathlib.Path
        The file (replaced if present).
    cols : dict of numpy.ndarray
        The parameters columns, as made by :func:`lmcoinc.simulate.lst.lst_columns`.
    with_subarray : bool
        Write the subarray description; ``False``: only the instrument tables
        of an lstchain < 0.10 file, which recent ctapipe cannot read back.
    image_rng : numpy.random.Generator or None
        Random generator of the images; ``None``: no image table.
    """
    from ctapipe.io import HDF5TableWriter
    from lstchain.io.io import HDF5_ZSTD_FILTERS, global_metadata, write_metadata
    from lstchain.reco.r0_to_dl1 import setup_writer

    subarray, _ = subarrays()
    path.unlink(missing_ok=True)
    write_metadata(global_metadata(), str(path))
    if with_subarray:
        subarray.to_hdf(str(path))
    else:
        _write_outdated_subarray(path, subarray)

    n = cols["event_id"].size
    if n == 0:  # no event: r0_to_dl1 creates no event table either
        return
    index, dl1, dl1_tel, extra_im = _lst_template_event(subarray, cols)
    with HDF5TableWriter(
        filename=str(path),
        group_name="dl1/event",
        mode="a",
        filters=HDF5_ZSTD_FILTERS,
        add_prefix=True,
    ) as writer:
        setup_writer(writer, subarray, is_simulation=False)
        table, template = template_table(
            writer, "dl1/event", "telescope/parameters/LST_LSTCam", [index, dl1]
        )
        append_columns(table, template, cols, n)

        if image_rng is not None:
            table, template = template_table(
                writer, "dl1/event", "telescope/image/LST_LSTCam", [index, dl1_tel, extra_im]
            )
            _append_lst_images(table, template, cols, subarray, image_rng)


def _write_outdated_subarray(path: Path, subarray: Any) -> None:
    """Instrument description of an lstchain < 0.10 (ctapipe 0.12) DL1 file.

    The layout table has the obsolete version 1.0 (no camera/optics index,
    cameras stored by name), which ``SubarrayDescription.from_hdf`` of recent
    ctapipe rejects with ``OSError: Unsupported version of subarray table: 1.0``;
    the optics table with ``equivalent_focal_length`` stays readable.
    """
    from astropy.table import Table
    from ctapipe.io import write_table

    tel = subarray.tel[1]
    pos = subarray.positions[1]
    layout = Table(
        {
            "tel_id": np.array([1], dtype=np.int16),
            "pos_x": pos[0:1],
            "pos_y": pos[1:2],
            "pos_z": pos[2:3],
            "name": [tel.name],
            "type": [tel.type],
            "num_mirrors": np.array([tel.optics.n_mirrors], dtype=np.int64),
            "camera_type": [tel.camera.name],
            "tel_description": [str(tel)],
        },
        meta={
            "TAB_VER": "1.0",
            "TAB_TYPE": "ctapipe.instrument.SubarrayDescription",
            "name": subarray.name,
        },
    )
    base = "/configuration/instrument"
    write_table(layout, str(path), path=f"{base}/subarray/layout")
    write_table(subarray.to_table(kind="optics"), str(path), path=f"{base}/telescope/optics")
    camera = tel.camera
    write_table(
        camera.geometry.to_table(),
        str(path),
        path=f"{base}/telescope/camera/geometry_{camera.name}",
    )
    write_table(
        camera.readout.to_table(), str(path), path=f"{base}/telescope/camera/readout_{camera.name}"
    )


def _append_lst_images(
    table: Any,
    template: np.void,
    cols: dict[str, np.ndarray],
    subarray: Any,
    rng: np.random.Generator,
) -> None:
    """Images of every row; flat-field events light the whole camera."""
    ellipses = {
        "intensity": cols["intensity"],
        "x": cols["x"],
        "y": cols["y"],
        "length_m": LST_FOCAL_LENGTH_M * np.tan(np.deg2rad(cols["length"])),
        "width_m": LST_FOCAL_LENGTH_M * np.tan(np.deg2rad(cols["width"])),
        "psi_rad": cols["psi"],
        "slope": cols["time_gradient"],
        "intercept": cols["intercept"],
    }

    def rows(sl: slice, image: np.ndarray, peak_time: np.ndarray, mask: np.ndarray) -> dict:
        ff = cols["event_type"][sl] == EVENT_TYPE_FLATFIELD
        image[ff] = rng.normal(80.0, 5.0, (int(ff.sum()), LST_N_PIXELS))
        mask[ff] = True
        return {
            "obs_id": cols["obs_id"][sl],
            "event_id": cols["event_id"][sl],
            "image": image.astype(np.float32),
            "peak_time": peak_time.astype(np.float32),
            "image_mask": mask,
            "is_valid": np.ones(image.shape[0], dtype=bool),
            "tel_id": np.ones(image.shape[0], dtype=np.int64),
            "selected_gain_channel": (image > 60.0).astype(np.int8),
        }

    geometry = subarray.tel[1].camera.geometry
    append_images(table, template, rng, geometry, ellipses, 1.5, rows)
