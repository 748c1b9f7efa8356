"""Stereo events: LST-1 pairs and MAGIC events grouped into showers (SPEC step 8).

The grouping works on the ids of the rows and a reference to where their
parameters are (:func:`stereo_plan`); the parameters are gathered a block of
output rows at a time (:class:`StereoEvents`), so that memory does not grow
with the run. The result is that of the reference's pandas steps (tested).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from ..config import telescope_combinations
from ..errors import TooManyMultiMatchesError
from ..pairing.match import last_partner

__all__ = [
    "BLOCK_ROWS",
    "FROM_LST",
    "FROM_MAGIC",
    "MAX_MULTI_MATCHES",
    "StereoEvents",
    "narrow_rows",
    "stereo_plan",
]

log = logging.getLogger(__name__)

#: More multiply-matched images than this stops the processing (exit code 11).
MAX_MULTI_MATCHES = 5
#: Output rows gathered at a time.
BLOCK_ROWS = 65_536
#: Where a row's parameters come from (column ``source`` of the plan).
FROM_LST, FROM_MAGIC = 0, 1

_MAGIC_KEY = ["obs_id_magic", "event_id_magic"]
_LST_KEY = ["obs_id_lst", "event_id_lst"]
_KEY = ["obs_id", "event_id"]
_REFS = ["source", "position", "identity"]


def narrow_rows(lst: pl.DataFrame, magic: pl.DataFrame,
                pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> pl.DataFrame:
    """The rows that :func:`stereo_plan` groups: for each telescope in turn, the LST rows of its
    pairs and its MAGIC candidate rows, as ids and references.

    LST pair rows take the MAGIC ids of their partner; MAGIC rows the LST ids
    of their last partner (null if none: :func:`~lmcoinc.pairing.match.last_partner`).

    Parameters
    ----------
    lst, magic : polars.DataFrame
        ``obs_id_lst``, ``event_id_lst``, ``tel_id`` of the LST events; ``obs_id_magic``,
        ``event_id_magic``, ``tel_id`` of the MAGIC events.
    pairs : list of (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Per telescope: the LST rows of its pairs, its MAGIC candidates (rows of
        ``magic``), and the candidate of each pair (positions in the candidates).
    """
    lst_ids = [lst[c].to_numpy() for c in _LST_KEY]
    magic_ids = [magic[c].to_numpy() for c in _MAGIC_KEY]
    parts: dict[str, list] = {c: [] for c in (*_MAGIC_KEY, *_LST_KEY, *_REFS, "tel_id")}
    for idx_lst, candidates, idx_magic in pairs:
        partner = last_partner(idx_lst, idx_magic, len(candidates))
        has = partner >= 0
        for name, ids in zip(_MAGIC_KEY, magic_ids, strict=True):
            parts[name] += [ids[candidates[idx_magic]], ids[candidates]]
        for name, ids in zip(_LST_KEY, lst_ids, strict=True):
            parts[name] += [ids[idx_lst].astype(np.float64),
                            np.where(has, ids[np.maximum(partner, 0)], np.nan)]
        parts["source"] += [np.full(len(idx_lst), FROM_LST, np.int8),
                            np.full(len(candidates), FROM_MAGIC, np.int8)]
        parts["position"] += [idx_lst, candidates]
        parts["identity"] += [idx_lst, -1 - candidates]
        parts["tel_id"] += [lst["tel_id"][idx_lst].to_frame(),
                            magic["tel_id"][candidates].to_frame()]
    return pl.DataFrame([
        *(pl.Series(c, np.concatenate(parts[c]), dtype=magic.schema[c]) for c in _MAGIC_KEY),
        pl.concat(parts["tel_id"], how="vertical_relaxed").to_series(),
        *(pl.Series(c, np.concatenate(parts[c]), dtype=pl.Float64).fill_nan(None)
          for c in _LST_KEY),
        pl.Series("source", np.concatenate(parts["source"]), dtype=pl.Int8),
        *(pl.Series(c, np.concatenate(parts[c]), dtype=pl.Int64) for c in ("position",
                                                                            "identity")),
    ])


def stereo_plan(rows: pl.DataFrame, tel_names: dict[int, str]) -> pl.DataFrame:
    """Group LST pair rows and MAGIC rows into stereo events, on ids and references.

    Parameters
    ----------
    rows : polars.DataFrame
        For each telescope in order, its LST pair rows and MAGIC candidate rows
        (:func:`narrow_rows`), with the columns ``obs_id_magic``,
        ``event_id_magic``, ``tel_id``, ``obs_id_lst``, ``event_id_lst`` and
        the references ``source`` (:data:`FROM_LST` or :data:`FROM_MAGIC`),
        ``position`` (of the row in its source) and ``identity`` (equal for
        rows whose data are all equal, :func:`merge_equal_rows`: the
        reference drops such exact duplicates).
    tel_names : dict
        Telescope id → name of the telescopes in use, in config order.

    Returns
    -------
    polars.DataFrame
        One row per telescope image of each stereo event, in output order:
        ``obs_id``, ``event_id``, ``tel_id``, ``obs_id_magic``,
        ``event_id_magic``, ``obs_id_lst``, ``event_id_lst``, the
        references, ``multiplicity`` and ``combo_type``.

    Raises
    ------
    TooManyMultiMatchesError
        If more than five (event, telescope) have several images.
    """
    # Exact duplicates (index ignored): the first in (obs_id_magic, event_id_magic, tel_id)
    # order is kept (stable sorts throughout: equal keys keep their order).
    obs_m, event_m, tel = (rows[c].to_numpy() for c in (*_MAGIC_KEY, "tel_id"))
    order = np.lexsort((tel, event_m, obs_m))
    _, first = np.unique(rows["identity"].to_numpy()[order], return_index=True)
    order = order[np.sort(first)]
    # Each MAGIC stereo event takes the mean LST ids of its partners, or its own ids without any.
    ids = [_mean_or_own(rows[lst].to_numpy()[order], rows[own].to_numpy()[order],
                        _runs(obs_m[order], event_m[order]))
           for lst, own in zip(_LST_KEY, _MAGIC_KEY, strict=True)]
    by_event = np.lexsort((tel[order], ids[1], ids[0]))
    order, ids = order[by_event], [i[by_event] for i in ids]
    keep = _single_images(*ids, tel[order])
    order, ids = order[keep], [i[keep] for i in ids]
    events = _runs(*ids)
    multiplicity = np.bincount(events)[events] if len(events) else events
    keep = multiplicity > 1
    order, ids, events = order[keep], [i[keep] for i in ids], _runs(*(i[keep] for i in ids))
    combos = telescope_combinations(tel_names)
    combo_type = _combo_types(events, tel[order], combos)
    if log.isEnabledFor(logging.INFO):
        _log_combos(combo_type[np.r_[True, events[1:] != events[:-1]]] if len(events)
                    else events, combos)
    plan = rows[order].select("tel_id", *_MAGIC_KEY, *_LST_KEY, *_REFS)
    return pl.concat([
        pl.DataFrame({"obs_id": ids[0].astype(np.int64), "event_id": ids[1].astype(np.int64)}),
        plan.with_columns(pl.col(_LST_KEY).cast(pl.Float64)),
        pl.DataFrame({"multiplicity": multiplicity[keep].astype(np.int64),
                      "combo_type": combo_type}),
    ], how="horizontal")


def _runs(*columns: np.ndarray) -> np.ndarray:
    """For rows sorted on ``columns``, the number of the run of equal keys of each row."""
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    change = np.zeros(len(columns[0]) - 1, dtype=bool)
    for column in columns:
        change |= column[1:] != column[:-1]
    return np.concatenate([[0], np.cumsum(change)])


def _mean_or_own(lst_ids: np.ndarray, own: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row, the mean of the group's LST ids (float; NaN: none) or, without any, its own."""
    lst_ids = np.asarray(lst_ids, dtype=np.float64)
    known = ~np.isnan(lst_ids)
    n = np.bincount(group, weights=known, minlength=group.max() + 1 if len(group) else 0)
    total = np.bincount(group, weights=np.where(known, lst_ids, 0.0),
                        minlength=len(n))  # integer-valued floats: exact in any order
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (total / n)[group]
    return np.where(np.isnan(mean), own.astype(np.float64), mean)


def _single_images(obs_id: np.ndarray, event_id: np.ndarray, tel: np.ndarray) -> np.ndarray:
    """Where the rows (sorted by event and telescope) are the only image of their telescope
    in their event; an event with several is dropped (more than five: an error)."""
    run = _runs(obs_id, event_id, tel)
    size = np.bincount(run)[run] if len(run) else run
    n_multi = len(np.unique(run[size > 1]))
    if n_multi:
        log.info("%d events with multiple matches", n_multi)
    if n_multi > MAX_MULTI_MATCHES:
        raise TooManyMultiMatchesError(
            f"{n_multi} events with several images of one telescope "
            f"(more than {MAX_MULTI_MATCHES})"
        )
    return size == 1


def _combo_types(events: np.ndarray, tel: np.ndarray, combos: dict[str, list[int]]
                 ) -> np.ndarray:
    """``combo_type`` of each row: the index in ``combos`` of its event's telescopes."""
    known = sorted({t for ids in combos.values() for t in ids})
    if np.any(~np.isin(tel, known)):
        raise ValueError("stereo events with telescopes outside the configured combinations")
    bit = np.left_shift(1, np.searchsorted(known, tel)).astype(np.int64)
    members = np.bincount(events, weights=bit).astype(np.int64)[events] if len(events) else bit
    lookup = {sum(1 << known.index(t) for t in ids): i for i, ids in enumerate(combos.values())}
    found = np.array([lookup.get(int(m), -1) for m in np.unique(members)], dtype=np.int64)
    combo_type = found[np.searchsorted(np.unique(members), members)] if len(members) else members
    if np.any(combo_type < 0):
        raise ValueError("stereo events with telescopes outside the configured combinations")
    return combo_type


def _log_combos(per_event: np.ndarray, combos: dict[str, list[int]]) -> None:
    """Log the number of stereo events of each combination (``per_event``: their combo_type)."""
    counts = np.bincount(per_event, minlength=len(combos))
    total = int(counts.sum())
    log.info("In total %d stereo events are found:", total)
    for combo_type, name in enumerate(combos):
        n = int(counts[combo_type])
        share = 100 * n / total if total else 0.0
        log.info("  %s (type %d): %d events (%.1f%%)", name, combo_type, n, share)


#: Parameters of rows of one source at some positions (any order, repeats).
Fetch = Callable[[np.ndarray], pl.DataFrame]


@dataclass(frozen=True)
class _Split:
    """Where some rows come from: per source, its positions; and how to put the rows of
    the sources, one source after the other, back in order (None: they are)."""

    sources: list[int]
    positions: list[np.ndarray]
    back: np.ndarray | None


def _split(rows: pl.DataFrame) -> _Split:
    """The :class:`_Split` of ``rows`` (their ``source`` and ``position``)."""
    source, position = rows["source"].to_numpy(), rows["position"].to_numpy()
    found = [np.flatnonzero(source == s) for s in np.unique(source)]
    order = np.concatenate(found)  # a permutation of the rows: its inverse puts them back
    back = None
    if not np.all(order[1:] > order[:-1]):
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
    return _Split([int(source[at[0]]) for at in found], [position[at] for at in found], back)


def _take(split: _Split, fetch: dict[int, Fetch]) -> pl.DataFrame:
    """The parameters of the rows of ``split``, in their order."""
    parts = pl.concat([fetch[s](at) for s, at in zip(split.sources, split.positions,
                                                     strict=True)],
                      how="vertical_relaxed")
    return parts if split.back is None else parts[split.back]


def _gather(rows: pl.DataFrame, fetch: dict[int, Fetch]) -> pl.DataFrame:
    """The parameters of ``rows`` (their ``source`` and ``position``), in their order."""
    return _take(_split(rows), fetch)


def merge_equal_rows(
    rows: pl.DataFrame, fingerprint: dict[int, Fetch], fetch: dict[int, Fetch],
    schema: pl.Schema,
) -> pl.DataFrame:
    """Give rows whose data (partner ids and parameters) are all equal the same ``identity``.

    Rows of one source position are equal by construction and already share
    it. Rows of different positions can be equal only if their
    ``fingerprint`` columns (e.g. timestamp and intensity) are: those are
    compared on all rows first, and only the few that share them in full.

    Parameters
    ----------
    rows : polars.DataFrame
        As :func:`stereo_plan` takes them.
    fingerprint, fetch : dict
        Source → function giving the fingerprint columns, and all parameters,
        of its rows at some positions.
    schema : polars.Schema
        The parameters' columns and types (after LST and MAGIC rows are put together).
    """
    if rows.height == 0:
        return rows
    prints = _gather(rows, fingerprint)
    prints = prints.cast({c: schema[c] for c in prints.columns})
    probe = pl.concat([rows.select("identity"), prints], how="horizontal").with_row_index("row")
    suspects = probe.filter(pl.col("identity").n_unique().over(prints.columns) > 1)["row"]
    if suspects.len() == 0:
        return rows
    some = rows[suspects.to_numpy()]
    data = pl.concat([some.select("identity", *_LST_KEY), _gather(some, fetch).cast(schema)],
                     how="horizontal")
    columns = [c for c in data.columns if c != "identity"]
    same = data.select(pl.col("identity").min().over(columns)).to_series().to_numpy()
    identity = rows["identity"].to_numpy().copy()
    identity[suspects.to_numpy()] = same
    return rows.with_columns(pl.Series("identity", identity))


@dataclass
class StereoEvents:
    """The stereo table (``/events/parameters``), gathered a block of rows at a time.

    Attributes
    ----------
    plan : polars.DataFrame
        The rows' ids and references in output order (:func:`stereo_plan`).
    parameters : list of str
        The parameter columns (those common to LST and MAGIC, in LST order).
    schema : polars.Schema
        The parameters' types (after LST and MAGIC rows are put together).
    fetch : dict
        Source (:data:`FROM_LST`, :data:`FROM_MAGIC`) → function giving the
        ``parameters`` of its rows at some positions.
    times : dict, optional
        Source → function giving the exact ``timestamp_ns`` (Int64) of its rows
        at some positions: a column after ``timestamp``, for the Parquet
        files only (:data:`lmcoinc.io.columns.PARQUET_ONLY`).
    """

    plan: pl.DataFrame
    parameters: list[str]
    schema: pl.Schema
    fetch: dict[int, Fetch]
    times: dict[int, Fetch] | None = None

    @property
    def height(self) -> int:
        """Number of rows."""
        return self.plan.height

    def block(self, plan: pl.DataFrame) -> pl.DataFrame:
        """The table's rows for some rows of the plan."""
        split = _split(plan) if plan.height else None
        if split is not None:
            data = _take(split, self.fetch)
            data = data if data.schema == self.schema else data.cast(self.schema)
        else:
            data = pl.DataFrame(schema=self.schema)
        head = plan.select(*_KEY, "tel_id", *_MAGIC_KEY, *_LST_KEY)
        tail = plan.select("multiplicity", "combo_type")
        block = pl.concat([head, data.select(self.parameters), tail], how="horizontal")
        if self.times is None or "timestamp" not in block.columns:
            return block
        exact = (_take(split, self.times) if split is not None
                 else pl.DataFrame(schema={"timestamp_ns": pl.Int64}))
        return block.insert_column(block.get_column_index("timestamp") + 1,
                                   exact.get_column("timestamp_ns"))

    def iter_blocks(self, rows: int = BLOCK_ROWS) -> Iterator[pl.DataFrame]:
        """The table, ``rows`` rows at a time (at least one block, maybe empty)."""
        for start in range(0, max(1, self.height), rows):
            yield self.block(self.plan.slice(start, rows))

    def collect(self) -> pl.DataFrame:
        """The whole table."""
        return pl.concat(list(self.iter_blocks()))
