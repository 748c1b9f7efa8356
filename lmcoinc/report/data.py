"""What a report shows, read from an output directory of ``lmcoinc run`` or ``lmcoinc batch``.

A batch output has ``summary.parquet`` (every subrun, its status and error)
and the Parquet dataset ``parquet/<table>/lst_obs_id=…/lst_subrun=…``
(read with :func:`lmcoinc.scan`); a ``run`` output has the per-subrun files
``<stem>.{feature,profile,offset_model,offset_segments}.parquet``. The
``offset_model`` table (drift mode only: per telescope and time slice
``tel_id``, ``time`` (UNIX s), ``offset_us``, ``segment``, ...) and the
``offset_segments`` table (its segments between clock steps) may be absent.
Reading only: nothing here draws or writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ..batch.discovery import subrun_ids
from ..errors import ReportInputError
from ..io.dataset import scan
from ..io.output import output_names
from ..results import tel_id_of_expr

__all__ = ["ReportData", "SubrunData", "load_output", "telescope_rows"]

_KEYS = ["obs_id", "subrun"]


@dataclass
class SubrunData:
    """One LST-1 subrun of the output.

    Attributes
    ----------
    stem : str
        Output name without suffix, e.g. ``dl1_MAGIC_LST-1.Run03265.0040``.
    obs_id, subrun : int or None
        LST-1 run and subrun.
    status, error : str, str or None
        As in the batch summary (``ok`` for a ``run`` output).
    feature, profile : polars.DataFrame or None
        The subrun's tables (feature with its Parquet-only columns).
    offset_model : polars.DataFrame or None
        The fitted offset model of drift mode, if written.
    offset_segments : polars.DataFrame or None
        Its segments between the clock steps (drift mode), if written.
    """

    stem: str
    obs_id: int | None
    subrun: int | None
    status: str = "ok"
    error: str | None = None
    feature: pl.DataFrame | None = None
    profile: pl.DataFrame | None = None
    offset_model: pl.DataFrame | None = None
    offset_segments: pl.DataFrame | None = None

    @property
    def n_offset_steps(self) -> int:
        """The clock steps found within the subrun, over its telescopes (either mode)."""
        feature = self.feature
        if feature is None or "n_offset_steps" not in feature.columns:
            return 0
        return int(feature["n_offset_steps"].fill_null(0).sum())


@dataclass
class ReportData:
    """Everything a report shows.

    Attributes
    ----------
    output_dir : pathlib.Path
        The directory read.
    subruns : list of SubrunData
        In summary (or name) order.
    summary : polars.DataFrame or None
        The batch summary (None for a ``run`` output).
    """

    output_dir: Path
    subruns: list[SubrunData]
    summary: pl.DataFrame | None


def _read(path: Path) -> pl.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as err:
        raise ReportInputError(path, f"cannot read Parquet ({str(err).splitlines()[0]})") from None


def _by_partition(output_dir: Path, table: str) -> dict[tuple[int, int], pl.DataFrame]:
    """A dataset table split by (lst_obs_id, lst_subrun), partition keys dropped."""
    try:
        frame = scan(output_dir, table).collect()
    except FileNotFoundError:
        return {}
    except (OSError, pl.exceptions.PolarsError) as err:
        raise ReportInputError(output_dir / "parquet" / table,
                               f"cannot read the dataset ({str(err).splitlines()[0]})") from None
    parts = frame.partition_by("lst_obs_id", "lst_subrun", as_dict=True, include_key=False)
    return {(int(k[0]), int(k[1])): v for k, v in parts.items()}


def _batch_subruns(output_dir: Path, summary: pl.DataFrame) -> list[SubrunData]:
    features = _by_partition(output_dir, "feature")
    profiles = _by_partition(output_dir, "profile")
    models = _by_partition(output_dir, "offset_model")
    segments = _by_partition(output_dir, "offset_segments")
    subruns = []
    for row in summary.iter_rows(named=True):
        stem = output_names(Path(row["lst_file"]), output_dir)["hdf5"].stem
        key = (row["obs_id"], row["subrun"])
        subruns.append(SubrunData(
            stem, row["obs_id"], row["subrun"], row["status"], row["error"],
            features.get(key), profiles.get(key), models.get(key), segments.get(key),
        ))
    return subruns


def _run_subruns(output_dir: Path) -> list[SubrunData]:
    subruns = []
    for path in sorted(output_dir.glob("*.feature.parquet")):
        stem = path.name.removesuffix(".feature.parquet")
        obs_id, subrun = subrun_ids(stem)
        subruns.append(SubrunData(
            stem, obs_id, subrun, feature=_read(path),
            profile=_read(output_dir / f"{stem}.profile.parquet"),
            offset_model=_read(output_dir / f"{stem}.offset_model.parquet"),
            offset_segments=_read(output_dir / f"{stem}.offset_segments.parquet"),
        ))
    return subruns


def load_output(output_dir: str | Path) -> ReportData:
    """Read an output directory of ``lmcoinc run`` or ``lmcoinc batch``.

    Raises
    ------
    ReportInputError
        If it is not a directory, holds neither ``summary.parquet`` nor
        ``*.feature.parquet``, or a file cannot be read.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise ReportInputError(output_dir, "output directory not found")
    summary = _read(output_dir / "summary.parquet")
    if summary is not None:
        missing = {"lst_file", "status", "error", *_KEYS} - set(summary.columns)
        if missing:
            raise ReportInputError(output_dir / "summary.parquet",
                                   f"not an lmcoinc summary (no {', '.join(sorted(missing))})")
        subruns = _batch_subruns(output_dir, summary)
    else:
        subruns = _run_subruns(output_dir)
    if not subruns:
        raise ReportInputError(
            output_dir, "no lmcoinc output (summary.parquet or *.feature.parquet)")
    return ReportData(output_dir, subruns, summary)


def telescope_rows(data: ReportData) -> pl.DataFrame:
    """All feature rows of the night, one per subrun and telescope, in time order.

    Columns: ``obs_id``, ``subrun``, ``tel_id`` (``coincidence_id`` = "1" + tel_id),
    the feature columns present, ``fraction`` (pairs / MAGIC events),
    ``subrun_time`` (mean ``unix_time`` of the subrun's telescopes) and
    ``purity`` (1 - accidental / pairs, when ``accidental`` is there).
    """
    frames = [
        s.feature.with_columns(obs_id=pl.lit(s.obs_id, pl.Int64), subrun=pl.lit(s.subrun, pl.Int64))
        for s in data.subruns if s.feature is not None and s.feature.height
    ]
    if not frames:
        return pl.DataFrame()
    rows = pl.concat(frames, how="diagonal_relaxed").with_columns(
        tel_id=tel_id_of_expr(),
        fraction=pl.col("n_coincidence") / pl.col("n_events_magic"),
        subrun_time=pl.col("unix_time").mean().over("obs_id", "subrun"),
    )
    if "accidental" in rows.columns:
        rows = rows.with_columns(purity=1 - pl.col("accidental") / pl.col("n_coincidence"))
    return rows.sort("subrun_time", "tel_id")
