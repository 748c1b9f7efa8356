"""The offsets found in an output directory of ``run`` or ``batch``, beside the history's.

Read from the feature Parquet tables (``run``'s ``*.feature.parquet``,
``batch``'s dataset, :func:`lmcoinc.io.dataset.scan`): per subrun and
MAGIC telescope the offset found, the clock offset and its source, the night
(:func:`lmcoinc.config.history.night_of` of the mean time of the pairs), the
history's offset for that night and the difference.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..config.history import OffsetHistory, night_of
from ..errors import InvalidFileError
from ..io.dataset import dataset_dir, run_table_files, scan
from ..results import tel_id_of_expr

__all__ = ["found_offsets", "history_frame", "offsets_beside_history"]

#: The columns of a feature table that the offsets are read from.
REQUIRED_COLUMNS = frozenset({"coincidence_id", "unix_time", "average_offset", "n_coincidence"})


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


def offsets_beside_history(feature: pl.DataFrame, history: OffsetHistory,
                           tolerance_ns: int) -> pl.DataFrame:
    """The offsets of feature rows (``coincidence_id``, ``unix_time``,
    ``average_offset``, ``n_coincidence``, and where present ``clock_offset``,
    ``offset_source``) beside the history's offset for their night.

    The subrun's ``lst_obs_id`` and ``lst_subrun``, where present, come first;
    then ``tel_id``, ``night``, ``offset_us`` (found), ``clock_offset_us``,
    ``offset_source``, ``n_coincidence``, ``history_us``, ``difference_us``
    (clock minus history) and ``far`` (farther than ``tolerance_ns``).
    """
    for name, dtype in (("clock_offset", pl.Float64), ("offset_source", pl.String)):
        if name not in feature.columns:
            feature = feature.with_columns(pl.lit(None, dtype=dtype).alias(name))
    nights = [night_of(int(t * 1e9)) for t in feature["unix_time"].to_list()]
    entries = [history.entry_at(n) for n in nights]
    keys = [c for c in feature.columns if c in ("lst_obs_id", "lst_subrun")]
    found = feature.select(
        *keys,
        tel_id_of_expr().alias("tel_id"),
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


def found_offsets(output_dir: str | Path, history: OffsetHistory,
                  tolerance_ns: int) -> pl.DataFrame:
    """The offsets of every subrun and telescope of an output directory, with the history's.

    Parameters
    ----------
    output_dir : path
        An output directory of ``run`` (its ``*.feature.parquet`` files) or of
        ``batch`` (its dataset).

    Returns
    -------
    polars.DataFrame
        ``lst_obs_id``, ``lst_subrun``, then :func:`offsets_beside_history`'s
        columns, in subrun order; clock offset and source are null for
        outputs made before they existed.

    Raises
    ------
    InvalidFileError
        If the directory has no feature table, or one (named) cannot be read or
        lacks the columns.
    """
    output_dir = Path(output_dir)
    if output_dir.is_dir():
        _check_feature_files(output_dir)
    try:
        frame = scan(output_dir, "feature").collect() if output_dir.is_dir() else None
    except FileNotFoundError:
        frame = None
    except (OSError, pl.exceptions.PolarsError) as err:
        raise InvalidFileError(output_dir, f"cannot read the feature tables "
                                           f"({str(err).splitlines()[0]})") from None
    if frame is None or frame.height == 0:
        raise InvalidFileError(output_dir, "no feature tables (*.feature.parquet, or "
                                           "parquet/feature/): not an output directory of "
                                           "lmcoinc run or batch")
    frame = frame.sort("lst_obs_id", "lst_subrun", "coincidence_id", maintain_order=True)
    return offsets_beside_history(frame, history, tolerance_ns)


def _check_feature_files(output_dir: Path) -> None:
    """Every feature file of the directory readable and with the columns the offsets
    need; else an error naming the file (rather than its rows read as nulls)."""
    files = [*run_table_files(output_dir, "feature"),
             *sorted(dataset_dir(output_dir, "feature").glob("*/*/*.parquet"))]
    for path in files:
        try:
            columns = set(pl.read_parquet_schema(path))
        except (OSError, pl.exceptions.PolarsError) as err:
            raise InvalidFileError(path, f"cannot read it as a feature table "
                                         f"({str(err).splitlines()[0]})") from None
        missing = REQUIRED_COLUMNS - columns
        if missing:
            raise InvalidFileError(path, f"not a feature table of lmcoinc (no {sorted(missing)})")
