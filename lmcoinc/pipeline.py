"""The coincidence of one LST-1 subrun with MAGIC: read → timestamps → offsets →
match → stereo → write."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from .checks import check_output_dir, check_time_overlap
from .coincidence import TelescopeCoincidence, coincide_telescope
from .config import CoincidenceConfig
from .errors import MagicInputError, NoCoincidenceError, NoMagicEventsError
from .io.lst import prepare_lst, read_lst
from .io.magic import prepare_magic, read_magic
from .io.output import output_names, write_outputs
from .stereo import assemble_stereo, lst_pair_rows, magic_rows
from .timestamps import magic_ns, ns_to_seconds, seconds_to_ns

__all__ = [
    "CoincidenceResult",
    "RunResult",
    "coincidence",
    "common_columns",
    "load_lst",
    "load_magic",
    "run",
    "select_common",
    "write_result",
]

log = logging.getLogger(__name__)


@dataclass
class CoincidenceResult:
    """Output tables of the coincidence and the per-telescope results."""

    events: pl.DataFrame
    feature: pl.DataFrame
    profile: pl.DataFrame
    telescopes: dict[int, TelescopeCoincidence]

    def tables(self) -> dict[str, pl.DataFrame]:
        """The three output tables by name."""
        return {"events": self.events, "feature": self.feature, "profile": self.profile}


@dataclass
class RunResult:
    """What :func:`run` wrote and measured."""

    outputs: dict[str, Path]
    result: CoincidenceResult
    timings: dict[str, float] = field(default_factory=dict)


class _Timer:
    """Wall time per pipeline stage, summed over repeated entries."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.timings[name] = self.timings.get(name, 0.0) + elapsed


def common_columns(lst_columns: list[str], magic_columns: list[str]) -> set[str]:
    """Parameters to drop: those not common to LST and MAGIC (the reference's rule).

    ``lst_columns`` has the LST timestamp already renamed to "timestamp";
    MAGIC's ``time_sec`` and ``time_nanosec`` are kept for the timestamps.
    """
    params_lst = set(lst_columns) ^ {"timestamp"}
    params_magic = set(magic_columns) ^ {"time_sec", "time_nanosec"}
    return params_lst ^ params_magic


def _mean(values: np.ndarray) -> float:
    # pandas' Series.mean without bottleneck: numpy's pairwise sum / count.
    values = np.ascontiguousarray(values, dtype=np.float64)
    return float(values.sum(dtype=np.float64) / len(values)) if len(values) else float("nan")


