"""The coincidence of one LST-1 subrun: in memory (:func:`coincide`), and written by
``lmcoinc run`` and every task of ``lmcoinc batch`` (:func:`process_subrun`).

:func:`coincide_subrun` is the pipeline, each stage a call into its package:
read the LST-1 file (:mod:`lmcoinc.io`) → take the MAGIC events that can
matter from a :class:`~lmcoinc.io.magic_source.MagicSource` → check their
overlap (:mod:`lmcoinc.quality`) → find each MAGIC telescope's clock offset
and pairs with the subrun's offset model (:mod:`lmcoinc.pairing`, on
:mod:`lmcoinc.clock`) → stereo events and output tables
(:mod:`lmcoinc.stereo`) → diagnostics (:mod:`lmcoinc.quality`). Its
:class:`Coincidence` gives the tables as polars frames and writes the
outputs atomically (:mod:`lmcoinc.io`); :func:`process_subrun` is the two in
turn, :func:`coincide` the same for a notebook.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from .config import CoincidenceConfig, config_yaml, load_config
from .errors import LstInputError, MagicInputError, input_roles
from .io.images import copy_images
from .io.lst_events import load_lst
from .io.magic_source import MagicDirectory, MagicSource
from .io.output import DatasetPartition, SubrunWriter, output_names, parquet_frames
from .io.output_dir import check_output_dir
from .io.provenance import file_entry, now_utc, provenance, run_ids
from .io.subarray import RawSubarray
from .io.subarray_writer import write_subarray
from .pairing import Priors, clock_columns, command_priors, offset_model, pair_telescopes
from .quality.checks import check_time_overlap
from .quality.diagnostics import subrun_diagnostics
from .quality.found_offsets import offsets_beside_history
from .results import BlockTable, SubrunResult, TelescopeCoincidence
from .stereo import build_tables
from .utils.timer import StageTimer

__all__ = ["Coincidence", "SubrunReport", "coincide", "coincide_subrun", "process_subrun"]

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
    result : SubrunResult or None
        The tables and per-telescope results.
    outputs : dict
        Every file written, by key ("hdf5", "events", "feature", ...).
    """

    timer: StageTimer = field(default_factory=StageTimer)
    n_lst_events: int | None = None
    obs_id: int | None = None
    result: SubrunResult | None = None
    outputs: dict[str, Path] = field(default_factory=dict)


@dataclass
class Coincidence:
    """The coincidence of one LST-1 subrun, in memory: its tables and what wrote them.

    The tables are those of the Parquet files that ``lmcoinc run`` writes,
    with the same columns, types and values; each is gathered when first asked
    for. :meth:`write` writes what ``lmcoinc run`` writes.

    Attributes
    ----------
    result : SubrunResult
        The tables as the writer takes them, and the per-telescope results.
    config : CoincidenceConfig
        The settings it was computed with.
    provenance : dict
        Software, configuration, inputs, times and host (written with the outputs).
    """

    result: SubrunResult
    config: CoincidenceConfig
    provenance: dict[str, Any]
    lst_file: Path
    lst_subarray: RawSubarray
    magic: MagicSource
    obs_id: int

    @property
    def telescopes(self) -> dict[int, TelescopeCoincidence]:
        """MAGIC tel_id → its offset search and pairs (profile, average offset, pairs)."""
        return self.result.telescopes

    @functools.cached_property
    def tables(self) -> dict[str, pl.DataFrame]:
        """Every Parquet table by name: events, feature, profile (and offset_model,
        offset_segments)."""
        tables = {name: pl.concat(list(_blocks(table)), how="vertical")
                  for name, table in self.result.parquet_tables().items()}
        return parquet_frames(tables, self.config.magic_tel_ids)

    @property
    def events(self) -> pl.DataFrame:
        """The stereo events, one row per telescope image (``*.events.parquet``)."""
        return self.tables["events"]

    @property
    def feature(self) -> pl.DataFrame:
        """One row per MAGIC telescope: offsets, pairs and diagnostics (``*.feature.parquet``)."""
        return self.tables["feature"]

    @property
    def profile(self) -> pl.DataFrame:
        """Pairs per scanned offset and telescope (``*.profile.parquet``)."""
        return self.tables["profile"]

    @property
    def offset_model(self) -> pl.DataFrame | None:
        """Drift mode: the offset model per telescope and time slice (else None)."""
        return self.tables.get("offset_model")

    @property
    def offset_segments(self) -> pl.DataFrame | None:
        """Drift mode: the model's segments between clock steps, per telescope (else None)."""
        return self.tables.get("offset_segments")

    @property
    def offsets(self) -> pl.DataFrame:
        """The offsets found per telescope beside the history's offset for the night."""
        return offsets_beside_history(self.feature, self.config.offset_history,
                                      self.config.history_tolerance_ns)

    def write(self, output_dir: str | Path, *, dataset: DatasetPartition | None = None,
              timer: StageTimer | None = None) -> dict[str, Path]:
        """Write the HDF5 file (tables, subarray, images) and the Parquet files atomically.

        Parameters
        ----------
        output_dir : str or pathlib.Path
            Where the files go (named as ``lmcoinc run`` names them).
        dataset : DatasetPartition, optional
            Write the Parquet tables to this partition of a batch's dataset
            instead of beside the HDF5 file (its ``obs_id`` None: the LST-1 run
            of the events).

        Returns
        -------
        dict
            Every file written, by key ("hdf5", "events", "feature", ...).
        """
        timer = timer or StageTimer()
        if dataset is not None and dataset.obs_id is None:
            dataset = replace(dataset, obs_id=self.obs_id)
        config, magic = self.config, self.magic
        parquet = self.result.parquet_tables()  # the feature with its columns: built once
        finals = output_names(self.lst_file, Path(output_dir), list(parquet), dataset)
        obs_id, subrun = run_ids(self.lst_file)
        keys = ({"obs_id": dataset.obs_id, "subrun": dataset.subrun} if dataset is not None
                else {"obs_id": obs_id if obs_id is not None else self.obs_id, "subrun": subrun})
        document = {**self.provenance, "output": keys}
        with input_roles({self.lst_file: LstInputError, magic.root: MagicInputError}), \
                timer.stage("write"), \
                SubrunWriter(finals, magic_tel_ids=config.magic_tel_ids,
                             provenance=document) as out:
            _write_tables(out, self.result.hdf5_tables(), parquet)
            image = out.hdf5_image()
            with timer.stage("subarray"):
                write_subarray(image, self.lst_subarray, magic.subarray(), config.tel_ids)
            if config.save_images:
                with timer.stage("images"):
                    copy_images(image, self.result.events.plan, self.lst_file, magic.files(),
                                config.tel_ids)
            return out.commit()


