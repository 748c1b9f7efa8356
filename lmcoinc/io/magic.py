"""MAGIC DL1 reader (magic-cta-pipe ``magic_calib_to_dl1`` files)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..errors import MagicInputError
from .hdf5 import open_hdf5, read_table, structured_to_polars

__all__ = ["MAGIC_IMAGES_KEY", "MAGIC_PARAMETERS_KEY", "MagicData", "find_magic_files",
           "prepare_magic", "read_magic"]

log = logging.getLogger(__name__)

MAGIC_PARAMETERS_KEY = "/events/parameters"
MAGIC_IMAGES_KEY = "/events/dl1/image"
_REQUIRED = ("obs_id", "event_id", "tel_id", "time_sec", "time_nanosec", "intensity",
             "pointing_alt", "pointing_az")


@dataclass
class MagicData:
    """MAGIC events of all files of a directory, concatenated in name order.

    Attributes
    ----------
    files : list of Path
        Files holding a parameter table (those skipped are not listed).
    raw : polars.DataFrame
        Concatenated parameter tables.
    """

    files: list[Path]
    raw: pl.DataFrame
    skipped: list[Path] = field(default_factory=list)


def find_magic_files(directory: str | Path) -> list[Path]:
    """The ``dl1_*.h5`` files of a directory, in sorted name order."""
    directory = Path(directory)
    if not directory.exists():
        raise MagicInputError(f"{directory}: MAGIC directory not found")
    if not directory.is_dir():
        raise MagicInputError(f"{directory}: not a directory")
    files = sorted(directory.glob("dl1_*.h5"), key=lambda p: str(p))
    if not files:
        raise MagicInputError(f"{directory}: no MAGIC DL1 files (dl1_*.h5)")
    return files


def read_magic(directory: str | Path) -> MagicData:
    """Read the parameter tables of all MAGIC DL1 files of a directory.

    A file without ``/events/parameters`` is skipped with a warning, as the
    reference does; a corrupt or truncated file is an error naming it.
    """
    files = find_magic_files(directory)
    frames, used, skipped = [], [], []
    for path in files:
        with open_hdf5(path, MagicInputError) as handle:
            if MAGIC_PARAMETERS_KEY not in handle:
                log.warning("File %s has no %s table, skipping", path, MAGIC_PARAMETERS_KEY)
                skipped.append(path)
                continue
            table = read_table(handle, path, MAGIC_PARAMETERS_KEY, MagicInputError, "")
        frame = structured_to_polars(table)
        missing = [c for c in _REQUIRED if c not in frame.columns]
        if missing:
            raise MagicInputError(
                f"{path}: {MAGIC_PARAMETERS_KEY} lacks column(s) {', '.join(missing)}"
            )
        if frames and frame.columns != frames[0].columns:
            raise MagicInputError(f"{path}: columns differ from those of {used[0]}")
        frames.append(frame)
        used.append(path)
    raw = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame()
    return MagicData(used, raw, skipped)


def prepare_magic(raw: pl.DataFrame) -> pl.DataFrame:
    """Arrange MAGIC events as magic-cta-pipe's loader does (SPEC step 2).

    Rows with a repeated (obs_id, event_id, tel_id) are all dropped; ids are
    renamed to ``*_magic``; rows sorted by (obs_id_magic, event_id_magic,
    tel_id) with those columns first.
    """
    df = raw.filter(pl.len().over("obs_id", "event_id", "tel_id") == 1)
    df = df.rename({"obs_id": "obs_id_magic", "event_id": "event_id_magic"})
    index = ["obs_id_magic", "event_id_magic", "tel_id"]
    return df.sort(index, maintain_order=True).select(*index, pl.exclude(index))