def coincidence(
    lst: pl.DataFrame,
    t_lst: np.ndarray,
    magic: pl.DataFrame,
    config: CoincidenceConfig,
    timer: _Timer | None = None,
) -> CoincidenceResult:
    """Coincidence of prepared LST and MAGIC events (no I/O).

    Parameters
    ----------
    lst : polars.DataFrame
        From :func:`prepare_lst`, LST timestamp column renamed "timestamp",
        only the common parameters.
    t_lst : numpy.ndarray
        LST timestamps in int64 ns, row-aligned with ``lst``.
    magic : polars.DataFrame
        From :func:`prepare_magic`, only the common parameters.
    config : CoincidenceConfig
        Settings.

    Raises
    ------
    NoCoincidenceError
        If no telescope has a coincident event.
    """
    timer = timer or _Timer()
    window = config.window_half_width_ns
    tel_names = config.tel_names
    intensity_lst = lst["intensity"].to_numpy()
    parts, features, profiles, results = [], [], [], {}
    tel_ids = np.unique(magic["tel_id"].to_numpy())
    for tel_id in tel_ids.tolist():
        name = tel_names[tel_id]
        with timer.stage("timestamps"):
            df_magic = magic.filter(pl.col("tel_id") == tel_id)
            t_magic = magic_ns(df_magic["time_sec"].to_numpy(), df_magic["time_nanosec"].to_numpy())
            df_magic = df_magic.with_columns(
                timestamp=pl.Series(ns_to_seconds(t_magic))
            ).drop("time_sec", "time_nanosec")
        with timer.stage("offsets"):
            found = coincide_telescope(
                t_lst,
                intensity_lst,
                t_magic,
                df_magic["intensity"].to_numpy(),
                window_ns=window,
                pre_offset_search_events=(
                    config.n_pre_offset_search_events if config.pre_offset_search else None
                ),
                offset_range_ns=(config.offset_start_ns, config.offset_stop_ns),
            )
        if isinstance(found, str):
            log.info("%s: %s; skipping", name, found)
            continue
        results[tel_id] = found
        _log_telescope(name, found)
        with timer.stage("match"):
            candidates = df_magic[found.candidates]
            lst_rows = lst_pair_rows(lst, candidates, found.idx_lst, found.idx_magic)
            parts += [lst_rows, magic_rows(lst, candidates, found.idx_lst, found.idx_magic)]
        coincidence_id = int(f"1{tel_id}")
        features.append(
            {
                "coincidence_id": coincidence_id,
                "window_half_width": window,
                "unix_time": _mean(lst_rows["timestamp"].to_numpy()),
                "pointing_alt_lst": _mean(lst_rows["pointing_alt"].to_numpy()),
                "pointing_az_lst": _mean(lst_rows["pointing_az"].to_numpy()),
                "pointing_alt_magic": _mean(candidates["pointing_alt"].to_numpy()),
                "pointing_az_magic": _mean(candidates["pointing_az"].to_numpy()),
                "average_offset": found.average_offset_ns * 0.001,
                "n_coincidence": len(found.idx_lst),
                "n_events_magic": len(found.candidates),
            }
        )
        profiles.append(
            pl.DataFrame(
                {
                    "time_offset": np.rint(found.offsets_ns * 0.001 * 10.0) / 10.0,
                    f"n_coincidence_tel{coincidence_id}": found.counts,
                }
            )
        )
    if not parts:
        raise NoCoincidenceError("no coincident events found for any MAGIC telescope")
    with timer.stage("stereo"):
        events = assemble_stereo(parts, tel_names)
    profile = profiles[0]
    for other in profiles[1:]:
        profile = profile.join(other, on="time_offset", how="full", coalesce=True)
    profile = profile.sort("time_offset")
    return CoincidenceResult(events, pl.DataFrame(features), profile, results)


def _log_telescope(name: str, found: TelescopeCoincidence) -> None:
    if found.pre_offset_ns is not None:
        log.info("%s: pre offset search finds %.1f us", name, found.pre_offset_ns / 1000)
    log.info(
        "%s: time offset scan from %.1f us to %.1f us",
        name, found.offsets_ns[0] / 1000, found.offsets_ns[-1] / 1000,
    )
    for offset, count in zip(found.offsets_ns, found.counts, strict=True):
        log.info("  time offset %.1f us --> %d events", offset / 1000, count)
    n_pairs, n_magic = len(found.idx_lst), len(found.candidates)
    log.info(
        "%s: average offset %.3f us, %d coincident events of %d (%.1f%%)",
        name, found.average_offset_ns / 1000, n_pairs, n_magic, 100 * n_pairs / n_magic,
    )


def load_lst(lst_file: Path, config: CoincidenceConfig, timer: _Timer | None = None):
    """Read and prepare an LST-1 file: (frame, int64 ns timestamps).

    The configured timestamp column is renamed "timestamp".
    """
    timer = timer or _Timer()
    ts_col = config.timestamp_type_lst
    with timer.stage("read"):
        lst_data = read_lst(lst_file, ts_col)
    with timer.stage("prepare"):
        lst = prepare_lst(lst_data.raw, lst_data.focal_length_m, ts_col, lst_file)
        lst = lst.rename({ts_col: "timestamp"})
    with timer.stage("timestamps"):
        # prepare_lst has dropped the invalid timestamps (io/lst.py's policy)
        t_lst = seconds_to_ns(lst["timestamp"].to_numpy())
    return lst, t_lst


