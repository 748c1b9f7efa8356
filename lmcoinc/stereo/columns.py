"""The parameters kept in the stereo table: those common to LST-1 and MAGIC (SPEC step 4)."""

from __future__ import annotations

from collections.abc import Sequence

from ..io.lst import LST_INDEX
from ..io.magic import MAGIC_INDEX

__all__ = ["common_columns", "not_common_parameters"]


def not_common_parameters(lst_parameters: list[str], magic_parameters: list[str]) -> set[str]:
    """Parameters that are not common to LST and MAGIC (the reference's rule).

    ``lst_parameters`` has the LST timestamp already renamed to "timestamp";
    MAGIC's ``time_sec`` and ``time_nanosec`` stand for it and are kept.
    """
    params_lst = set(lst_parameters) ^ {"timestamp"}
    params_magic = set(magic_parameters) ^ {"time_sec", "time_nanosec"}
    return params_lst ^ params_magic


def common_columns(
    lst_columns: Sequence[str], magic_columns: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The LST and the MAGIC columns to keep, in their order: the index columns (never
    dropped) and the parameters common to both."""
    lst_parameters = [c for c in lst_columns if c not in LST_INDEX]
    magic_parameters = [c for c in magic_columns if c not in MAGIC_INDEX]
    drop = not_common_parameters(lst_parameters, magic_parameters)
    return (
        [c for c in lst_columns if c not in drop or c in LST_INDEX],
        [c for c in magic_columns if c not in drop or c in MAGIC_INDEX],
    )
