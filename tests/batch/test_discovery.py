"""The LST-1 files of a directory: subrun or merged run files, never both; selections;
names that are not lstchain's are listed and left."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmcoinc.batch.discovery import (
    LstSelection,
    find_lst_files,
    lst_file_ids,
    parse_numbers,
    select_lst_files,
    subrun_ids,
)
from lmcoinc.errors import InvalidFileError, exit_code

SUBRUNS = [f"dl1_LST-1.Run03265.{i:04}.h5" for i in range(3)]
MERGED = "dl1_LST-1.Run03265.h5"


def _directory(tmp_path: Path, names: list[str]) -> Path:
    for name in names:
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def test_lst_file_ids():
    assert lst_file_ids("dl1_LST-1.Run03265.0040.h5") == (3265, 40)
    assert lst_file_ids("/some/dir/dl1_LST-1.Run03265.h5") == (3265, None)
    for name in ("dl1_LST-1.Run03265.0040.copy.h5", "dl1_LST-1.Run03265.h5.h5",
                 "dl1_LST-1_Run03265.0040.h5", "dl1_LST-1.Run03265.0040.h5.tmp",
                 "xdl1_LST-1.Run03265.0040.h5", "dl1_MAGIC_LST-1.Run03265.0040.h5"):
        assert lst_file_ids(name) is None, name


def test_parse_numbers():
    assert parse_numbers("0-40") == frozenset(range(41))
    assert parse_numbers("3265,3266") == {3265, 3266}
    assert parse_numbers(" 5, 0-2 ,7-7") == {0, 1, 2, 5, 7}
    for text in ("", "a", "4-2", "-3", "1-", "1,,2", "1.5"):
        with pytest.raises(ValueError):
            parse_numbers(text)


def test_merged_file_beside_subruns_is_skipped_with_one_line(tmp_path, caplog):
    lst = _directory(tmp_path, [*SUBRUNS, MERGED])
    with caplog.at_level(logging.WARNING, logger="lmcoinc"):
        files = find_lst_files(lst)
    assert [p.name for p in files] == SUBRUNS
    assert [r.getMessage() for r in caplog.records] == [
        f"{lst}: skipped 1 merged run file ({MERGED}; --merged processes them instead of the "
        "subrun files)"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmcoinc"):
        files = find_lst_files(lst, LstSelection(merged=True))
    assert [p.name for p in files] == [MERGED]
    assert len(caplog.records) == 1 and "skipped 3 subrun files (" in caplog.records[0].message


def test_unparsed_names_are_listed_and_skipped(tmp_path, caplog):
    odd = ["dl1_LST-1.Run03265.0001.copy.h5", "dl1_LST-1_test.h5"]
    lst = _directory(tmp_path, [*SUBRUNS, *odd])
    with caplog.at_level(logging.WARNING, logger="lmcoinc"):
        files = find_lst_files(lst)
    assert [p.name for p in files] == SUBRUNS
    (message,) = [r.getMessage() for r in caplog.records]
    assert message == (f"{lst}: skipped 2 files not named as LST-1 DL1 files are "
                       f"(dl1_LST-1.RunNNNNN.NNNN.h5): {', '.join(sorted(odd))}")


def test_nothing_of_the_kind(tmp_path):
    lst = _directory(tmp_path, [MERGED])
    with pytest.raises(InvalidFileError, match="no LST-1 DL1 subrun files .*; 1 merged run "
                       "file processed with --merged") as info:
        find_lst_files(lst)
    assert exit_code(info.value) == 13
    with pytest.raises(InvalidFileError, match="within the selected runs and subruns"):
        find_lst_files(_directory(tmp_path, SUBRUNS), LstSelection(runs={3266}))


def test_selection(tmp_path):
    names = [f"dl1_LST-1.Run{run:05}.{sub:04}.h5" for run in (3265, 3266, 3267)
             for sub in range(0, 50, 7)]
    lst = _directory(tmp_path, names)
    chosen = find_lst_files(lst, LstSelection(runs=parse_numbers("3265,3267"),
                                              subruns=parse_numbers("0-20")))
    assert [lst_file_ids(p) for p in chosen] == [(run, sub) for run in (3265, 3267)
                                                 for sub in (0, 7, 14)]


_names = st.one_of(
    st.builds(lambda r, s: f"dl1_LST-1.Run{r:05}.{s:04}.h5", st.integers(1, 4),
              st.integers(0, 5)),
    st.builds(lambda r: f"dl1_LST-1.Run{r:05}.h5", st.integers(1, 4)),
    st.sampled_from(["dl1_LST-1.h5", "dl1_LST-1.Run00001.0001.old.h5"]),
)
_numbers = st.none() | st.frozensets(st.integers(0, 5))


@given(st.sets(_names), _numbers, _numbers, st.booleans())
def test_selection_against_its_definition(names, runs, subruns, merged):
    """Every file is in exactly one part; the files taken are exactly those of the kind
    and selection (restated with the name's parts)."""
    paths = [Path(n) for n in names]
    found = select_lst_files(paths, LstSelection(runs, subruns, merged))
    parts = [*found.files, *found.other_kind, *found.unparsed]
    assert len(parts) + found.not_selected == len(paths)
    assert found.files == sorted(found.files)

    def taken(name: str) -> bool:
        stem = name.removeprefix("dl1_LST-1.Run").removesuffix(".h5").split(".")
        if not name.startswith("dl1_LST-1.Run") or not all(s.isdigit() for s in stem):
            return False
        run, sub = int(stem[0]), int(stem[1]) if len(stem) == 2 else None
        return ((sub is None) == merged and (runs is None or run in runs)
                and (subruns is None or sub is None or sub in subruns))

    assert {p.name for p in found.files} == {n for n in names if taken(n)}
    assert not {p.name for p in found.other_kind} & {p.name for p in found.files}
    assert all(lst_file_ids(p) is None for p in found.unparsed)


@pytest.mark.parametrize(("name", "ids"), [
    ("dl1_LST-1.Run03265.0040.h5", (3265, 40)),
    ("/data/night/dl1_LST-1.Run12345.0000.h5", (12345, 0)),
    ("dl1_MAGIC_LST-1.Run03265.0002.feature", (3265, 2)),
    ("dl1_LST-1.Run03265.h5", (None, None)),  # a merged run: no subrun
    ("whatever.h5", (None, None)),
])
def test_subrun_ids(name, ids):
    assert subrun_ids(name) == ids
