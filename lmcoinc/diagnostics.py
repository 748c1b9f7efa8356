"""Per-subrun diagnostics beyond the reference's tables: pre-offset, accidentals, live time.

:func:`subrun_diagnostics` turns a :class:`~lmcoinc.tables.CoincidenceResult`
and the events it was computed from into Parquet-only ``feature`` columns
(one value per MAGIC telescope row); :func:`summary_values` picks the batch
summary's columns from them. No I/O.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .accidentals import (
    difference_phases,
    expected_accidentals,
    sideband_accidentals,
    window_sides_ns,
)
from .config import CoincidenceConfig
from .io.lst_events import LstEvents
from .io.magic_events import MagicEvents
from .livetime import EffectiveTime, covered_intervals, effective_time, total_ns
from .sources import useful_magic_range
from .tables import CoincidenceResult

__all__ = ["FEATURE_COLUMNS", "subrun_diagnostics", "summary_values"]

#: The Parquet-only feature columns, with their meaning.
FEATURE_COLUMNS = {
    "pre_offset": "offset found by the pre-offset search (µs; null without it)",
    "accidental": "expected accidental pairs, from the rates (lmcoinc.accidentals)",
    "accidental_sideband": "the same from the profile's side bands (null: none scanned)",
    "effective_time_s": "time when both systems could record (s; lmcoinc.livetime)",
    "elapsed_time_s": "time when both systems recorded, gaps over 0.2 s left out (s)",
    "lst_rate_hz": "rate of the LST-1 events used for the pairing (after the cuts)",
    "magic_rate_hz": "rate of this telescope's events in the scanned range",
    "lst_dead_time_us": "LST-1 dead time, the edge of its time differences (µs)",
    "magic_dead_time_us": "MAGIC dead time, likewise (µs)",
}


def _magic_triggers(
    magic: MagicEvents, offset_ns: float, useful: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """One row per MAGIC trigger within ``useful``: times on the LST-1 clock, time_diff."""
    # M1 and M2 rows of a stereo event share the trigger time
    times, first = np.unique(magic.t_ns, return_index=True)
    keep = (times >= useful[0]) & (times <= useful[1])
    return times[keep] - int(round(offset_ns)), magic.time_diff[first][keep]


def subrun_live_time(
    result: CoincidenceResult, lst: LstEvents, magic: MagicEvents, config: CoincidenceConfig,
) -> EffectiveTime | None:
    """Effective time of the subrun (None without ``time_diff`` in both inputs).

    The MAGIC events are those every MAGIC source gives (``run``'s whole
    directory, ``batch``'s cache): :func:`lmcoinc.sources.useful_magic_range`;
    its rate and dead time come from its triggers within the LST-1 span.
    """
    if lst.time_diff is None or magic.time_diff is None:
        return None
    t_lst = lst.t_ns
    offset = float(np.mean([f.average_offset_ns for f in result.telescopes.values()]))
    t_m, dt_m = _magic_triggers(magic, offset, useful_magic_range(t_lst, config))
    inside = (t_m >= t_lst.min()) & (t_m <= t_lst.max())
    common = np.unique(np.concatenate([f.idx_lst for f in result.telescopes.values()]))
    return effective_time(t_lst, lst.time_diff, t_m, dt_m, len(common), magic_fit=inside)


def subrun_diagnostics(
    result: CoincidenceResult, lst: LstEvents, magic: MagicEvents, config: CoincidenceConfig,
) -> dict[str, pl.Series]:
    """The :data:`FEATURE_COLUMNS`, one value per telescope of ``result`` (feature row order).

    Parameters
    ----------
    result : CoincidenceResult
        The coincidence of the subrun (candidates: positions in ``magic``).
    lst, magic : LstEvents, MagicEvents
        The events given to the coincidence.
    config : CoincidenceConfig
        Settings.
    """
    window = config.window_half_width_ns
    t_lst = lst.t_ns
    live = subrun_live_time(result, lst, magic, config)
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


def summary_values(result: CoincidenceResult) -> dict[str, float | None]:
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
