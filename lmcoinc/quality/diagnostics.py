"""Per-subrun diagnostics beyond the reference's tables: pre-offset, accidentals, live time.

:func:`subrun_diagnostics` turns a :class:`~lmcoinc.results.SubrunResult`
and the events it was computed from into Parquet-only ``feature`` columns
(one value per MAGIC telescope row); :func:`summary_values` picks the batch
summary's columns from them. No I/O.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..config import CoincidenceConfig
from ..io.lst_events import LstEvents
from ..io.magic_events import MagicEvents
from ..pairing.accidentals import (
    difference_phases,
    expected_accidentals,
    sideband_accidentals,
    window_sides_ns,
)
from ..results import SubrunResult
from .livetime import EffectiveTime, covered_intervals, effective_time, total_ns

__all__ = ["FEATURE_COLUMNS", "subrun_diagnostics", "summary_values"]

#: The Parquet-only feature columns (their units and meanings: :mod:`lmcoinc.io.columns`).
FEATURE_COLUMNS = ("pre_offset", "accidental", "accidental_sideband", "effective_time_s",
                   "elapsed_time_s", "lst_rate_hz", "magic_rate_hz", "lst_dead_time_us",
                   "magic_dead_time_us")


def _magic_triggers(
    magic: MagicEvents, offset_ns: float, useful: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """One row per MAGIC trigger within ``useful``: times on the LST-1 clock, time_diff."""
    # M1 and M2 rows of a stereo event share the trigger time
    times, first = np.unique(magic.t_ns, return_index=True)
    keep = (times >= useful[0]) & (times <= useful[1])
    return times[keep] - int(round(offset_ns)), magic.time_diff[first][keep]


def subrun_live_time(
    result: SubrunResult, lst: LstEvents, magic: MagicEvents, magic_range: tuple[int, int],
) -> EffectiveTime | None:
    """Effective time of the subrun (None without ``time_diff`` in both inputs).

    The MAGIC events are those every MAGIC source gives (``run``'s whole
    directory, ``batch``'s cache): those within ``magic_range``, the offset
    model's ``magic_range`` of the LST times; its rate and dead time come
    from its triggers within the LST-1 span.
    """
    if lst.time_diff is None or magic.time_diff is None:
        return None
    t_lst = lst.t_ns
    offset = float(np.mean([f.average_offset_ns for f in result.telescopes.values()]))
    t_m, dt_m = _magic_triggers(magic, offset, magic_range)
    inside = (t_m >= t_lst.min()) & (t_m <= t_lst.max())
    common = np.unique(np.concatenate([f.idx_lst for f in result.telescopes.values()]))
    return effective_time(t_lst, lst.time_diff, t_m, dt_m, len(common), magic_fit=inside)


def subrun_diagnostics(
    result: SubrunResult, lst: LstEvents, magic: MagicEvents, config: CoincidenceConfig,
    magic_range: tuple[int, int],
) -> dict[str, pl.Series]:
    """The :data:`FEATURE_COLUMNS`, one value per telescope of ``result`` (feature row order).

    Parameters
    ----------
    result : SubrunResult
        The coincidence of the subrun (candidates: positions in ``magic``).
    lst, magic : LstEvents, MagicEvents
        The events given to the coincidence.
    config : CoincidenceConfig
        Settings.
    magic_range : (int, int)
        The MAGIC times the coincidence could use (the offset model's ``magic_range``).
    """
    window = config.window_half_width_ns
    t_lst = lst.t_ns
    live = subrun_live_time(result, lst, magic, magic_range)
    lst_elapsed = total_ns(covered_intervals(t_lst)) * 1e-9
    rate = len(t_lst) / lst_elapsed if lst_elapsed else float("nan")
    # the model of lmcoinc.accidentals needs a dead time longer than the window
    dead_fraction = magic_live = None
    if live is not None and live.lst.dead_time_s * 1e9 > 2 * window:
        dead_fraction = 1.0 - live.lst.live_fraction
        magic_live = live.elapsed_s * live.magic.live_fraction
    columns: dict[str, list] = {name: [] for name in FEATURE_COLUMNS}
    for found in result.telescopes.values():
        t_cand = magic.t_ns[found.candidates]
        phases = difference_phases(t_lst, t_cand)
        sides = window_sides_ns(phases, window, found.average_offset_ns)
        n_magic, n_pairs = len(found.candidates), len(found.idx_lst)
        reach = None if dead_fraction is None else live.lst.dead_time_s * 1e9 - window
        values = {
            "pre_offset": None if found.pre_offset_ns is None else found.pre_offset_ns / 1000,
            "accidental": expected_accidentals(n_magic, n_pairs, rate, sides, dead_fraction,
                                               magic_live),
            "accidental_sideband": sideband_accidentals(
                found.offsets_ns, found.counts, found.average_offset_ns, window, phases, reach),
            "effective_time_s": None if live is None else live.effective_s,
            "elapsed_time_s": None if live is None else live.elapsed_s,
            "lst_rate_hz": rate,
            "magic_rate_hz": n_magic / lst_elapsed if lst_elapsed else None,
            "lst_dead_time_us": None if live is None else live.lst.dead_time_s * 1e6,
            "magic_dead_time_us": None if live is None else live.magic.dead_time_s * 1e6,
        }
        for name, value in values.items():
            columns[name].append(value)
    return {name: pl.Series(name, values, dtype=pl.Float64) for name, values in columns.items()}


def summary_values(result: SubrunResult) -> dict[str, float | None]:
    """``accidental_tel{N}`` and ``effective_time_s`` of a subrun, from its feature columns."""
    extra = result.feature_extra
    if "accidental" not in extra:
        return {}
    out: dict[str, float | None] = {
        f"accidental_tel{tel_id}": value
        for tel_id, value in zip(result.telescopes, extra["accidental"], strict=True)
    }
    times = extra["effective_time_s"]
    out["effective_time_s"] = times[0] if len(times) else None
    return out
