"""Which MAGIC files a batch reads: the binary search against the brute-force definition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lmcoinc.batch import overlap
from lmcoinc.batch.overlap import MARGIN_NS, lst_window, select_magic_files
from lmcoinc.config import load_config
from lmcoinc.io.magic_cache import within
from lmcoinc.io.spans import lst_time_span
from lmcoinc.pairing import offset_model


def _files(spans: dict[str, tuple[int, int] | None], monkeypatch) -> tuple[list[Path], list]:
    """Paths named as MAGIC files, whose spans are ``spans`` (the reads counted)."""
    paths = [Path(name) for name in sorted(spans)]
    probed = []

    def span(path: Path) -> tuple[int, int] | None:
        probed.append(path.name)
        return spans[path.name]

    monkeypatch.setattr(overlap, "magic_time_span", span)
    return paths, probed


def _sequence(tel: int, run: int, bounds: list[tuple[int, int]]) -> dict:
    return {f"dl1_M{tel}.Run{run:08}.{i + 1:03}.h5": b for i, b in enumerate(bounds)}


def _brute_force(spans: dict, window: list[tuple[int, int]]) -> list[str]:
    return sorted(name for name, (lo, hi) in spans.items()
                  if any(lo <= b and a <= hi for a, b in window))


@pytest.mark.parametrize("seed", range(20))
def test_binary_search_finds_the_overlapping_files(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    spans = {}
    for tel in (1, 2):
        for run in (5093711, 5093712):  # two runs, far apart in time
            n = int(rng.integers(1, 60))
            edges = np.cumsum(rng.integers(1, 100, 2 * n)) + run * 10**6
            spans |= _sequence(tel, run, list(zip(edges[::2], edges[1::2], strict=True)))
    lows = rng.integers(5093711 * 10**6 - 500, 5093712 * 10**6 + 7000, 3)
    window = overlap._merge([(int(lo), int(lo + rng.integers(0, 3000))) for lo in lows])
    files, probed = _files(spans, monkeypatch)
    chosen = [p.name for p in select_magic_files(files, window)]
    expected = _brute_force(spans, window)
    assert chosen == (expected or sorted(spans))
    assert len(probed) <= 4 * 3 * 2 * 7  # sequences × intervals × ends × log2(60)


def test_unknown_or_disordered_spans_read_the_whole_sequence(monkeypatch):
    ordered = _sequence(1, 1, [(0, 9), (10, 19), (20, 29), (30, 39)])
    window = [(12, 14)]
    files, _ = _files(ordered, monkeypatch)
    assert [p.name for p in select_magic_files(files, window)] == [files[1].name]
    unknown = {**ordered, files[1].name: None}
    files, _ = _files(unknown, monkeypatch)
    assert select_magic_files(files, window) == files
    disordered = _sequence(1, 1, [(0, 9), (30, 39), (10, 19), (20, 29)])
    files, _ = _files(disordered, monkeypatch)
    assert select_magic_files(files, window) == files


def test_other_names_none_overlapping_and_no_window(monkeypatch):
    spans = {**_sequence(2, 7, [(0, 9), (10, 19)]), "dl1_other.h5": (100, 110)}
    files, _ = _files(spans, monkeypatch)
    assert [p.name for p in select_magic_files(files, [(105, 106)])] == ["dl1_other.h5"]
    assert select_magic_files(files, [(500, 600)]) == files  # none: all, as run reads them
    assert select_magic_files(files, None) == files


def test_lst_window(night):
    config = load_config(None)
    model = offset_model(config)
    window = lst_window(night.lst_files, config)
    ranges = [model.magic_range(*lst_time_span(p, "dragon_time")) for p in night.lst_files]
    assert window == [(min(r[0] for r in ranges) - MARGIN_NS, max(r[1] for r in ranges)
                       + MARGIN_NS)]  # consecutive subruns: one interval
    assert all(within(window, r) for r in ranges)
    assert not within(window, (window[0][0] - 1, window[0][0]))
    assert within(None, (0, 1))
    assert overlap._merge([(5, 9), (0, 2), (2, 3), (10, 11)]) == [(0, 3), (5, 9), (10, 11)]
