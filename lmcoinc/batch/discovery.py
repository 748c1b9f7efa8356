"""The LST-1 files of a night: subrun files or merged run files, selected by run and subrun.

On-site DL1 directories hold the subrun files of lstchain
(``dl1_LST-1.Run03265.0040.h5``) and, for some runs, the merged run file
beside them (``dl1_LST-1.Run03265.h5``, no subrun number): the same events
twice. A batch takes one kind only (subrun files unless told otherwise) and
says in one line which files of the other kind it leaves; files whose names
are neither are listed and left too, never processed with unknown ids.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidFileError

__all__ = [
    "LST_GLOB",
    "LstFiles",
    "LstSelection",
    "find_lst_files",
    "lst_file_ids",
    "parse_numbers",
    "select_lst_files",
    "subrun_ids",
]

log = logging.getLogger(__name__)

#: Glob of the LST-1 files in ``--lst-dir``.
LST_GLOB = "dl1_LST-1*.h5"
_RUN_RE = re.compile(r"Run(\d+)\.(\d+)")
#: lstchain's names: ``dl1_LST-1.Run03265.0040.h5`` (a subrun), ``dl1_LST-1.Run03265.h5``
#: (a merged run).
_NAME_RE = re.compile(r"dl1_LST-1\.Run(\d+)(?:\.(\d+))?\.h5")
_SHOWN = 5  # file names listed in a line about skipped files


def subrun_ids(path: str | Path) -> tuple[int | None, int | None]:
    """LST obs_id and subrun from a file name like ``dl1_LST-1.Run03265.0040.h5``."""
    found = _RUN_RE.search(Path(path).name)
    if found is None:
        return None, None
    return int(found.group(1)), int(found.group(2))


def lst_file_ids(path: str | Path) -> tuple[int, int | None] | None:
    """(obs_id, subrun) of an lstchain file name, subrun None for a merged run file;
    None for any other name."""
    found = _NAME_RE.fullmatch(Path(path).name)
    if found is None:
        return None
    return int(found.group(1)), None if found.group(2) is None else int(found.group(2))


def parse_numbers(text: str) -> frozenset[int]:
    """The numbers of a selection like ``3265,3266`` or ``0-40,50``.

    Raises
    ------
    ValueError
        If a part is not a number or a range ``A-B`` with ``A <= B``.
    """
    numbers: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        first, dash, last = part.partition("-")
        try:
            lo, hi = int(first), int(last if dash else first)
        except ValueError:
            raise ValueError(f"{part!r} is not a number or a range A-B") from None
        if lo < 0 or hi < lo:
            raise ValueError(f"{part!r} is not a range A-B with 0 <= A <= B")
        numbers.update(range(lo, hi + 1))
    return frozenset(numbers)


@dataclass(frozen=True)
class LstSelection:
    """Which LST-1 files of a directory a batch takes.

    Attributes
    ----------
    runs, subruns : collection of int or None
        Only these runs (obs_id) and subruns (None: all).
    merged : bool
        The merged run files (``dl1_LST-1.Run03265.h5``) instead of the subrun files.
    """

    runs: Collection[int] | None = None
    subruns: Collection[int] | None = None
    merged: bool = False

    def __contains__(self, ids: tuple[int, int | None]) -> bool:
        """Whether a file of these (obs_id, subrun) is of the kind and selection."""
        obs_id, subrun = ids
        return ((subrun is None) == self.merged and (self.runs is None or obs_id in self.runs)
                and (self.subruns is None or subrun is None or subrun in self.subruns))


@dataclass(frozen=True)
class LstFiles:
    """The LST-1 files of a directory a batch processes, and those it leaves.

    Attributes
    ----------
    files : list of pathlib.Path
        The files to process, in name order.
    other_kind : list of pathlib.Path
        Merged run files left beside subrun files (or subrun files left when
        merged files are chosen).
    unparsed : list of pathlib.Path
        Files matching :data:`LST_GLOB` whose names are not lstchain's.
    not_selected : int
        Files of the chosen kind outside the selected runs and subruns.
    """

    files: list[Path]
    other_kind: list[Path] = field(default_factory=list)
    unparsed: list[Path] = field(default_factory=list)
    not_selected: int = 0


def select_lst_files(paths: Collection[Path], selection: LstSelection = LstSelection()
                     ) -> LstFiles:
    """Sort the files by kind (subrun or merged run file) and keep the selected ones."""
    files, other, unparsed, not_selected = [], [], [], 0
    for path in sorted(paths):
        ids = lst_file_ids(path)
        if ids is None:
            unparsed.append(path)
        elif (ids[1] is None) != selection.merged:
            other.append(path)
        elif ids in selection:
            files.append(path)
        else:
            not_selected += 1
    return LstFiles(files, other, unparsed, not_selected)


def _files(count: int, kind: str = "") -> str:
    """"1 subrun file", "3 merged run files"."""
    return f"{count} {kind + ' ' if kind else ''}file{'s' if count != 1 else ''}"


def _names(paths: list[Path]) -> str:
    shown = ", ".join(p.name for p in paths[:_SHOWN])
    return shown + (f", ... ({len(paths)} in all)" if len(paths) > _SHOWN else "")


def find_lst_files(lst_dir: str | Path, selection: LstSelection = LstSelection()) -> list[Path]:
    """The LST-1 files of a directory to process, in name order (see :func:`select_lst_files`).

    The files left (merged files beside subrun files, names that are not
    lstchain's) are told in one warning line each.

    Raises
    ------
    InvalidFileError
        If the directory does not exist, holds no file of the chosen kind
        (within the selection), or two files have the same run and subrun.
    """
    lst_dir = Path(lst_dir)
    if not lst_dir.is_dir():
        raise InvalidFileError(lst_dir, "LST directory not found")
    found = select_lst_files([p for p in lst_dir.glob(LST_GLOB) if p.is_file()], selection)
    kind, other = ("merged run", "subrun") if selection.merged else ("subrun", "merged run")
    if found.other_kind:
        log.warning("%s: skipped %s (%s)", lst_dir, _files(len(found.other_kind), other),
                    _names(found.other_kind) + (
                        ": --merged processes the merged run files" if selection.merged else
                        "; --merged processes them instead of the subrun files"))
    if found.unparsed:
        log.warning("%s: skipped %s not named as LST-1 DL1 files are "
                    "(dl1_LST-1.RunNNNNN.NNNN.h5): %s", lst_dir, _files(len(found.unparsed)),
                    _names(found.unparsed))
    if not found.files:
        within = " within the selected runs and subruns" if found.not_selected else ""
        hint = "" if not found.other_kind else (
            f"; {_files(len(found.other_kind), other)} processed "
            f"{'without' if selection.merged else 'with'} --merged")
        raise InvalidFileError(lst_dir, f"no LST-1 DL1 {kind} files ({LST_GLOB}){within}{hint}")
    seen: dict[tuple[int, int | None], Path] = {}
    for path in found.files:
        obs_id, subrun = lst_file_ids(path)
        other = seen.setdefault((obs_id, subrun), path)
        if other != path:
            raise InvalidFileError(
                lst_dir, f"two files of LST run {obs_id} subrun {subrun}: {other.name} and "
                f"{path.name}"
            )
    return found.files
