"""What a correct coincidence should find in the simulated files, and how well one did.

A true pair is a usable LST-1 shower row (event_type 32, finite intensity,
time_gradient, alt_tel and az_tel, event id not duplicated) and the row of the
same shower in one MAGIC telescope's file: the pairs a correct coincidence can
find, besides accidental ones. The ids are those written in the files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import SimulationConfig
from .events import EventStream
from .livetime import LiveTime
from .lst import LstTable
from .magic import MAGIC_TELS

__all__ = [
    "PAIR_KEY",
    "RecallPurity",
    "Score",
    "count_common",
    "found_pairs",
    "recall_purity",
    "true_pairs",
    "write_truth",
]

#: the columns that identify a pair, in the true pairs and in :func:`found_pairs`
PAIR_KEY = ("obs_id_lst", "event_id_lst", "tel_id", "obs_id_magic", "event_id_magic")


def true_pairs(
    stream: EventStream, lst: LstTable, magic_cols: dict[int, dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The true pairs, sorted by (obs_id_lst, event_id_lst, tel_id).

    Returns
    -------
    dict of numpy.ndarray
        :data:`PAIR_KEY` columns (int64) and, per pair, ``true_time_ns`` (UNIX
        ns of the shower), ``clock_shift_ns`` (MAGIC clock minus true time:
        offset and drift) and ``geometric_delay_ns`` (added to that
        telescope's time).
    """
    magic_index = np.full(stream.shower_log_size.size, -1)
    magic_index[stream.magic_shower] = np.arange(stream.magic_shower.size)
    j = magic_index[lst.usable_showers]
    rows, j = lst.usable_rows[j >= 0], j[j >= 0]
    parts = []
    for i_tel, tel_id in enumerate(MAGIC_TELS):
        cols = magic_cols[tel_id]
        kept = np.flatnonzero(stream.magic_lost != i_tel + 1)  # rows of this file
        seen = stream.magic_lost[j] != i_tel + 1
        r, m = rows[seen], j[seen]
        in_file = np.searchsorted(kept, m)
        parts.append({
            "obs_id_lst": lst.columns["obs_id"][r],
            "event_id_lst": lst.columns["event_id"][r],
            "tel_id": np.full(r.size, tel_id),
            "obs_id_magic": cols["obs_id"][in_file],
            "event_id_magic": cols["event_id"][in_file],
            "true_time_ns": stream.t0_ns + stream.magic_true_ns[m],
            "clock_shift_ns": stream.magic_clock_shift_ns[m],
            "geometric_delay_ns": stream.magic_delays_ns[i_tel, m],
        })  # fmt: skip
    out = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    for name in PAIR_KEY:
        out[name] = out[name].astype(np.int64)
    order = np.lexsort((out["tel_id"], out["event_id_lst"], out["obs_id_lst"]))
    return {name: values[order] for name, values in out.items()}


def count_common(pairs: dict[str, np.ndarray]) -> int:
    """Number of LST-1 rows with at least one true pair."""
    ids = np.stack([pairs["obs_id_lst"], pairs["event_id_lst"]], axis=1)
    return int(np.unique(ids, axis=0).shape[0])


def write_truth(
    directory: Path,
    pairs: dict[str, np.ndarray],
    live: LiveTime,
    config: SimulationConfig,
    extra: dict[str, Any],
) -> tuple[Path, Path]:
    """Write ``true_pairs.parquet`` and ``truth.json`` (config, counts, live time).

    Returns
    -------
    tuple of pathlib.Path
        The two files.
    """
    import polars as pl

    directory.mkdir(parents=True, exist_ok=True)
    pairs_path, truth_path = directory / "true_pairs.parquet", directory / "truth.json"
    pl.DataFrame(pairs).write_parquet(pairs_path)
    tels, counts = np.unique(pairs["tel_id"], return_counts=True)
    truth = {
        **extra,
        "n_common": count_common(pairs),
        "n_true_pairs": {str(t): int(c) for t, c in zip(tels, counts, strict=True)},
        "live_time": asdict(live),
        "config": asdict(config),
    }
    truth_path.write_text(json.dumps(truth, indent=1) + "\n")
    return pairs_path, truth_path


