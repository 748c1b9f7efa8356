"""The output tables of a subrun's coincidence: stereo events, feature, profile.

From the pairs of each MAGIC telescope (:func:`lmcoinc.pairing.pair_telescopes`)
:func:`build_tables` reads all parameters of the paired LST events once,
plans the stereo table on ids (:func:`~.events.stereo_plan`) and leaves the
MAGIC parameters to be read a block at a time when the table is written
(:class:`~.events.StereoEvents`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..config import CoincidenceConfig
from ..io.lst import LST_INDEX
from ..io.lst_events import LstEvents
from ..io.magic import MAGIC_INDEX
from ..io.magic_events import MagicEvents
from ..io.timestamps import ns_to_seconds
from ..results import SubrunResult, TelescopeCoincidence, coincidence_id, profile_column
from ..utils.memory import release_free_memory
from ..utils.timer import StageTimer
from .columns import common_columns
from .events import (
    FROM_LST,
    FROM_MAGIC,
    Fetch,
    StereoEvents,
    merge_equal_rows,
    narrow_rows,
    stereo_plan,
)

__all__ = ["build_tables", "feature_row", "profile_frame"]


def _mean(values: np.ndarray) -> float:
    # pandas' Series.mean without bottleneck: numpy's pairwise sum / count.
    values = np.ascontiguousarray(values, dtype=np.float64)
    return float(values.sum(dtype=np.float64) / len(values)) if len(values) else float("nan")


def feature_row(
    tel_id: int, found: TelescopeCoincidence, lst_rows: pl.DataFrame, magic: MagicEvents,
    window_ns: int,
) -> dict:
    """The ``/coincidence/feature`` row of one telescope (SPEC step 6g).

    ``lst_rows`` are the LST rows of the pairs (one per pair).
    """
    return {
        "coincidence_id": coincidence_id(tel_id),
        "window_half_width": window_ns,
        "unix_time": _mean(lst_rows["timestamp"].to_numpy()),
        "pointing_alt_lst": _mean(lst_rows["pointing_alt"].to_numpy()),
        "pointing_az_lst": _mean(lst_rows["pointing_az"].to_numpy()),
        "pointing_alt_magic": _mean(magic.pointing_alt[found.candidates]),
        "pointing_az_magic": _mean(magic.pointing_az[found.candidates]),
        "average_offset": found.average_offset_ns * 0.001,
        "n_coincidence": len(found.idx_lst),
        "n_events_magic": len(found.candidates),
    }


def profile_frame(tel_id: int, found: TelescopeCoincidence) -> pl.DataFrame:
    """The profile column of one telescope over ``time_offset`` (µs, 0.1 µs steps)."""
    return pl.DataFrame(
        {
            "time_offset": np.rint(found.offsets_ns * 0.001 * 10.0) / 10.0,
            profile_column(tel_id): found.counts,
        }
    )


def _magic_parameters(magic: MagicEvents, columns: list[str], parameters: list[str]) -> Fetch:
    """Fetch of MAGIC parameters, ``timestamp`` (s) computed as the reference does."""

    def fetch(positions: np.ndarray) -> pl.DataFrame:
        frame = magic.rows(positions, columns)
        seconds = ns_to_seconds(magic.t_ns[positions])
        return frame.with_columns(timestamp=pl.Series(seconds)).select(parameters)

    return fetch


def build_tables(
    lst: LstEvents,
    magic: MagicEvents,
    found: dict[int, TelescopeCoincidence],
    config: CoincidenceConfig,
    timer: StageTimer,
) -> SubrunResult:
    """The output tables from the pairs of each telescope (at least one).

    Parameters
    ----------
    lst, magic : LstEvents, MagicEvents
        The prepared events.
    found : dict
        MAGIC tel_id → its pairs, candidates as positions in ``magic``.
    config : CoincidenceConfig
        Settings.
    """
    lst_columns, magic_columns = common_columns(lst.columns, magic.columns)
    parameters = [c for c in lst_columns if c not in LST_INDEX]
    with timer.stage("read"):
        positions = np.unique(np.concatenate([tel.idx_lst for tel in found.values()]))
        paired = lst.rows(positions, lst_columns)
    features = [
        feature_row(tel_id, tel, paired[np.searchsorted(positions, tel.idx_lst)], magic,
                    config.window_half_width_ns)
        for tel_id, tel in found.items()
    ]
    paired_parameters = paired.select(parameters)  # each fetch gathers these columns only
    fetch = {
        FROM_LST: lambda at: paired_parameters[np.searchsorted(positions, at)],
        FROM_MAGIC: _magic_parameters(
            magic, [c for c in magic_columns if c not in MAGIC_INDEX], parameters
        ),
    }
    schema = pl.concat([fetch[s](np.empty(0, np.int64)) for s in fetch],
                       how="vertical_relaxed").schema
    with timer.stage("stereo"):
        rows = narrow_rows(lst.keys, magic.keys, [(tel.idx_lst, tel.candidates, tel.idx_magic)
                                                  for tel in found.values()])
        paired_prints = paired.select("timestamp", "intensity")
        fingerprint = {
            FROM_LST: lambda at: paired_prints[np.searchsorted(positions, at)],
            FROM_MAGIC: lambda at: pl.DataFrame({
                "timestamp": ns_to_seconds(magic.t_ns[at]), "intensity": magic.intensity[at],
            }),
        }
        rows = merge_equal_rows(rows, fingerprint, fetch, schema)
        plan = stereo_plan(rows, config.tel_names)
    release_free_memory()
    paired_ns = lst.t_ns[positions]
    times = {
        FROM_LST: lambda at: pl.DataFrame(
            {"timestamp_ns": paired_ns[np.searchsorted(positions, at)]}),
        FROM_MAGIC: lambda at: pl.DataFrame({"timestamp_ns": magic.t_ns[at]}),
    }
    events = StereoEvents(plan, parameters, schema, fetch, times)
    profiles = [profile_frame(tel_id, tel) for tel_id, tel in found.items()]
    profile = profiles[0]
    for other in profiles[1:]:
        profile = profile.join(other, on="time_offset", how="full", coalesce=True)
    return SubrunResult(events, pl.DataFrame(features), profile.sort("time_offset"), found)
