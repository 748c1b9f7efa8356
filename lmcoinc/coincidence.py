"""Coincidence of LST-1 with each MAGIC telescope: offsets, profile, pairs, tables.

:func:`coincide_telescope` works on the int64 ns timestamps of LST-1 and one
MAGIC telescope (numpy in, numpy out); :func:`coincidence` runs it for every
MAGIC telescope of prepared event tables and builds the three output tables.
Neither reads nor writes files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .config import CoincidenceConfig
from .errors import NoCoincidenceError
from .io.lst_events import LstEvents
from .match import coincident_pairs
from .offsets import (
    average_offset,
    coincidence_profile,
    in_range,
    pre_offset_search,
    scan_offsets,
    search_window,
)
from .stereo import assemble_stereo, lst_pair_rows, magic_rows
from .timestamps import magic_ns, ns_to_seconds
from .timing import StageTimer

__all__ = [
    "CoincidenceResult",
    "TelescopeCoincidence",
    "TelescopeSkipped",
    "coincide_telescope",
    "coincidence",
    "find_pairs",
]

log = logging.getLogger(__name__)


class TelescopeSkipped(Exception):  # noqa: N818 - an outcome, not a failure
    """A MAGIC telescope without coincidence; the message says why."""


@dataclass(frozen=True)
class TelescopeCoincidence:
    """Result of the coincidence of LST-1 with one MAGIC telescope.

    Attributes
    ----------
    pre_offset_ns : int or None
        Offset found by the pre-offset search (None when not run).
    offsets_ns, counts : numpy.ndarray
        The scanned offsets and the number of pairs at each.
    average_offset_ns : int
        Weighted average offset, where the pairs are taken.
    candidates : numpy.ndarray
        Indices of the MAGIC rows within the scanned time range.
    idx_lst, idx_magic : numpy.ndarray
        The pairs: LST rows and positions in ``candidates``.
    """

    pre_offset_ns: int | None
    offsets_ns: np.ndarray
    counts: np.ndarray
    average_offset_ns: int
    candidates: np.ndarray
    idx_lst: np.ndarray
    idx_magic: np.ndarray


def coincide_telescope(
    t_lst: np.ndarray,
    intensity_lst: np.ndarray,
    t_magic: np.ndarray,
    intensity_magic: np.ndarray,
    *,
    window_ns: int,
    pre_offset_search_events: int | None,
    offset_range_ns: tuple[int, int],
) -> TelescopeCoincidence:
    """Find the offset and the coincident pairs of LST-1 and one MAGIC telescope.

    Parameters
    ----------
    t_lst, intensity_lst : numpy.ndarray
        LST timestamps (int64 ns) and intensities in table order.
    t_magic, intensity_magic : numpy.ndarray
        The same for the MAGIC telescope.
    window_ns : int
        Coincidence window half width.
    pre_offset_search_events : int or None
        Number of bright events for the pre-offset search; None: scan
        ``offset_range_ns`` instead.
    offset_range_ns : (int, int)
        Scan range (start, stop) when there is no pre-offset search.

    Raises
    ------
    TelescopeSkipped
        With the reason why this telescope has no coincidence.
    """
    pre = None
    if pre_offset_search_events is not None:
        pre = pre_offset_search(
            t_lst, intensity_lst, t_magic, intensity_magic, window_ns, pre_offset_search_events
        )
        if pre is None:
            raise TelescopeSkipped("no events overlap in time for the pre-offset search")
        start, stop = pre - 3 * window_ns, pre + 3 * window_ns
    else:
        start, stop = offset_range_ns
    offsets = scan_offsets(start, stop)
    if len(offsets) == 0 or len(t_lst) == 0:
        raise TelescopeSkipped("empty offset scan range or no LST events")
    lo, hi = search_window(t_lst[0], t_lst[-1], offsets[0], offsets[-1], window_ns)
    candidates = np.flatnonzero(in_range(t_magic, lo, hi))
    if len(candidates) == 0:
        raise TelescopeSkipped("no MAGIC events within the scanned time range")
    t_cand = t_magic[candidates]
    counts = coincidence_profile(t_lst, t_cand, offsets, window_ns)
    if not counts.any():
        raise TelescopeSkipped("no coincident events at any scanned offset")
    average = average_offset(offsets, counts, window_ns)
    if average is None:
        raise TelescopeSkipped("no coincident events around the profile maximum")
    idx_lst, idx_magic = coincident_pairs(t_lst, t_cand, average, window_ns)
    return TelescopeCoincidence(pre, offsets, counts, average, candidates, idx_lst, idx_magic)


@dataclass
class CoincidenceResult:
    """Output tables of the coincidence of a subrun and the per-telescope results.

    Attributes
    ----------
    events, feature, profile : polars.DataFrame
        The reference's three tables.
    telescopes : dict
        MAGIC tel_id → its :class:`TelescopeCoincidence`.
    feature_extra : dict
        Columns beyond the reference's, one value per ``feature`` row: in the
        feature Parquet table only (the HDF5 table stays the reference's).
    extra_tables : dict
        Further tables by name (HDF5 ``/coincidence/<name>``, Parquet
        ``<stem>.<name>.parquet``).
    """

    events: pl.DataFrame
    feature: pl.DataFrame
    profile: pl.DataFrame
    telescopes: dict[int, TelescopeCoincidence]
    feature_extra: dict[str, list] = field(default_factory=dict)
    extra_tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    def hdf5_tables(self) -> dict[str, pl.DataFrame]:
        """The tables of the HDF5 output by name."""
        tables = {"events": self.events, "feature": self.feature, "profile": self.profile}
        return {**tables, **self.extra_tables}

    def parquet_tables(self) -> dict[str, pl.DataFrame]:
        """The tables of the Parquet outputs by name (the feature with its extra columns)."""
        feature = self.feature.with_columns(
            pl.Series(name, values) for name, values in self.feature_extra.items()
        )
        return {**self.hdf5_tables(), "feature": feature}


def _mean(values: np.ndarray) -> float:
    # pandas' Series.mean without bottleneck: numpy's pairwise sum / count.
    values = np.ascontiguousarray(values, dtype=np.float64)
    return float(values.sum(dtype=np.float64) / len(values)) if len(values) else float("nan")


def feature_row(
    tel_id: int, found: TelescopeCoincidence, lst_rows: pl.DataFrame, candidates: pl.DataFrame,
    window_ns: int,
) -> dict:
    """The ``/coincidence/feature`` row of one telescope (SPEC step 6g)."""
    return {
        "coincidence_id": int(f"1{tel_id}"),
        "window_half_width": window_ns,
        "unix_time": _mean(lst_rows["timestamp"].to_numpy()),
        "pointing_alt_lst": _mean(lst_rows["pointing_alt"].to_numpy()),
        "pointing_az_lst": _mean(lst_rows["pointing_az"].to_numpy()),
        "pointing_alt_magic": _mean(candidates["pointing_alt"].to_numpy()),
        "pointing_az_magic": _mean(candidates["pointing_az"].to_numpy()),
        "average_offset": found.average_offset_ns * 0.001,
        "n_coincidence": len(found.idx_lst),
        "n_events_magic": len(found.candidates),
    }


def profile_frame(tel_id: int, found: TelescopeCoincidence) -> pl.DataFrame:
    """The profile column of one telescope over ``time_offset`` (µs, 0.1 µs steps)."""
    return pl.DataFrame(
        {
            "time_offset": np.rint(found.offsets_ns * 0.001 * 10.0) / 10.0,
            f"n_coincidence_tel1{tel_id}": found.counts,
        }
    )


def magic_telescope(magic: pl.DataFrame, tel_id: int) -> tuple[pl.DataFrame, np.ndarray]:
    """The rows of one MAGIC telescope, ``timestamp`` in s replacing ``time_sec``/``time_nanosec``,
    and their int64 ns timestamps."""
    rows = magic.filter(pl.col("tel_id") == tel_id)
    t_magic = magic_ns(rows["time_sec"].to_numpy(), rows["time_nanosec"].to_numpy())
    rows = rows.with_columns(timestamp=pl.Series(ns_to_seconds(t_magic)))
    return rows.drop("time_sec", "time_nanosec"), t_magic


def coincidence(
    lst: LstEvents,
    lst_columns: Sequence[str],
    magic: pl.DataFrame,
    config: CoincidenceConfig,
    timer: StageTimer | None = None,
) -> CoincidenceResult:
    """Coincidence of prepared LST and MAGIC events.

    The offsets and pairs are found on the LST timestamps and intensities;
    then all parameters of the paired LST events are read
    (:meth:`lmcoinc.io.lst_events.LstEvents.rows`) to build the tables.

    Parameters
    ----------
    lst : LstEvents
        The prepared LST events.
    lst_columns : sequence of str
        The LST columns of the stereo table (index and common parameters).
    magic : polars.DataFrame
        Prepared MAGIC events, only the index and common parameters.
    config : CoincidenceConfig
        Settings.

    Raises
    ------
    NoCoincidenceError
        If no telescope has a coincident event.
    """
    timer = timer or StageTimer()
    found = find_pairs(lst, magic, config, timer)
    if not found:
        raise NoCoincidenceError("no coincident events found for any MAGIC telescope")
    window = config.window_half_width_ns
    with timer.stage("read"):
        positions = np.unique(np.concatenate([tel.idx_lst for _, tel in found.values()]))
        paired = lst.rows(positions, lst_columns)
    parts, features, profiles = [], [], []
    with timer.stage("match"):
        for tel_id, (candidates, tel) in found.items():
            lst_rows = lst_pair_rows(paired[np.searchsorted(positions, tel.idx_lst)],
                                     candidates, tel.idx_magic)
            parts += [lst_rows, magic_rows(lst.keys, candidates, tel.idx_lst, tel.idx_magic)]
            features.append(feature_row(tel_id, tel, lst_rows, candidates, window))
            profiles.append(profile_frame(tel_id, tel))
    with timer.stage("stereo"):
        events = assemble_stereo(parts, config.tel_names)
    profile = profiles[0]
    for other in profiles[1:]:
        profile = profile.join(other, on="time_offset", how="full", coalesce=True)
    telescopes = {tel_id: tel for tel_id, (_, tel) in found.items()}
    from .drift_coincidence import drift_outputs

    return CoincidenceResult(events, pl.DataFrame(features), profile.sort("time_offset"),
                             telescopes, *drift_outputs(telescopes))


def find_pairs(
    lst: LstEvents, magic: pl.DataFrame, config: CoincidenceConfig, timer: StageTimer
) -> dict[int, tuple[pl.DataFrame, TelescopeCoincidence]]:
    """For each MAGIC telescope with a coincidence: its candidate rows and its result
    (by ``config.offset_model``: one offset, or a drifting one)."""
    from .drift_coincidence import coincide_and_log, warn_if_drifting  # it imports this module

    found = {}
    for tel_id in np.unique(magic["tel_id"].to_numpy()).tolist():
        name = config.tel_names[tel_id]
        with timer.stage("timestamps"):
            rows, t_magic = magic_telescope(magic, tel_id)
        try:
            with timer.stage("offsets"):
                if config.offset_model == "drift":
                    tel = coincide_and_log(tel_id, lst.t_ns, lst.intensity, t_magic,
                                           rows["intensity"].to_numpy(), config)
                else:
                    tel = coincide_telescope(
                        lst.t_ns, lst.intensity, t_magic, rows["intensity"].to_numpy(),
                        window_ns=config.window_half_width_ns,
                        pre_offset_search_events=(
                            config.n_pre_offset_search_events if config.pre_offset_search
                            else None
                        ),
                        offset_range_ns=(config.offset_start_ns, config.offset_stop_ns),
                    )
        except TelescopeSkipped as skipped:
            log.info("%s: %s; skipping", name, skipped)
            continue
        log_telescope(name, tel)
        if config.offset_model == "constant":
            warn_if_drifting(name, tel, config.window_half_width_ns)
        found[tel_id] = (rows[tel.candidates], tel)
    return found


def log_telescope(name: str, found: TelescopeCoincidence) -> None:
    """Log the offsets and pairs of one telescope as the reference does."""
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