@dataclass(frozen=True)
class Score:
    """Pairs found against true pairs.

    Attributes
    ----------
    n_true, n_found, n_found_true : int
        True pairs, found pairs, and found pairs that are true.
    """

    n_true: int
    n_found: int
    n_found_true: int

    @property
    def recall(self) -> float:
        """True pairs found / true pairs (NaN without true pairs)."""
        return self.n_found_true / self.n_true if self.n_true else float("nan")

    @property
    def purity(self) -> float:
        """Found pairs that are true / found pairs (NaN without found pairs)."""
        return self.n_found_true / self.n_found if self.n_found else float("nan")


@dataclass(frozen=True)
class RecallPurity:
    """:class:`Score` over all telescopes and per MAGIC tel_id."""

    overall: Score
    per_tel: dict[int, Score]


def found_pairs(events: Any, lst_tel_id: int = 1) -> Any:
    """The (LST-1 row, MAGIC row) pairs of an lmcoinc stereo events table.

    Parameters
    ----------
    events : polars.DataFrame or pandas.DataFrame
        ``/events/parameters`` of an lmcoinc (or reference) output: per
        stereo event the LST row (``obs_id``/``event_id`` = its LST ids) and
        the MAGIC rows (``obs_id_magic``/``event_id_magic`` = their ids).
    lst_tel_id : int
        tel_id of LST-1 in the output.

    Returns
    -------
    polars.DataFrame
        :data:`PAIR_KEY` columns (Int64): for every event with an LST row,
        one row per MAGIC row of that event.
    """
    import polars as pl

    frame = events if isinstance(events, pl.DataFrame) else pl.from_pandas(events)
    key = ["obs_id", "event_id"]
    with_lst = frame.filter(pl.col("tel_id") == lst_tel_id).select(key).unique()
    magic = frame.filter(pl.col("tel_id") != lst_tel_id).join(with_lst, on=key, how="semi")
    return magic.select(
        pl.col("obs_id").alias("obs_id_lst"),
        pl.col("event_id").alias("event_id_lst"),
        "tel_id",
        "obs_id_magic",
        "event_id_magic",
    ).cast(dict.fromkeys(PAIR_KEY, pl.Int64))


def recall_purity(found: Any, true: Any) -> RecallPurity:
    """Recall and purity of found pairs against the true pairs, overall and per tel_id.

    Parameters
    ----------
    found : polars.DataFrame or pandas.DataFrame
        Found pairs with the :data:`PAIR_KEY` columns (e.g. :func:`found_pairs`).
    true : polars.DataFrame, pandas.DataFrame, path or list of paths
        True pairs, or the ``true_pairs.parquet`` file(s).

    Returns
    -------
    RecallPurity
        Counts, recall and purity.
    """
    import polars as pl

    def frame(data: Any) -> pl.DataFrame:
        if isinstance(data, str | Path | list):
            data = pl.read_parquet(data)
        elif not isinstance(data, pl.DataFrame):
            data = pl.from_pandas(data)
        return data.select(PAIR_KEY).cast(dict.fromkeys(PAIR_KEY, pl.Int64)).unique()

    found_df, true_df = frame(found), frame(true)
    hits = found_df.join(true_df, on=list(PAIR_KEY), how="semi")

    def score(tel_id: int | None) -> Score:
        def count(df: pl.DataFrame) -> int:
            return df.height if tel_id is None else df.filter(pl.col("tel_id") == tel_id).height

        return Score(n_true=count(true_df), n_found=count(found_df), n_found_true=count(hits))

    tels = sorted(set(true_df["tel_id"].to_list()) | set(found_df["tel_id"].to_list()))
    return RecallPurity(overall=score(None), per_tel={t: score(t) for t in tels})
