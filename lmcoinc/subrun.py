"""The coincidence of one LST-1 subrun, for ``lmcoinc run`` and every task of ``lmcoinc batch``.

read → timestamps → offsets → match → stereo → write:
:func:`process_subrun` reads the LST-1 file, takes the MAGIC events from a
:class:`~lmcoinc.sources.MagicSource`, runs :func:`lmcoinc.coincidence.coincidence`
and writes the outputs atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from .checks import check_output_dir, check_time_overlap
from .coincidence import coincidence
from .config import CoincidenceConfig
from .diagnostics import subrun_diagnostics
from .errors import LstInputError, MagicInputError, input_roles
from .io.lst_events import load_lst
from .io.output import DatasetPartition, output_names, write_subrun_files
from .sources import MagicSource
from .tables import CoincidenceResult
from .timing import StageTimer

__all__ = ["SubrunReport", "process_subrun", "write_result"]

log = logging.getLogger(__name__)


@dataclass
class SubrunReport:
    """What :func:`process_subrun` has read, computed and written; filled as it goes.

    The caller may pass one in, to keep what was known when an error stopped
    the subrun (e.g. the number of LST events of a subrun without coincidence).

    Attributes
    ----------
    timer : StageTimer
        Seconds per stage.
    n_lst_events : int or None
        LST-1 shower events after the cuts.
    obs_id : int or None
        The LST-1 run of the events.
    result : CoincidenceResult or None
        The tables and per-telescope results.
    outputs : dict
        Every file written, by key ("hdf5", "events", ..., "dataset:events", ...).
    """

    timer: StageTimer = field(default_factory=StageTimer)
    n_lst_events: int | None = None
    obs_id: int | None = None
    result: CoincidenceResult | None = None
    outputs: dict[str, Path] = field(default_factory=dict)


def process_subrun(
    lst_file: str | Path,
    magic: MagicSource,
    output_dir: str | Path,
    config: CoincidenceConfig,
    *,
    dataset: DatasetPartition | None = None,
    report: SubrunReport | None = None,
) -> SubrunReport:
    """Coincidence of one LST-1 subrun file with MAGIC events, outputs written atomically.

    Parameters
    ----------
    lst_file : path
        The LST-1 DL1 subrun file.
    magic : MagicSource
        The MAGIC events (a directory, or the batch's cache).
    output_dir : path
        Where the HDF5 file (named like the reference's) and the three
        Parquet files go.
    config : CoincidenceConfig
        Settings.
    dataset : DatasetPartition, optional
        Also write the subrun's partition of a Parquet dataset (its
        ``obs_id`` may be None: the LST-1 run of the events is used).
    report : SubrunReport, optional
        Filled as the subrun goes (default: a new one).

    Returns
    -------
    SubrunReport

    Raises
    ------
    LmcoincError
        The errors of a subrun: LstInputError, MagicInputError,
        NoMagicEventsError, NoCoincidenceError, TooManyMultiMatchesError,
        OutputError.
    """
    lst_file, output_dir = Path(lst_file), Path(output_dir)
    report = report if report is not None else SubrunReport()
    timer = report.timer
    with input_roles({lst_file: LstInputError, magic.root: MagicInputError}):
        check_output_dir(output_dir, output_names(lst_file, output_dir).values())
        log.info("Input LST DL1 data file: %s", lst_file)
        lst = load_lst(lst_file, config.timestamp_type_lst, timer)
        report.n_lst_events, report.obs_id = lst.height, int(lst.keys["obs_id_lst"][0])
        log.info("Input MAGIC directory: %s", magic.root)
        events = magic.events(lst.t_ns, config, timer)
        check_time_overlap(lst.t_ns, events.t_ns, magic.time_range(), config, lst_file,
                           magic.root)
        log.info("LST-1: %d events; MAGIC: %s events", lst.height,
                 dict(events.keys.group_by("tel_id").len().sort("tel_id").iter_rows()))
        log.info("LST timestamp type: %s", config.timestamp_type_lst)
        log.info("Coincidence window half width: %d ns", config.window_half_width_ns)
        report.result = coincidence(lst, events, config, timer)
        with timer.stage("diagnostics"):
            report.result.feature_extra.update(
                subrun_diagnostics(report.result, lst, events, config))
        del lst  # all the output needs of it now is in the result: freed before writing
        if dataset is not None and dataset.obs_id is None:
            dataset = replace(dataset, obs_id=report.obs_id)
        report.outputs = write_result(
            report.result, lst_file, magic, output_dir, config, timer, dataset
        )
    log.info("Output file: %s", report.outputs["hdf5"])
    return report


def write_result(
    result: CoincidenceResult,
    lst_file: Path,
    magic: MagicSource,
    output_dir: Path,
    config: CoincidenceConfig,
    timer: StageTimer,
    dataset: DatasetPartition | None = None,
) -> dict[str, Path]:
    """Write the HDF5 file (tables, subarray, images) and the Parquet files atomically."""

    def extra(path: Path) -> None:
        from .io.subarray import lst_subarray, write_subarray

        with timer.stage("subarray"):
            write_subarray(path, lst_subarray(lst_file), magic.subarray(), config.tel_ids)
        if config.save_images:
            from .io.images import copy_images

            with timer.stage("images"):
                copy_images(path, result.events.plan, lst_file, magic.files(), config.tel_ids)

    tables = result.parquet_tables()
    with timer.stage("write"):
        return write_subrun_files(
            output_names(lst_file, output_dir, list(tables)), result.hdf5_tables(), extra,
            dataset, parquet_tables=tables,
        )
