"""Pairing of LST and MAGIC events at a given offset, with polars ``join_asof``."""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["JOIN_CHUNK_ROWS", "coincident_pairs", "last_partner"]

#: LST events joined at a time (bounded memory on merged runs).
JOIN_CHUNK_ROWS = 1_000_000


def coincident_pairs(
    t_lst: np.ndarray, t_magic: np.ndarray, offset_ns: int, window_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs with ``t_L + offset - w <= t_M <= t_L + offset + w``.

    A forward ``join_asof`` with tolerance ``2 w`` on int64 nanoseconds finds,
    for each LST event, the earliest MAGIC event in its window; further MAGIC
    events in the same window (impossible with the real dead times, kept for
    exactness) follow it in time order and are added after. Both window edges
    are included.

    Parameters
    ----------
    t_lst, t_magic : numpy.ndarray of int64
        Timestamps in ns, in table order (any time order).
    offset_ns, window_ns : int
        Offset applied to the LST times and window half width.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Row indices into ``t_lst`` and ``t_magic``, ordered by LST row, then
        MAGIC row: the order of ``np.where`` on the reference's N×M mask.
    """
    empty = np.empty(0, dtype=np.int64)
    if len(t_lst) == 0 or len(t_magic) == 0:
        return empty, empty.copy()
    magic_order = np.argsort(t_magic, kind="stable")
    t_sorted = np.asarray(t_magic, dtype=np.int64)[magic_order]
    right = pl.DataFrame({"t": t_sorted}).with_row_index("pos")
    low = np.asarray(t_lst, dtype=np.int64) + (int(offset_ns) - window_ns)
    lst_order = np.argsort(low, kind="stable")
    parts = []
    for first in range(0, len(lst_order), JOIN_CHUNK_ROWS):
        rows = lst_order[first : first + JOIN_CHUNK_ROWS]
        left = pl.DataFrame({"i": rows, "lo": low[rows]})
        parts.append(left.join_asof(right, left_on="lo", right_on="t", strategy="forward",
                                    tolerance=2 * window_ns).drop_nulls("pos"))
    matched = pl.concat(parts)
    idx, pos = matched["i"].to_numpy(), matched["pos"].to_numpy().astype(np.int64)
    high = matched["lo"].to_numpy() + 2 * window_ns
    rows_lst, rows_pos = [idx], [pos]
    step = 1
    while len(pos):  # the next MAGIC events while they are still in the window
        nxt = pos + step
        inside = nxt < len(t_sorted)
        inside[inside] = t_sorted[nxt[inside]] <= high[inside]
        idx, high, pos = idx[inside], high[inside], pos[inside]
        rows_lst.append(idx)
        rows_pos.append(pos + step)
        step += 1
    idx_lst = np.concatenate(rows_lst)
    idx_magic = magic_order[np.concatenate(rows_pos)]
    order = np.lexsort((idx_magic, idx_lst))
    return idx_lst[order], idx_magic[order]


def last_partner(idx_lst: np.ndarray, idx_magic: np.ndarray, n_magic: int) -> np.ndarray:
    """For each MAGIC row, the LST row of its last pair (-1 where none).

    "Last" in the pair order of :func:`coincident_pairs`, as the reference's
    ``DataFrame.loc`` assignment with repeated labels keeps the last value.
    """
    partner = np.full(n_magic, -1, dtype=np.int64)
    # Pairs are ordered by LST row: the last pair of a MAGIC row has the largest.
    np.maximum.at(partner, idx_magic, idx_lst)
    return partner
