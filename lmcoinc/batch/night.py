"""The night model: the clock offset of each MAGIC telescope through a night, from all subruns.

The sound subruns of a telescope (at least ``min_coincidences`` pairs) give
clock offsets that, with the geometric delay removed, agree to a few tens of
ns while the clocks do not move. Per MAGIC run, in the order of the subruns,
they form levels: a level ends where two consecutive subruns both lie more
than a window half width ``w`` from its median and within ``w`` of each other
(a jump); a single subrun that far is an outlier and belongs to no level, as
does a level of one subrun beside longer ones.
Each level has the median and the MAD of its clock offsets. Every subrun gets
the value of the level around it (of its MAGIC run when known, else of any
run), the nearest level in the subrun order when none is around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["NightLevel", "clock_levels", "level_at", "levels_frame"]


@dataclass(frozen=True)
class NightLevel:
    """A stretch of subruns with one clock offset.

    Attributes
    ----------
    tel_id : int
        The MAGIC telescope.
    magic_obs_id : int or None
        The MAGIC run.
    first, last : int
        Positions (subrun order) of its first and last subrun.
    clock_offset_ns : float
        Median of the subruns' clock offsets.
    mad_ns : float
        Their median absolute deviation from it.
    n_subruns : int
        Number of subruns in the level.
    """

    tel_id: int
    magic_obs_id: int | None
    first: int
    last: int
    clock_offset_ns: float
    mad_ns: float
    n_subruns: int

    def distance(self, position: int) -> int:
        """Subruns between ``position`` and the level (0: within it)."""
        return max(self.first - position, position - self.last, 0)


def _level(tel_id: int, run: int | None, positions: list[int], values: list[float]) -> NightLevel:
    median = float(np.median(values))
    mad = float(np.median(np.abs(np.asarray(values) - median)))
    return NightLevel(tel_id, run, positions[0], positions[-1], median, mad, len(values))


def _run_levels(tel_id: int, run: int | None, positions: np.ndarray, values: np.ndarray,
                threshold_ns: float) -> list[NightLevel]:
    """The levels of one MAGIC run's sound subruns (in position order)."""
    levels, members, kept = [], [], []
    for i, value in enumerate(values):
        if not kept or abs(value - np.median(kept)) <= threshold_ns:
            members.append(int(positions[i]))
            kept.append(float(value))
            continue
        following = values[i + 1] if i + 1 < len(values) else None
        if following is not None and abs(following - value) <= threshold_ns:  # a jump
            levels.append(_level(tel_id, run, members, kept))
            members, kept = [int(positions[i])], [float(value)]
    if kept:
        levels.append(_level(tel_id, run, members, kept))
    if any(level.n_subruns > 1 for level in levels):  # one subrun alone is an outlier
        levels = [level for level in levels if level.n_subruns > 1]
    return levels


def clock_levels(
    tel_id: int,
    positions: np.ndarray,
    clock_offsets_ns: np.ndarray,
    magic_runs: Sequence[int | None],
    threshold_ns: float,
) -> list[NightLevel]:
    """The levels of the clock offset of one telescope through a night.

    Parameters
    ----------
    tel_id : int
        The MAGIC telescope.
    positions : numpy.ndarray
        Position of each sound subrun in the subrun order.
    clock_offsets_ns : numpy.ndarray
        Their clock offsets.
    magic_runs : sequence of int or None
        Their MAGIC runs.
    threshold_ns : float
        How far a clock offset may lie from its level (the window half width).
    """
    order = np.argsort(positions, kind="stable")
    positions, values = np.asarray(positions)[order], np.asarray(clock_offsets_ns)[order]
    runs = [magic_runs[i] for i in order]
    levels = []
    for run in dict.fromkeys(runs):
        mine = np.array([r == run for r in runs], dtype=bool)
        levels += _run_levels(tel_id, run, positions[mine], values[mine], threshold_ns)
    return sorted(levels, key=lambda level: (level.first, level.last))


def level_at(levels: Sequence[NightLevel], position: int,
             magic_run: int | None = None) -> NightLevel | None:
    """The level of a subrun: of its MAGIC run if that has levels; around it, else nearest."""
    own = [level for level in levels if level.magic_obs_id == magic_run]
    candidates = own if magic_run is not None and own else list(levels)
    if not candidates:
        return None
    return min(candidates, key=lambda level: (level.distance(position), level.first))


def levels_frame(levels: Sequence[NightLevel], subruns: Sequence[int]) -> pl.DataFrame:
    """The levels as a table (``OUT/night.parquet``), subrun numbers from ``subruns``."""
    return pl.DataFrame(
        {
            "tel_id": [level.tel_id for level in levels],
            "magic_obs_id": [level.magic_obs_id for level in levels],
            "first_subrun": [subruns[level.first] for level in levels],
            "last_subrun": [subruns[level.last] for level in levels],
            "clock_offset_us": [level.clock_offset_ns / 1000 for level in levels],
            "mad_us": [level.mad_ns / 1000 for level in levels],
            "n_subruns": [level.n_subruns for level in levels],
        },
        schema={"tel_id": pl.Int64, "magic_obs_id": pl.Int64, "first_subrun": pl.Int64,
                "last_subrun": pl.Int64, "clock_offset_us": pl.Float64, "mad_us": pl.Float64,
                "n_subruns": pl.Int64},
    )
