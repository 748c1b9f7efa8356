"""Merged LST-1 run files, as lstchain's ``lstchain_merge_hdf5_files`` makes them.

The event tables of the subrun files are concatenated in the given order under
the same paths, with the same dtype and filters (the first file's tables are
extended); everything else (global metadata, subarray, optics) is the first
file's, and ``/source_filenames/filenames`` lists the inputs, as lstchain
writes it. Unlike lstchain, the instrument tables are not appended again for
every subrun. Rows are copied a few tens of MB at a time, so that runs of
millions of events merge in bounded memory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["EVENT_GROUP", "merge_lst_files", "merged_lst_name"]

#: the group whose tables are concatenated
EVENT_GROUP = "/dl1/event"


def merged_lst_name(obs_id: int) -> str:
    """lstchain's name of a merged LST-1 run file, ``dl1_LST-1.Run{obs_id:05}.h5``."""
    return f"dl1_LST-1.Run{obs_id:05}.h5"


def merge_lst_files(
    files: Iterable[str | Path], output: str | Path, chunk_bytes: int = 32 * 2**20
) -> Path:
    """Concatenate LST-1 DL1 subrun files into one run file.

    Parameters
    ----------
    files : iterable of str or pathlib.Path
        The subrun files, in the order of their rows in the output.
    output : str or pathlib.Path
        The merged file (replaced if present; written under a temporary
        name and renamed when complete).
    chunk_bytes : int
        About this many bytes of rows are read and appended at a time.

    Returns
    -------
    pathlib.Path
        The merged file.

    Raises
    ------
    ValueError
        If no file is given, or an event table's columns differ from the first file's.
    """
    import tables

    files = [Path(f) for f in files]
    if not files:
        raise ValueError("no LST file to merge")
    output = Path(output)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    shutil.copyfile(files[0], partial)
    try:
        with tables.open_file(str(partial), mode="a") as out:
            targets = list(out.walk_nodes(EVENT_GROUP, "Table")) if EVENT_GROUP in out else []
            for path in files[1:]:
                with tables.open_file(str(path), mode="r") as source:
                    for target in targets:
                        if target._v_pathname in source:
                            node = source.get_node(target._v_pathname)
                            _append(target, node, path, chunk_bytes)
            if "/source_filenames" in out:
                out.remove_node("/", "source_filenames", recursive=True)
            group = out.create_group("/", "source_filenames", "List of input files")
            out.create_array(group, "filenames", [str(f) for f in files], "List of files merged")
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return output


def _append(target: Any, source: Any, path: Path, chunk_bytes: int) -> None:
    """Append all rows of ``source`` to ``target``, ``chunk_bytes`` at a time."""
    if source.dtype.names != target.dtype.names:
        raise ValueError(f"{path}: {source._v_pathname} has other columns than the first file")
    step = max(1, chunk_bytes // target.dtype.itemsize)
    for start in range(0, source.nrows, step):
        target.append(source.read(start, min(start + step, source.nrows)).astype(target.dtype))
    target.flush()
