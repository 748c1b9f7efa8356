"""The offsets found in an output directory of ``run`` or ``batch``, beside the history's.

Read from the feature Parquet files (``*.feature.parquet``): per subrun and
MAGIC telescope the offset found, the clock offset and its source, the night
(:func:`lmcoinc.history.night_of` of the mean time of the pairs), the
history's offset for that night and the difference.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .errors import InvalidFileError
from .history import OffsetHistory, night_of

__all__ = ["found_offsets", "history_frame"]

_FEATURE_GLOB = "*.feature.parquet"


def history_frame(history: OffsetHistory) -> pl.DataFrame:
    """The history as a table: start, end (null: open), offset_us, source."""
    return pl.DataFrame(
        {
            "start": [e.start for e in history.entries],
            "end": [e.end for e in history.entries],
            "offset_us": [e.offset_ns / 1000 for e in history.entries],
            "source": [e.source for e in history.entries],
        },
        schema={"start": pl.Date, "end": pl.Date, "offset_us": pl.Float64, "source": pl.String},
    )


def _read_feature(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (OSError, pl.exceptions.ComputeError) as err:
        raise InvalidFileError(path, f"cannot read the feature table ({err})") from None
    missing = {"coincidence_id", "unix_time", "average_offset", "n_coincidence"} - set(
        frame.columns)
    if missing:
        raise InvalidFileError(path, f"not a feature table of lmcoinc (no {sorted(missing)})")
    return frame.with_columns(subrun_file=pl.lit(path.name.removesuffix(".feature.parquet")))


def found_offsets(output_dir: str | Path, history: OffsetHistory,
                  tolerance_ns: int) -> pl.DataFrame:
    """The offsets of every subrun and telescope of an output directory, with the history's.

    Returns
    -------
    polars.DataFrame
        ``subrun_file``, ``tel_id``, ``night``, ``offset_us`` (found),
        ``clock_offset_us``, ``offset_source``, ``n_coincidence``,
        ``history_us``, ``difference_us`` (clock minus history) and ``far``
        (farther than ``tolerance_ns``); clock offset and source are null
        for outputs made before they existed.

    Raises
    ------
    InvalidFileError
        If the directory has no feature table, or one cannot be read.
    """
    output_dir = Path(output_dir)
    paths = sorted(output_dir.glob(_FEATURE_GLOB)) if output_dir.is_dir() else []
    if not paths:
        raise InvalidFileError(output_dir, f"no {_FEATURE_GLOB} files: not an output directory "
                                           "of lmcoinc run or batch")
    frame = pl.concat([_read_feature(p) for p in paths], how="diagonal_relaxed")
    for name, dtype in (("clock_offset", pl.Float64), ("offset_source", pl.String)):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    nights = [night_of(int(t * 1e9)) for t in frame["unix_time"].to_list()]
    entries = [history.entry_at(n) for n in nights]
    found = frame.select(
        "subrun_file",
        # coincidence_id is "1" followed by the tel_id
        pl.col("coincidence_id").cast(pl.String).str.slice(1).cast(pl.Int64).alias("tel_id"),
        pl.Series("night", nights, dtype=pl.Date),
        pl.col("average_offset").alias("offset_us"),
        pl.col("clock_offset").alias("clock_offset_us"),
        "offset_source",
        "n_coincidence",
        pl.Series("history_us", [None if e is None else e.offset_ns / 1000 for e in entries],
                  dtype=pl.Float64),
    )
    difference = pl.col("clock_offset_us") - pl.col("history_us")
    return found.with_columns(difference_us=difference,
                              far=difference.abs() > tolerance_ns / 1000)