def _blocks(table: BlockTable | pl.DataFrame) -> Iterator[pl.DataFrame]:
    """The rows of a table block by block (a frame: one block)."""
    return iter([table]) if isinstance(table, pl.DataFrame) else table.iter_blocks()


def _write_tables(out: SubrunWriter, hdf5: dict[str, BlockTable | pl.DataFrame],
                  parquet: dict[str, BlockTable | pl.DataFrame]) -> None:
    """Every table of a result (:meth:`SubrunResult.hdf5_tables`, ``parquet_tables``) to
    its files, each produced once: a table of the HDF5 file goes to its Parquet file in the
    same pass when that holds the same table (the stereo events: a block at a time); the
    Parquet tables of their own follow."""
    for name, table in hdf5.items():
        with out.table(name, parquet=parquet.get(name) is table) as writer:
            for block in _blocks(table):
                writer.write(block)
    for name, table in parquet.items():
        if hdf5.get(name) is not table:
            with out.table(name, hdf5=False) as writer:
                for block in _blocks(table):
                    writer.write(block)


def coincide_subrun(
    lst_file: str | Path,
    magic: MagicSource,
    config: CoincidenceConfig,
    *,
    priors: Priors | None = None,
    report: SubrunReport | None = None,
    command: str = "coincide",
) -> Coincidence:
    """The coincidence of one LST-1 subrun file with MAGIC events, in memory.

    Parameters
    ----------
    lst_file : path
        The LST-1 DL1 subrun file.
    magic : MagicSource
        The MAGIC events (a directory, or the batch's cache).
    config : CoincidenceConfig
        Settings.
    priors : Priors, optional
        What the night teaches this subrun (known offsets to fall back on);
        default: none.
    report : SubrunReport, optional
        Filled as the subrun goes (default: a new one).
    command : str
        What asks for it ("run", "batch", "coincide"), for the provenance.

    Raises
    ------
    LmcoincError
        The errors of a subrun: LstInputError, MagicInputError,
        NoMagicEventsError, NoCoincidenceError, TooManyMultiMatchesError.
    """
    started = now_utc()
    lst_file = Path(lst_file)
    report = report if report is not None else SubrunReport()
    timer = report.timer
    model = offset_model(config, priors)
    with input_roles({lst_file: LstInputError, magic.root: MagicInputError}):
        log.info("Input LST DL1 data file: %s", lst_file)
        lst = load_lst(lst_file, config.timestamp_type_lst, timer)
        report.n_lst_events, report.obs_id = lst.height, int(lst.keys["obs_id_lst"][0])
        t_first, t_last = int(lst.t_ns.min()), int(lst.t_ns.max())
        magic_range = model.magic_range(t_first, t_last)
        log.info("Input MAGIC directory: %s", magic.root)
        events = magic.events(magic_range, timer)
        check_time_overlap(lst.t_ns, events.t_ns, magic.time_range(),
                           model.overlap_window(t_first, t_last), lst_file, magic.root)
        if log.isEnabledFor(logging.INFO):  # a query per subrun, for a line batch drops
            log.info("LST-1: %d events; MAGIC: %s events", lst.height,
                     dict(events.keys.group_by("tel_id").len().sort("tel_id").iter_rows()))
        log.info("LST timestamp type: %s", config.timestamp_type_lst)
        log.info("Coincidence window half width: %d ns", config.window_half_width_ns)
        found = pair_telescopes(lst, events, model, config.tel_names, timer, lst_file.name)
        result = report.result = build_tables(lst, events, found, config, timer)
        columns, tables = model.outputs(found)
        result.feature_extra.update({**clock_columns(list(found.values())), **columns})
        result.extra_tables.update(tables)
        with timer.stage("diagnostics"):
            result.feature_extra.update(
                subrun_diagnostics(result, lst, events, config, magic_range))
    # the MAGIC files the events come from (a batch subrun: those of its time range only)
    inputs = [file_entry(lst_file, "lst", report.obs_id),
              *(file_entry(path, "magic") for path in events.files)]
    document = provenance(command, config_yaml(config), inputs, started)
    # all the output needs of the LST-1 events is in the result: they are freed on return
    return Coincidence(result, config, document, lst_file, lst.subarray, magic, report.obs_id)


