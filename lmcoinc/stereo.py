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

from .config import telescope_combinations
from .errors import TooManyMultiMatchesError
from .match import last_partner

__all__ = [
    "BLOCK_ROWS",
    "FROM_LST",
    "FROM_MAGIC",
    "MAX_MULTI_MATCHES",
    "StereoEvents",
    "lst_pair_rows",
    "magic_rows",
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


def lst_pair_rows(lst: pl.DataFrame, magic: pl.DataFrame, idx_magic: np.ndarray) -> pl.DataFrame:
    """The LST rows of the pairs (``lst``: their ids and references, one per pair), each
    with the MAGIC ids of its partner ``magic[idx_magic]``."""
    return lst.with_columns(magic.select(_MAGIC_KEY)[idx_magic])


def magic_rows(
    lst: pl.DataFrame, magic: pl.DataFrame, idx_lst: np.ndarray, idx_magic: np.ndarray
) -> pl.DataFrame:
    """MAGIC candidate rows with the LST ids (``obs_id_lst``, ``event_id_lst`` of ``lst``)
    of their last partner (null if none)."""
    partner = last_partner(idx_lst, idx_magic, len(magic))
    has = partner >= 0
    ids = {}
    for name in _LST_KEY:
        values = np.full(len(magic), np.nan)
        values[has] = lst[name].to_numpy()[partner[has]]
        ids[name] = pl.Series(name, values).fill_nan(None)
    return magic.with_columns(**ids)


def stereo_plan(rows: pl.DataFrame, tel_names: dict[int, str]) -> pl.DataFrame:
    """Group LST pair rows and MAGIC rows into stereo events, on ids and references.

    Parameters
    ----------
    rows : polars.DataFrame
        For each telescope in order, the rows of :func:`lst_pair_rows` and
        :func:`magic_rows`, with the columns ``obs_id_magic``,
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
    index = [*_MAGIC_KEY, "tel_id"]
    events = rows.select(*index, *_LST_KEY, *_REFS).with_columns(pl.col(_LST_KEY).cast(pl.Float64))
    # Exact duplicates (index ignored), first kept in (obs_id_magic, event_id_magic, tel_id) order.
    events = events.sort(index, maintain_order=True).unique(
        subset=["identity"], keep="first", maintain_order=True
    )
    # Each MAGIC stereo event takes the mean LST ids of its partners, or its own ids without any.
    means = events.group_by(_MAGIC_KEY).agg(
        pl.col("obs_id_lst").mean().alias("obs_id"), pl.col("event_id_lst").mean().alias("event_id")
    )
    events = events.join(means, on=_MAGIC_KEY, how="left", maintain_order="left").with_columns(
        pl.col("obs_id").fill_null(pl.col("obs_id_magic").cast(pl.Float64)),
        pl.col("event_id").fill_null(pl.col("event_id_magic").cast(pl.Float64)),
    )
    events = events.sort([*_KEY, "tel_id"], maintain_order=True).select(
        *_KEY, "tel_id", *_MAGIC_KEY, *_LST_KEY, *_REFS
    )
    events = _drop_multi_matches(events)
    events = events.with_columns(multiplicity=pl.len().over(_KEY).cast(pl.Int64)).filter(
        pl.col("multiplicity") > 1
    )
    combos = telescope_combinations(tel_names)
    events = events.join(_combo_types(events, combos), on=_KEY, how="left", maintain_order="left")
    _log_combos(events, combos)
    return events.with_columns(pl.col(_KEY).cast(pl.Int64))


def _drop_multi_matches(events: pl.DataFrame) -> pl.DataFrame:
    """Drop the rows of events with several images of one telescope (at most five)."""
    per_tel = pl.len().over(*_KEY, "tel_id")
    n_multi = events.filter(per_tel > 1).select(pl.struct(*_KEY, "tel_id").n_unique()).item()
    if not n_multi:
        return events
    log.info("%d events with multiple matches", n_multi)
    if n_multi > MAX_MULTI_MATCHES:
        raise TooManyMultiMatchesError(
            f"{n_multi} events with several images of one telescope "
            f"(more than {MAX_MULTI_MATCHES})"
        )
    return events.filter(per_tel == 1)


def _combo_types(events: pl.DataFrame, combos: dict[str, list[int]]) -> pl.DataFrame:
    """``combo_type`` of each event: the index of its telescopes in ``combos``."""
    lookup = pl.DataFrame(
        {
            "tels": [sorted(ids) for ids in combos.values()],
            "combo_type": np.arange(len(combos), dtype=np.int64),
        }
    )
    tels = events.group_by(_KEY).agg(pl.col("tel_id").sort().cast(pl.Int64).alias("tels"))
    tels = tels.join(lookup, on="tels", how="left")
    if tels["combo_type"].null_count():
        raise ValueError("stereo events with telescopes outside the configured combinations")
    return tels.select(*_KEY, "combo_type")


def _log_combos(events: pl.DataFrame, combos: dict[str, list[int]]) -> None:
    per_event = events.unique(_KEY).group_by("combo_type").len()
    counts = dict(zip(per_event["combo_type"].to_list(), per_event["len"].to_list(), strict=True))
    total = sum(counts.values())
    log.info("In total %d stereo events are found:", total)
    for combo_type, name in enumerate(combos):
        n = counts.get(combo_type, 0)
        share = 100 * n / total if total else 0.0
        log.info("  %s (type %d): %d events (%.1f%%)", name, combo_type, n, share)


#: Parameters of rows of one source at some positions (any order, repeats).
Fetch = Callable[[np.ndarray], pl.DataFrame]


def _gather(rows: pl.DataFrame, fetch: dict[int, Fetch]) -> pl.DataFrame:
    """The parameters of ``rows`` (their ``source`` and ``position``), in their order."""
    order = rows.select("source", "position").with_row_index("row")
    parts = [
        fetch[source](part["position"].to_numpy()).with_columns(part["row"])
        for (source,), part in order.group_by("source", maintain_order=True)
    ]
    return pl.concat(parts, how="vertical_relaxed").sort("row").drop("row")


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
    """

    plan: pl.DataFrame
    parameters: list[str]
    schema: pl.Schema
    fetch: dict[int, Fetch]

    @property
    def height(self) -> int:
        """Number of rows."""
        return self.plan.height

    def block(self, plan: pl.DataFrame) -> pl.DataFrame:
        """The table's rows for some rows of the plan."""
        if plan.height:
            data = _gather(plan, self.fetch).cast(self.schema)
        else:
            data = pl.DataFrame(schema=self.schema)
        head = plan.select(*_KEY, "tel_id", *_MAGIC_KEY, *_LST_KEY)
        tail = plan.select("multiplicity", "combo_type")
        return pl.concat([head, data.select(self.parameters), tail], how="horizontal")

    def iter_blocks(self, rows: int = BLOCK_ROWS) -> Iterator[pl.DataFrame]:
        """The table, ``rows`` rows at a time (at least one block, maybe empty)."""
        for start in range(0, max(1, self.height), rows):
            yield self.block(self.plan.slice(start, rows))

    def collect(self) -> pl.DataFrame:
        """The whole table."""
        return pl.concat(list(self.iter_blocks()))
