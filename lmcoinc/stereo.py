"""Stereo events: LST-1 pairs and MAGIC events grouped into showers (SPEC step 8)."""

from __future__ import annotations

import logging

import numpy as np
import polars as pl

from .config import telescope_combinations
from .errors import TooManyMultiMatchesError
from .match import last_partner

__all__ = ["MAX_MULTI_MATCHES", "assemble_stereo", "lst_pair_rows", "magic_rows"]

log = logging.getLogger(__name__)

#: More multiply-matched images than this stops the processing (exit code 11).
MAX_MULTI_MATCHES = 5

_MAGIC_KEY = ["obs_id_magic", "event_id_magic"]
_LST_KEY = ["obs_id_lst", "event_id_lst"]


def lst_pair_rows(
    lst_rows: pl.DataFrame, magic: pl.DataFrame, idx_magic: np.ndarray
) -> pl.DataFrame:
    """The LST rows of the pairs (``lst_rows``, one per pair), each with the MAGIC ids of
    its partner ``magic[idx_magic]``."""
    return lst_rows.with_columns(magic.select(_MAGIC_KEY)[idx_magic])


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


def assemble_stereo(parts: list[pl.DataFrame], tel_names: dict[int, str]) -> pl.DataFrame:
    """Group LST pair rows and MAGIC rows into stereo events.

    Parameters
    ----------
    parts : list of polars.DataFrame
        For each telescope in order, the frames of :func:`lst_pair_rows` and
        :func:`magic_rows`; all have the same columns (the data columns in
        the LST rows' order, plus the MAGIC ids).
    tel_names : dict
        Telescope id → name of the telescopes in use, in config order.

    Returns
    -------
    polars.DataFrame
        One row per telescope image of each stereo event, with ``obs_id``,
        ``event_id``, ``tel_id``, ``obs_id_magic``, ``event_id_magic``, the
        data columns, ``multiplicity`` and ``combo_type``.

    Raises
    ------
    TooManyMultiMatchesError
        If more than five (event, telescope) have several images.
    """
    index = [*_MAGIC_KEY, "tel_id"]
    data_cols = [c for c in parts[0].columns if c not in index]
    events = pl.concat(
        [p.select(*index, *data_cols) for p in parts], how="vertical_relaxed"
    ).with_columns(pl.col(_LST_KEY).cast(pl.Float64))
    # Exact duplicates over the data columns (index ignored), first kept in
    # (obs_id_magic, event_id_magic, tel_id) order.
    events = events.sort(index, maintain_order=True).unique(
        subset=data_cols, keep="first", maintain_order=True
    )
    # Each MAGIC stereo event takes the mean LST ids of its partners, or its
    # own ids without any.
    means = events.group_by(_MAGIC_KEY).agg(
        pl.col("obs_id_lst").mean().alias("obs_id"), pl.col("event_id_lst").mean().alias("event_id")
    )
    events = events.join(means, on=_MAGIC_KEY, how="left", maintain_order="left").with_columns(
        pl.col("obs_id").fill_null(pl.col("obs_id_magic").cast(pl.Float64)),
        pl.col("event_id").fill_null(pl.col("event_id_magic").cast(pl.Float64)),
    )
    key = ["obs_id", "event_id"]
    events = events.sort([*key, "tel_id"], maintain_order=True).select(
        *key, "tel_id", *_MAGIC_KEY, *data_cols
    )
    # Several images of one telescope in one event: drop them.
    per_tel = pl.len().over(*key, "tel_id")
    n_multi = events.filter(per_tel > 1).select(pl.struct(*key, "tel_id").n_unique()).item()
    if n_multi:
        log.info("%d events with multiple matches", n_multi)
        if n_multi > MAX_MULTI_MATCHES:
            raise TooManyMultiMatchesError(
                f"{n_multi} events with several images of one telescope "
                f"(more than {MAX_MULTI_MATCHES})"
            )
        events = events.filter(per_tel == 1)
    events = events.with_columns(multiplicity=pl.len().over(key).cast(pl.Int64)).filter(
        pl.col("multiplicity") > 1
    )
    combos = telescope_combinations(tel_names)
    lookup = pl.DataFrame(
        {
            "tels": [sorted(ids) for ids in combos.values()],
            "combo_type": np.arange(len(combos), dtype=np.int64),
        }
    )
    tels = events.group_by(key).agg(pl.col("tel_id").sort().cast(pl.Int64).alias("tels"))
    tels = tels.join(lookup, on="tels", how="left")
    if tels["combo_type"].null_count():
        raise ValueError("stereo events with telescopes outside the configured combinations")
    events = events.join(tels.select(*key, "combo_type"), on=key, how="left",
                         maintain_order="left")
    _log_combos(events, combos)
    return events.with_columns(pl.col(key).cast(pl.Int64))


def _log_combos(events: pl.DataFrame, combos: dict[str, list[int]]) -> None:
    per_event = events.unique(["obs_id", "event_id"]).group_by("combo_type").len()
    counts = dict(zip(per_event["combo_type"].to_list(), per_event["len"].to_list(), strict=True))
    total = sum(counts.values())
    log.info("In total %d stereo events are found:", total)
    for combo_type, name in enumerate(combos):
        n = counts.get(combo_type, 0)
        share = 100 * n / total if total else 0.0
        log.info("  %s (type %d): %d events (%.1f%%)", name, combo_type, n, share)
