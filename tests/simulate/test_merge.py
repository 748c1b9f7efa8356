"""Merged LST-1 run files as lstchain_merge_hdf5_files makes them: rows, dtypes, filters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tables

from lmcoinc.simulate.merge import merge_lst_files, merged_lst_name

from ..helpers.badinputs import LST_FILTERS, drop_column
from ..helpers.simread import LST_KEY, read


def _tables(path: Path) -> dict[str, tuple]:
    with tables.open_file(path) as f:
        return {
            node._v_pathname: (node.read(), node.filters, node.dtype)
            for node in f.walk_nodes("/", "Table")
        }


@pytest.fixture(scope="module")
def merged(night, tmp_path_factory) -> Path:
    """The test night's subruns merged."""
    out = tmp_path_factory.mktemp("merged") / merged_lst_name(3265)
    return merge_lst_files(night.lst_files, out)


def test_merged_run(night, merged: Path, tmp_path: Path) -> None:
    assert merged.name == "dl1_LST-1.Run03265.h5"
    parts = [_tables(p) for p in night.lst_files]
    result = _tables(merged)
    assert set(result) == set(parts[0])
    for key, (rows, filters, dtype) in result.items():
        first_rows, first_filters, first_dtype = parts[0][key]
        assert filters == first_filters and dtype == first_dtype
        if key == LST_KEY:
            assert filters.complib == "blosc:zstd" and filters.fletcher32
            expected = np.concatenate([part[key][0] for part in parts])
            assert rows.tobytes() == expected.tobytes()
        else:  # the instrument, once: the first file's
            assert rows.tobytes() == first_rows.tobytes()
    with tables.open_file(merged) as f:
        names = [x.decode() for x in f.root.source_filenames.filenames]
        assert str(f.root._v_attrs["LSTCHAIN_VERSION"]) == "0.12.3"
    assert names == [str(p) for p in night.lst_files]
    # a few rows at a time: the same file content
    again = merge_lst_files(night.lst_files, tmp_path / "small-chunks.h5", chunk_bytes=10_000)
    assert read(again, LST_KEY).tobytes() == read(merged, LST_KEY).tobytes()
    assert not list(tmp_path.glob(".*partial"))


def test_order_and_replaced_output(night, tmp_path: Path) -> None:
    out = tmp_path / "run.h5"
    out.write_text("an earlier file")
    backwards = list(reversed(night.lst_files[:2]))
    merge_lst_files(backwards, out)
    expected = np.concatenate([read(p, LST_KEY) for p in backwards])
    assert read(out, LST_KEY).tobytes() == expected.tobytes()
    assert merge_lst_files([night.lst_files[0]], out) == out  # one file: a copy, its inputs named
    assert read(out, LST_KEY).tobytes() == read(night.lst_files[0], LST_KEY).tobytes()
    with tables.open_file(out) as f:
        assert [x.decode() for x in f.root.source_filenames.filenames] == [
            str(night.lst_files[0])]


def test_errors(night, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no LST file to merge"):
        merge_lst_files([], tmp_path / "none.h5")
    other = tmp_path / "other.h5"
    other.write_bytes(night.lst_files[1].read_bytes())
    drop_column(other, LST_KEY, "intensity", LST_FILTERS)
    out = tmp_path / "run.h5"
    with pytest.raises(ValueError, match=f"{other}: {LST_KEY} has other columns than the first"):
        merge_lst_files([night.lst_files[0], other], out)
    assert list(tmp_path.iterdir()) == [other]  # nothing left of the merge