def load_magic(
    magic_dir: Path, config: CoincidenceConfig, timer: _Timer | None = None
) -> tuple[pl.DataFrame, list[Path]]:
    """Read and prepare the MAGIC files of a directory: (frame, files used)."""
    timer = timer or _Timer()
    with timer.stage("read"):
        magic_data = read_magic(magic_dir)
    if magic_data.raw.height == 0:
        raise NoMagicEventsError(f"{magic_dir}: no MAGIC events in the DL1 files")
    with timer.stage("prepare"):
        magic = prepare_magic(magic_data.raw)
    unknown = sorted(set(magic["tel_id"].unique().to_list()) - set(config.tel_names))
    if unknown:
        raise MagicInputError(f"{magic_dir}: MAGIC tel_id {unknown} not in the config's mc_tel_ids")
    return magic, magic_data.files


def select_common(lst: pl.DataFrame, magic: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Drop the parameters that are not common to LST and MAGIC (ids kept)."""
    drop = common_columns(lst.columns[3:], magic.columns[3:])
    return (
        lst.drop([c for c in lst.columns[3:] if c in drop]),
        magic.drop([c for c in magic.columns[3:] if c in drop]),
    )


def write_result(
    result: CoincidenceResult,
    lst_file: Path,
    magic_files: list[Path],
    output_dir: Path,
    config: CoincidenceConfig,
    timer: _Timer | None = None,
    subarray_files: list[Path] | None = None,
) -> dict[str, Path]:
    """Write the HDF5 file (tables, subarray, images) and the Parquet files atomically.

    ``subarray_files`` (default ``magic_files``) are the MAGIC files whose
    subarrays are checked and used; ``lmcoinc batch`` checks all of them once
    and passes the first one only.
    """
    timer = timer or _Timer()
    outputs = output_names(lst_file, output_dir)
    subarray_files = magic_files if subarray_files is None else subarray_files

    def extra(path: Path) -> None:
        from .io.subarray import write_subarray

        with timer.stage("subarray"):
            write_subarray(path, lst_file, subarray_files, config.tel_ids)
        if config.save_images:
            from .io.images import copy_images

            with timer.stage("images"):
                copy_images(path, result.events, lst_file, magic_files, config.tel_ids)

    with timer.stage("write"):
        write_outputs(outputs, result.tables(), extra)
    return outputs


def run(
    lst_file: str | Path,
    magic_dir: str | Path,
    output_dir: str | Path,
    config: CoincidenceConfig,
) -> RunResult:
    """Run the coincidence of one LST-1 subrun file with a MAGIC directory.

    Writes the HDF5 file (named like the reference's) and three Parquet
    files to ``output_dir``, atomically.
    """
    lst_file, magic_dir, output_dir = Path(lst_file), Path(magic_dir), Path(output_dir)
    timer = _Timer()
    check_output_dir(output_dir, output_names(lst_file, output_dir).values())
    log.info("Input LST DL1 data file: %s", lst_file)
    lst, t_lst = load_lst(lst_file, config, timer)
    log.info("Input MAGIC directory: %s", magic_dir)
    magic, magic_files = load_magic(magic_dir, config, timer)
    check_time_overlap(t_lst, magic, config, lst_file, magic_dir)
    lst, magic = select_common(lst, magic)
    log.info("LST-1: %d events; MAGIC: %s events", lst.height,
             dict(magic.group_by("tel_id").len().sort("tel_id").iter_rows()))
    log.info("LST timestamp type: %s", config.timestamp_type_lst)
    log.info("Coincidence window half width: %d ns", config.window_half_width_ns)
    result = coincidence(lst, t_lst, magic, config, timer)
    outputs = write_result(result, lst_file, magic_files, output_dir, config, timer)
    log.info("Output file: %s", outputs["hdf5"])
    return RunResult(outputs, result, timer.timings)
