"""Which MAGIC files a batch reads: those whose times overlap what its LST subruns can use.

A MAGIC directory may hold several nights. The MAGIC times that the
coincidence of an LST subrun can use are the offset model's ``magic_range``
of its events' first and last times (:func:`lst_window`, from the edge rows
of each LST file, :mod:`lmcoinc.io.spans`, widened by :data:`MARGIN_NS`).
The MAGIC subrun files of one run and telescope (``dl1_M1.Run05093711.001.h5``)
hold consecutive times in subrun order: within each such sequence the files
that overlap the window are found by binary search on the time spans of a
few files (:func:`select_magic_files`). A file whose span cannot be read, or a
sequence whose spans are out of order, is read whole. A subrun whose exact
MAGIC time range turns out to lie outside the window (its file's edge rows did
not bound its times) reads the MAGIC directory as ``lmcoinc run`` does
(:class:`lmcoinc.io.magic_cache.OutsideCache`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..config import CoincidenceConfig
from ..io.magic_cache import Window
from ..io.spans import lst_time_span, magic_time_span
from ..pairing import offset_model

__all__ = ["MARGIN_NS", "lst_window", "select_magic_files"]

#: Margin added on each side of every subrun's MAGIC time range (ns).
MARGIN_NS = 1_000_000_000

_SEQUENCE = re.compile(r"^dl1_(M\d)\.Run(\d+)\.(\d+)\.h5$")


def lst_window(lst_files: list[Path], config: CoincidenceConfig) -> Window:
    """The MAGIC times the coincidence of these LST files can use, widened by
    :data:`MARGIN_NS`; None when a file's times are unknown (then all are needed)."""
    model = offset_model(config)
    ranges = []
    for path in lst_files:
        span = lst_time_span(path, config.timestamp_type_lst)
        if span is None:
            return None
        lo, hi = model.magic_range(*span)
        ranges.append((lo - MARGIN_NS, hi + MARGIN_NS))
    return _merge(ranges)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _sequences(files: list[Path]) -> list[list[Path]]:
    """The files grouped by MAGIC telescope and run, each group in subrun order (a file of
    another name is a group of its own)."""
    groups: dict[tuple, list[tuple[int, Path]]] = {}
    for path in files:
        found = _SEQUENCE.match(path.name)
        key = (found[1], int(found[2])) if found else (path,)
        groups.setdefault(key, []).append((int(found[3]) if found else 0, path))
    return [[p for _, p in sorted(group)] for group in groups.values()]


def select_magic_files(files: list[Path], window: Window) -> list[Path]:
    """The MAGIC files (in their order) whose times may overlap the window.

    All files when ``window`` is None, or when none is found to overlap it
    (then the batch tells what ``lmcoinc run`` would: no time overlap, or the
    file at fault).
    """
    if window is None:
        return list(files)
    chosen: set[Path] = set()
    for sequence in _sequences(files):
        chosen.update(_overlapping(sequence, window))
    return [p for p in files if p in chosen] or list(files)


class _Disorder(Exception):  # noqa: N818 - a sequence whose spans cannot be searched
    pass


class _Spans:
    """The time spans of the files of a sequence, read when first asked for."""

    def __init__(self, sequence: list[Path]) -> None:
        self.sequence, self.known = sequence, {}

    def __call__(self, index: int) -> tuple[int, int]:
        if index not in self.known:
            self.known[index] = magic_time_span(self.sequence[index])
        found = self.known[index]
        if found is None:
            raise _Disorder
        return found

    def ordered(self) -> bool:
        """Whether the spans read follow each other in time, in subrun order."""
        spans = [self.known[i] for i in sorted(self.known)]
        return all(a[0] <= a[1] <= b[0] <= b[1] for a, b in zip(spans, spans[1:], strict=False))


def _overlapping(sequence: list[Path], window: list[tuple[int, int]]) -> list[Path]:
    """The files of one sequence that may overlap the window (binary search on spans)."""
    span = _Spans(sequence)

    def first(after: Callable[[int], bool]) -> int:  # the first index where ``after`` holds
        lo, hi = 0, len(sequence)
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if after(mid) else (mid + 1, hi)
        return lo

    try:
        chosen: set[int] = set()
        for lo, hi in window:
            begin = first(lambda i, lo=lo: span(i)[1] >= lo)  # ends at or after lo
            end = first(lambda i, hi=hi: span(i)[0] > hi)  # starts after hi
            chosen.update(range(begin, end))
        if not span.ordered():
            raise _Disorder
    except _Disorder:
        return list(sequence)
    return [sequence[i] for i in sorted(chosen)]