def process_subrun(
    lst_file: str | Path,
    magic: MagicSource,
    output_dir: str | Path,
    config: CoincidenceConfig,
    *,
    priors: Priors | None = None,
    dataset: DatasetPartition | None = None,
    report: SubrunReport | None = None,
) -> SubrunReport:
    """Coincidence of one LST-1 subrun file with MAGIC events, outputs written atomically.

    :func:`coincide_subrun`, then :meth:`Coincidence.write`; the output
    directory is checked first, before any input is read.

    Parameters
    ----------
    lst_file, magic, config, priors, report
        As for :func:`coincide_subrun`.
    output_dir : path
        Where the HDF5 file (named like the reference's) and the Parquet files go.
    dataset : DatasetPartition, optional
        Write the Parquet tables to the subrun's partition of a Parquet dataset
        (``lmcoinc batch``) instead of beside the HDF5 file.

    Returns
    -------
    SubrunReport

    Raises
    ------
    LmcoincError
        As :func:`coincide_subrun`, and OutputError.
    """
    lst_file, output_dir = Path(lst_file), Path(output_dir)
    report = report if report is not None else SubrunReport()
    check_output_dir(output_dir, output_names(lst_file, output_dir).values())
    found = coincide_subrun(lst_file, magic, config, priors=priors, report=report,
                            command="run" if dataset is None else "batch")
    report.outputs = found.write(output_dir, dataset=dataset, timer=report.timer)
    log.info("Output file: %s", report.outputs["hdf5"])
    return report


def coincide(
    lst_file: str | Path,
    magic: str | Path | Sequence[str | Path],
    config: CoincidenceConfig | None = None,
) -> Coincidence:
    """Coincidence of one LST-1 subrun with MAGIC files, in memory: what ``lmcoinc run``
    computes, without writing.

    Parameters
    ----------
    lst_file : str or pathlib.Path
        The LST-1 DL1 subrun file.
    magic : str, pathlib.Path or sequence of them
        A directory of MAGIC ``dl1_*.h5`` files (all are read, as ``lmcoinc
        run -m`` reads them), or a list of MAGIC DL1 files.
    config : CoincidenceConfig, optional
        Settings (:func:`lmcoinc.load_config`; default: the built-in ones).

    Returns
    -------
    Coincidence
        ``events``, ``feature``, ``profile`` (and ``offset_model``,
        ``offset_segments`` in drift mode) as polars DataFrames, equal to the
        Parquet files ``lmcoinc run`` writes; ``offsets``, ``telescopes``,
        ``provenance``; ``write(out_dir)`` writes the files of ``lmcoinc run``.

    Raises
    ------
    LmcoincError
        As ``lmcoinc run``, whose exit codes they map to: LstInputError,
        MagicInputError, NoMagicEventsError, NoCoincidenceError,
        TooManyMultiMatchesError.

    Examples
    --------
    >>> import lmcoinc
    >>> found = lmcoinc.coincide("dl1_LST-1.Run03265.0040.h5", "dl1/MAGIC")  # doctest: +SKIP
    >>> found.feature.select("coincidence_id", "average_offset", "n_coincidence")  # doctest: +SKIP
    >>> found.write("dl1_coincidence")  # doctest: +SKIP
    """
    config = config if config is not None else load_config()
    source = MagicDirectory(magic, config.tel_names)
    return coincide_subrun(lst_file, source, config, priors=command_priors(config, batch=False))
