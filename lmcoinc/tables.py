"""The output tables of a subrun's coincidence: stereo events, feature, profile.

From the pairs of each MAGIC telescope (:func:`lmcoinc.coincidence.find_pairs`)
:func:`build_tables` reads all parameters of the paired LST events once,
plans the stereo table on ids (:func:`lmcoinc.stereo.stereo_plan`) and
leaves the MAGIC parameters to be read a block at a time when the table is
written (:class:`lmcoinc.stereo.StereoEvents`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from .columns import LST_INDEX, MAGIC_INDEX, common_columns
from .config import CoincidenceConfig
from .io.lst_events import LstEvents
from .io.magic_events import MagicEvents
from .memory import release_free_memory
from .stereo import (
    FROM_LST,
    FROM_MAGIC,
    Fetch,
    StereoEvents,
    lst_pair_rows,
    magic_rows,
    merge_equal_rows,
    stereo_plan,
)
from .timestamps import ns_to_seconds
from .timing import StageTimer

if TYPE_CHECKING:  # pragma: no cover
    from .coincidence import TelescopeCoincidence

__all__ = ["CoincidenceResult", "build_tables", "feature_row", "profile_frame"]


@dataclass
class CoincidenceResult:
    """Output tables of the coincidence of a subrun and the per-telescope results.

    Attributes
    ----------
    events : StereoEvents
        The stereo table, gathered block by block when written.
    feature, profile : polars.DataFrame
        The reference's feature and profile tables.
    telescopes : dict
        MAGIC tel_id → its :class:`lmcoinc.coincidence.TelescopeCoincidence`.
    feature_extra : dict
        Columns beyond the reference's, one value per ``feature`` row: in the
        feature Parquet table only (the HDF5 table stays the reference's).
    extra_tables : dict
        Further tables by name (HDF5 ``/coincidence/<name>``, Parquet
        ``<stem>.<name>.parquet``).
    """

    events: StereoEvents
    feature: pl.DataFrame
    profile: pl.DataFrame
    telescopes: dict[int, TelescopeCoincidence]
    feature_extra: dict[str, list] = field(default_factory=dict)
    extra_tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    def hdf5_tables(self) -> dict[str, StereoEvents | pl.DataFrame]:
        """The tables of the HDF5 output by name."""
        tables = {"events": self.events, "feature": self.feature, "profile": self.profile}
        return {**tables, **self.extra_tables}

    def parquet_tables(self) -> dict[str, StereoEvents | pl.DataFrame]:
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
    tel_id: int, found: TelescopeCoincidence, lst_rows: pl.DataFrame, magic: MagicEvents,
    window_ns: int,
) -> dict:
    """The ``/coincidence/feature`` row of one telescope (SPEC step 6g).

    ``lst_rows`` are the LST rows of the pairs (one per pair).
    """
    return {
        "coincidence_id": int(f"1{tel_id}"),
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
            f"n_coincidence_tel1{tel_id}": found.counts,
        }
    )


def _magic_parameters(magic: MagicEvents, columns: list[str], parameters: list[str]) -> Fetch:
    """Fetch of MAGIC parameters, ``timestamp`` (s) computed as the reference does."""

    def fetch(positions: np.ndarray) -> pl.DataFrame:
        frame = magic.rows(positions, columns)
        seconds = ns_to_seconds(magic.t_ns[positions])
        return frame.with_columns(timestamp=pl.Series(seconds)).select(parameters)

    return fetch


def _narrow_rows(
    lst: LstEvents, magic: MagicEvents, found: dict[int, TelescopeCoincidence]
) -> pl.DataFrame:
    """For each telescope in turn, the LST pair rows and the MAGIC candidate rows, as ids
    and references (see :func:`lmcoinc.stereo.stereo_plan`)."""
    parts = []
    for tel in found.values():
        lst_rows = lst.keys[tel.idx_lst].with_columns(
            source=pl.lit(FROM_LST, pl.Int8), position=pl.Series(tel.idx_lst),
            identity=pl.Series(tel.idx_lst),
        )
        candidates = magic.keys[tel.candidates].with_columns(
            source=pl.lit(FROM_MAGIC, pl.Int8), position=pl.Series(tel.candidates),
            identity=pl.Series(-1 - tel.candidates),
        )
        parts += [lst_pair_rows(lst_rows, candidates, tel.idx_magic),
                  magic_rows(lst.keys, candidates, tel.idx_lst, tel.idx_magic)]
    columns = ["obs_id_magic", "event_id_magic", "tel_id", "obs_id_lst", "event_id_lst",
               "source", "position", "identity"]
    return pl.concat([p.select(columns) for p in parts], how="vertical_relaxed").with_columns(
        pl.col("obs_id_lst", "event_id_lst").cast(pl.Float64)
    )


def build_tables(
    lst: LstEvents,
    magic: MagicEvents,
    found: dict[int, TelescopeCoincidence],
    config: CoincidenceConfig,
    timer: StageTimer,
) -> CoincidenceResult:
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
    fetch = {
        FROM_LST: lambda at: paired[np.searchsorted(positions, at)].select(parameters),
        FROM_MAGIC: _magic_parameters(
            magic, [c for c in magic_columns if c not in MAGIC_INDEX], parameters
        ),
    }
    schema = pl.concat([fetch[s](np.empty(0, np.int64)) for s in fetch],
                       how="vertical_relaxed").schema
    with timer.stage("stereo"):
        rows = _narrow_rows(lst, magic, found)
        fingerprint = {
            FROM_LST: lambda at: fetch[FROM_LST](at).select("timestamp", "intensity"),
            FROM_MAGIC: lambda at: pl.DataFrame({
                "timestamp": ns_to_seconds(magic.t_ns[at]), "intensity": magic.intensity[at],
            }),
        }
        rows = merge_equal_rows(rows, fingerprint, fetch, schema)
        plan = stereo_plan(rows, config.tel_names)
    release_free_memory()
    events = StereoEvents(plan, parameters, schema, fetch)
    profiles = [profile_frame(tel_id, tel) for tel_id, tel in found.items()]
    profile = profiles[0]
    for other in profiles[1:]:
        profile = profile.join(other, on="time_offset", how="full", coalesce=True)
    return CoincidenceResult(events, pl.DataFrame(features), profile.sort("time_offset"), found)
