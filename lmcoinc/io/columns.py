"""The unit and the meaning of every column of every Parquet output, in one place.

Each output table's columns are listed here with their unit (an astropy unit
string; empty for a number without dimension: counts, ids, fractions) and a
one-line description; columns that exist once per MAGIC telescope
(``n_coincidence_tel12``, ``offset_us_tel2``, ...) are given by a pattern.
The Parquet writer (:mod:`.parquet`) puts them on every column as Arrow
field metadata (``unit``, ``description``), so that the files describe
themselves; :func:`describe` is the lookup.

The stereo table's parameters are those common to the LST-1 and the MAGIC
files, after the reference's conversions: lengths in m (LST-1's ``length``
and ``width`` converted from deg with the focal length), angles on the
camera in deg (LST-1's ``phi`` and ``psi`` converted from rad), pointing in
rad, times in s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["INTEGER_IDS", "PARQUET_ONLY", "TABLES", "Column", "describe", "is_described"]


@dataclass(frozen=True)
class Column:
    """The unit (astropy string, "" without dimension) and the meaning of a column."""

    unit: str
    description: str


_C = Column
_TIME_RULE = "LST-1 rows: the configured timestamp_type_lst; MAGIC rows: time_sec + time_nanosec"

#: The stereo table (``/events/parameters`` and ``*.events.parquet``).
EVENTS = {
    "obs_id": _C("", "run of the stereo event: the LST-1 run of its LST-1 partner, or the "
                     "MAGIC run for a MAGIC-only event"),
    "event_id": _C("", "event of the stereo event: the LST-1 event id of its LST-1 partner, "
                       "or the MAGIC event id for a MAGIC-only event"),
    "tel_id": _C("", "telescope of this image (mc_tel_ids of the config)"),
    "obs_id_magic": _C("", "MAGIC run of the image's MAGIC stereo event (LST-1 rows: of the "
                           "MAGIC partner)"),
    "event_id_magic": _C("", "MAGIC event id of the image's MAGIC stereo event (LST-1 rows: "
                             "of the MAGIC partner)"),
    "obs_id_lst": _C("", "LST-1 run of the image's LST-1 event or partner (null: a MAGIC "
                         "image without LST-1 partner)"),
    "event_id_lst": _C("", "LST-1 event id of the image's LST-1 event or partner (null: a "
                           "MAGIC image without LST-1 partner)"),
    "intensity": _C("", "total charge of the cleaned image (photoelectrons)"),
    "x": _C("m", "image centroid, x coordinate in the camera"),
    "y": _C("m", "image centroid, y coordinate in the camera"),
    "r": _C("m", "radial coordinate of the image centroid"),
    "phi": _C("deg", "polar angle of the image centroid"),
    "length": _C("m", "standard deviation of the image along its major axis"),
    "width": _C("m", "standard deviation of the image along its minor axis"),
    "length_uncertainty": _C("", "uncertainty of length, in the unit of the input files: "
                                 "deg for LST-1 rows (not converted by the reference), m for "
                                 "MAGIC rows"),
    "width_uncertainty": _C("", "uncertainty of width, in the unit of the input files: deg "
                                "for LST-1 rows (not converted by the reference), m for "
                                "MAGIC rows"),
    "psi": _C("deg", "rotation angle of the image ellipse"),
    "skewness": _C("", "skewness of the image along its major axis"),
    "kurtosis": _C("", "kurtosis of the image along its major axis"),
    "slope": _C("ns / m", "gradient of the pulse times along the major axis (LST-1: "
                          "time_gradient)"),
    "intercept": _C("ns", "pulse time at the image centroid from the time gradient fit"),
    "intensity_width_1": _C("", "fraction of the intensity in the outermost pixel ring of "
                                "the camera (leakage)"),
    "intensity_width_2": _C("", "fraction of the intensity in the two outermost pixel rings "
                                "of the camera (leakage)"),
    "pixels_width_1": _C("", "fraction of the image pixels in the outermost pixel ring of the "
                             "camera (leakage)"),
    "pixels_width_2": _C("", "fraction of the image pixels in the two outermost pixel rings "
                             "of the camera (leakage)"),
    "n_pixels": _C("", "number of pixels of the cleaned image"),
    "n_islands": _C("", "number of separate islands of the cleaned image"),
    "concentration_cog": _C("", "fraction of the intensity within one pixel diameter of the "
                                "centroid"),
    "concentration_core": _C("", "fraction of the intensity inside the Hillas ellipse"),
    "concentration_pixel": _C("", "fraction of the intensity in the brightest pixel"),
    "pointing_alt": _C("rad", "altitude of the telescope's pointing"),
    "pointing_az": _C("rad", "azimuth of the telescope's pointing"),
    "timestamp": _C("s", f"trigger time, UNIX seconds as float64 ({_TIME_RULE})"),
    "time_diff": _C("s", "time since the previous trigger of this telescope (LST-1: from "
                         "dragon_time, before any cut)"),
    "multiplicity": _C("", "number of images of the stereo event"),
    "combo_type": _C("", "telescope combination of the stereo event, magic-cta-pipe's "
                         "numbering (default config: 0 LST-1+M1, 1 LST-1+M1+M2, 2 LST-1+M2, "
                         "3 M1+M2)"),
    "timestamp_ns": _C("ns", "exact trigger time, integer ns since the UNIX epoch, as the "
                             f"coincidence uses it ({_TIME_RULE}, exactly)"),
}

#: The feature table (``/coincidence/feature`` and ``*.feature.parquet``): one row per
#: MAGIC telescope with a coincidence; after the reference's columns, the Parquet-only ones.
FEATURE = {
    "coincidence_id": _C("", "the MAGIC telescope of the row: 1 followed by its tel_id"),
    "window_half_width": _C("ns", "half width of the coincidence window"),
    "unix_time": _C("s", "mean LST-1 timestamp of the coincident events, UNIX seconds"),
    "pointing_alt_lst": _C("rad", "mean LST-1 pointing altitude of the coincident events"),
    "pointing_az_lst": _C("rad", "mean LST-1 pointing azimuth of the coincident events"),
    "pointing_alt_magic": _C("rad", "mean pointing altitude of the telescope's scanned "
                                    "events"),
    "pointing_az_magic": _C("rad", "mean pointing azimuth of the telescope's scanned events"),
    "average_offset": _C("us", "time offset MAGIC - LST-1 at which the events are paired "
                               "(drift mode: the model's mean over the subrun)"),
    "n_coincidence": _C("", "number of coincident (LST-1, MAGIC) pairs"),
    "n_events_magic": _C("", "number of the telescope's events in the scanned time range"),
    "clock_offset": _C("us", "clock offset MAGIC - LST-1: average_offset less the mean "
                             "light-travel delay of the pairs (null: not computed)"),
    "geometric_delay": _C("us", "mean light-travel delay MAGIC - LST-1 of the pairs' "
                                "pointing (null: not computed)"),
    "offset_source": _C("", "where the offset of the pairs comes from: local, night or "
                            "history"),
    "pre_offset": _C("us", "offset found by the pre-offset search (null without it)"),
    "accidental": _C("", "expected accidental pairs, from the rates"),
    "accidental_sideband": _C("", "expected accidental pairs, from the profile's side bands "
                                  "(null: none scanned)"),
    "effective_time_s": _C("s", "time when both systems could record (both live)"),
    "elapsed_time_s": _C("s", "time when both systems recorded, gaps over 0.2 s left out"),
    "lst_rate_hz": _C("Hz", "rate of the LST-1 events used for the pairing (after the cuts)"),
    "magic_rate_hz": _C("Hz", "rate of this telescope's events in the scanned range"),
    "lst_dead_time_us": _C("us", "LST-1 dead time, the low edge of its time differences"),
    "magic_dead_time_us": _C("us", "MAGIC dead time, the low edge of its time differences"),
    "drift_us_per_s": _C("us / s", "drift mode: mean drift of the offset over the subrun"),
    "residual_rms_ns": _C("ns", "drift mode: rms of the pairs' time differences about the "
                                "offset model"),
    "from_run_model": _C("", "drift mode: true when the pairs follow the run's offset model "
                             "(the subrun had too few for its own)"),
    "n_offset_steps": _C("", "clock steps found inside the subrun (drift mode: the model's "
                             "segments less one; constant mode: the steps warned about)"),
}

#: The offset profile (``/coincidence/profile``): pairs per scanned offset and telescope.
PROFILE = {"time_offset": _C("us", "scanned time offset MAGIC - LST-1 (0.1 us steps)")}

#: The drift mode's model (``/coincidence/offset_model``): per telescope and time slice.
OFFSET_MODEL = {
    "tel_id": _C("", "MAGIC telescope"),
    "time": _C("s", "centre of the time slice, UNIX seconds"),
    "offset_us": _C("us", "the model's offset MAGIC - LST-1 clock at the slice centre"),
    "drift_us_per_s": _C("us / s", "the model's drift at the slice centre"),
    "n_pairs": _C("", "pairs whose LST-1 event lies in the slice"),
    "residual_ns": _C("ns", "mean time difference of those pairs about the model (NaN: none)"),
    "segment": _C("", "segment of the model the slice lies in (0, 1, ...: split at clock "
                      "steps)"),
}

#: The drift mode's segments (``/coincidence/offset_segments``): per telescope, between steps.
OFFSET_SEGMENTS = {
    "tel_id": _C("", "MAGIC telescope"),
    "segment": _C("", "segment number (0, 1, ...), in time order"),
    "start": _C("s", "start of the segment (first LST-1 time or the step), UNIX seconds"),
    "end": _C("s", "end of the segment (the next step or the last LST-1 time), UNIX seconds"),
    "offset_us": _C("us", "the model's mean offset MAGIC - LST-1 over the segment"),
    "drift_us_per_s": _C("us / s", "the model's mean drift over the segment"),
    "n_pairs": _C("", "pairs in the segment"),
    "step_us": _C("us", "clock step at the segment's start: offset after less offset before "
                        "(NaN for the first segment)"),
}

#: ``lmcoinc batch``'s ``summary.parquet``: one row per LST-1 subrun.
SUMMARY = {
    "lst_file": _C("", "the LST-1 subrun file"),
    "obs_id": _C("", "LST-1 run of the subrun"),
    "subrun": _C("", "LST-1 subrun number"),
    "status": _C("", "ok, skipped (complete from an earlier batch), no_coincidence or failed"),
    "exit_code": _C("", "what lmcoinc run would have returned"),
    "error": _C("", "the error, on one line"),
    "n_lst_events": _C("", "LST-1 shower events after the cuts"),
    "magic_obs_id": _C("", "the MAGIC run of the subrun's pairs"),
    "offset_source": _C("", "where the offset of the pairs comes from: local, night or "
                            "history"),
    "effective_time_s": _C("s", "time when both systems could record (both live)"),
    "seconds": _C("s", "wall time of the task"),
    "max_rss_mb": _C("MB", "peak resident memory of the process that ran the task"),
    "warnings": _C("", "the warnings of the subrun's task, one line each"),
}

#: ``lmcoinc batch``'s ``night.parquet``: the night model's levels.
NIGHT = {
    "tel_id": _C("", "MAGIC telescope"),
    "magic_obs_id": _C("", "MAGIC run of the level"),
    "first_subrun": _C("", "first LST-1 subrun of the level"),
    "last_subrun": _C("", "last LST-1 subrun of the level"),
    "clock_offset_us": _C("us", "the level's clock offset (median of its subruns)"),
    "mad_us": _C("us", "median absolute deviation of its subruns' clock offsets"),
    "n_subruns": _C("", "number of sound subruns in the level"),
}

#: Columns that exist once per MAGIC telescope: (table, pattern, unit, description).
_PER_TELESCOPE = (
    ("profile", r"n_coincidence_tel1(\d+)", "", "pairs at this offset, telescope {0}"),
    ("summary", r"offset_us_tel(\d+)", "us", "average offset MAGIC - LST-1, telescope {0}"),
    ("summary", r"n_coincidence_tel(\d+)", "", "coincident pairs, telescope {0}"),
    ("summary", r"n_events_magic_tel(\d+)", "", "events of telescope {0} in the scanned range"),
    ("summary", r"fraction_tel(\d+)", "", "pairs / scanned events, telescope {0}"),
    ("summary", r"clock_offset_us_tel(\d+)", "us", "clock offset MAGIC - LST-1 (geometric "
                                                   "delay removed), telescope {0}"),
    ("summary", r"night_offset_us_tel(\d+)", "us", "the night model's clock offset for the "
                                                   "subrun, telescope {0}"),
    ("summary", r"deviation_us_tel(\d+)", "us", "clock offset less the night model's, "
                                                "telescope {0}"),
    ("summary", r"accidental_tel(\d+)", "", "expected accidental pairs, telescope {0}"),
    ("summary", r"drift_us_per_s_tel(\d+)", "us / s", "drift mode: mean drift, telescope {0}"),
    ("summary", r"n_offset_steps_tel(\d+)", "", "clock steps found inside the subrun, "
                                                 "telescope {0}"),
)

#: Every table's fixed columns, by table name.
TABLES = {"events": EVENTS, "feature": FEATURE, "profile": PROFILE,
          "offset_model": OFFSET_MODEL, "offset_segments": OFFSET_SEGMENTS,
          "summary": SUMMARY, "night": NIGHT}
#: Columns written to the Parquet files only (the HDF5 tables stay the reference's).
PARQUET_ONLY = {"events": ("timestamp_ns",)}
#: Id columns that may be missing: nullable integers in Parquet (float NaN in the HDF5).
INTEGER_IDS = ("obs_id_lst", "event_id_lst")


def is_described(table: str, name: str) -> bool:
    """Whether lmcoinc knows the column (else :func:`describe` says it does not)."""
    return name in TABLES.get(table, {}) or any(
        t == table and re.fullmatch(p, name) for t, p, _, _ in _PER_TELESCOPE)


def describe(table: str, name: str) -> Column:
    """The unit and meaning of column ``name`` of output table ``table``.

    A stereo-table parameter that lmcoinc does not know (one that new DL1
    files would have in common) is described as such, with no unit.

    Examples
    --------
    >>> describe("feature", "average_offset").unit
    'us'
    >>> describe("profile", "n_coincidence_tel12").description
    'pairs at this offset, telescope 2'
    """
    known = TABLES.get(table, {})
    if name in known:
        return known[name]
    for owner, pattern, unit, text in _PER_TELESCOPE:
        found = re.fullmatch(pattern, name) if owner == table else None
        if found:
            return Column(unit, text.format(found.group(1)))
    return Column("", f"{name}: a column of the input files, not described by lmcoinc "
                      "(unit unknown)")
