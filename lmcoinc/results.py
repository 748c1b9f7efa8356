"""What a coincidence finds: per MAGIC telescope, and per subrun (a leaf every stage may import).

:class:`TelescopeCoincidence` is the outcome of the offset search and the
pairing of LST-1 with one MAGIC telescope (or :class:`TelescopeSkipped`);
:class:`SubrunResult` holds the output tables of a subrun. The output
tables name a telescope's rows by ``coincidence_id`` (:func:`coincidence_id`)
and its profile column by :func:`profile_column`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import polars as pl

__all__ = [
    "BlockTable",
    "ClockStep",
    "StereoTable",
    "SubrunResult",
    "TelescopeCoincidence",
    "TelescopeSkipped",
    "coincidence_id",
    "profile_column",
    "tel_id_of",
    "tel_id_of_expr",
]


class TelescopeSkipped(Exception):  # noqa: N818 - an outcome, not a failure
    """A MAGIC telescope without coincidence; the message says why."""


@dataclass(frozen=True)
class ClockStep:
    """A jump of the clock offset within a subrun.

    Attributes
    ----------
    time_ns : int
        LST time of the step (UNIX ns): the offset after it holds from there on.
    before_ns, after_ns : float
        The offset (MAGIC minus LST clock, ns) just before and just after it.
    """

    time_ns: int
    before_ns: float
    after_ns: float

    @property
    def size_ns(self) -> float:
        """The jump: offset after minus offset before (ns)."""
        return self.after_ns - self.before_ns


@dataclass(frozen=True)
class TelescopeCoincidence:
    """Result of the coincidence of LST-1 with one MAGIC telescope.

    Attributes
    ----------
    pre_offset_ns : int or None
        Offset found by the pre-offset search (None when not run).
    offsets_ns, counts : numpy.ndarray
        The scanned offsets and the number of pairs at each.
    average_offset_ns : int
        Weighted average offset, where the pairs are taken.
    candidates : numpy.ndarray
        Indices of the MAGIC rows within the scanned time range.
    idx_lst, idx_magic : numpy.ndarray
        The pairs: LST rows and positions in ``candidates``.
    clock_offset_ns, geometric_delay_ns : float or None
        The clock offset and the mean light-travel delay of the pairs (None
        where the offset model does not compute them).
    offset_source : str
        Where the offset comes from: "local", "night" or "history".
    steps : tuple of ClockStep
        The steps of the clock offset found within the subrun: those of the
        model (drift mode), or those the one offset misses (constant mode).
    """

    pre_offset_ns: int | None
    offsets_ns: np.ndarray
    counts: np.ndarray
    average_offset_ns: int
    candidates: np.ndarray
    idx_lst: np.ndarray
    idx_magic: np.ndarray
    clock_offset_ns: float | None = None
    geometric_delay_ns: float | None = None
    offset_source: str = "local"
    steps: tuple[ClockStep, ...] = ()

    @property
    def n_pairs(self) -> int:
        """Number of coincident pairs."""
        return len(self.idx_lst)


class BlockTable(Protocol):
    """A table produced a block of rows at a time (the stereo events of a subrun)."""

    height: int

    def iter_blocks(self) -> Iterator[pl.DataFrame]:
        """The rows, block by block (at least one block, maybe empty)."""


class StereoTable(BlockTable, Protocol):
    """The stereo events of a subrun: the ids of every row at once, the rest block by block."""

    #: One row per telescope image, in output order: ``obs_id``, ``event_id``, ``tel_id``,
    #: ``obs_id_magic``, ``event_id_magic``, ``obs_id_lst``, ``event_id_lst``, ...
    plan: pl.DataFrame


@dataclass
class SubrunResult:
    """Output tables of the coincidence of a subrun and the per-telescope results.

    Attributes
    ----------
    events : StereoTable
        The stereo table (``/events/parameters``), gathered block by block.
    feature, profile : polars.DataFrame
        The reference's feature and profile tables.
    telescopes : dict
        MAGIC tel_id → its :class:`TelescopeCoincidence`, in feature row order.
    feature_extra : dict
        Columns beyond the reference's, one value per ``feature`` row: in the
        feature Parquet table only (the HDF5 table stays the reference's).
    extra_tables : dict
        Further tables by name (HDF5 ``/coincidence/<name>``, Parquet
        ``<stem>.<name>.parquet``).
    """

    events: StereoTable
    feature: pl.DataFrame
    profile: pl.DataFrame
    telescopes: dict[int, TelescopeCoincidence]
    feature_extra: dict[str, list | pl.Series] = field(default_factory=dict)
    extra_tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    def hdf5_tables(self) -> dict[str, BlockTable | pl.DataFrame]:
        """The tables of the HDF5 output by name."""
        tables = {"events": self.events, "feature": self.feature, "profile": self.profile}
        return {**tables, **self.extra_tables}

    def parquet_tables(self) -> dict[str, BlockTable | pl.DataFrame]:
        """The tables of the Parquet outputs by name (the feature with its extra columns)."""
        feature = self.feature.with_columns(
            pl.Series(name, values) for name, values in self.feature_extra.items()
        )
        return {**self.hdf5_tables(), "feature": feature}


def coincidence_id(tel_id: int) -> int:
    """The ``coincidence_id`` of a MAGIC telescope's feature row: "1" followed by its id."""
    return int(f"1{int(tel_id)}")


def tel_id_of(coincidence_id: int) -> int:
    """The MAGIC tel_id of a ``coincidence_id`` (:func:`coincidence_id` inverted)."""
    return int(str(int(coincidence_id))[1:])


def tel_id_of_expr(column: str = "coincidence_id") -> pl.Expr:
    """:func:`tel_id_of` of a column, as a polars expression (Int64)."""
    return pl.col(column).cast(pl.String).str.slice(1).cast(pl.Int64)


def profile_column(tel_id: int) -> str:
    """The ``/coincidence/profile`` column of a MAGIC telescope, ``n_coincidence_tel1{tel_id}``."""
    return f"n_coincidence_tel{coincidence_id(tel_id)}"
