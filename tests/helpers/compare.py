"""Comparison of an lmcoinc output file with the reference's (pandas + ctapipe)."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = {"events": "/events/parameters", "feature": "/coincidence/feature",
        "profile": "/coincidence/profile"}


def assert_same_array(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Two structured arrays are the same: dtype, field layout and bytes."""
    assert ours.dtype == theirs.dtype
    assert ours.dtype.descr == theirs.dtype.descr
    assert ours.tobytes() == theirs.tobytes()


def read_tables(path) -> dict[str, pd.DataFrame]:
    """The three output tables of a coincidence file."""
    return {name: pd.read_hdf(path, key=key) for name, key in KEYS.items()}


def differences(ours, reference) -> list[str]:
    """Every difference between two output files: columns, dtypes, values (bit for bit)."""
    out = []
    a, b = read_tables(ours), read_tables(reference)
    for name in KEYS:
        x, y = a[name], b[name]
        if list(x.columns) != list(y.columns):
            out.append(f"{name}: columns {list(x.columns)} != {list(y.columns)}")
            continue
        if list(x.dtypes) != list(y.dtypes):
            bad = [(c, str(x[c].dtype), str(y[c].dtype)) for c in x if x[c].dtype != y[c].dtype]
            out.append(f"{name}: dtypes differ {bad}")
        if len(x) != len(y):
            out.append(f"{name}: {len(x)} rows != {len(y)} rows")
            continue
        for col in x.columns:
            u, v = x[col].to_numpy(), y[col].to_numpy()
            same = (u == v) | (pd.isna(u) & pd.isna(v))
            if not np.all(same):
                i = int(np.flatnonzero(~same)[0])
                out.append(f"{name}.{col}: {np.count_nonzero(~same)} values differ, "
                           f"first at row {i}: {u[i]!r} != {v[i]!r}")
    from ctapipe.instrument import SubarrayDescription

    sa, sb = SubarrayDescription.from_hdf(ours), SubarrayDescription.from_hdf(reference)
    if sa != sb:
        out.append(f"subarray differs: {sa} != {sb}")
    return out


def image_differences(ours, reference) -> list[str]:
    """Differences of the /events/dl1/image_* tables read with ctapipe's read_table."""
    import tables
    from ctapipe.io import read_table

    def nodes(path):
        with tables.open_file(str(path)) as handle:
            if "/events/dl1" not in handle:
                return []
            return sorted(n._v_pathname for n in handle.list_nodes("/events/dl1"))

    out = []
    if nodes(ours) != nodes(reference):
        return [f"image tables {nodes(ours)} != {nodes(reference)}"]
    for key in nodes(ours):
        a, b = read_table(ours, key), read_table(reference, key)
        if a.colnames != b.colnames or len(a) != len(b):
            out.append(f"{key}: {a.colnames}/{len(a)} rows != {b.colnames}/{len(b)} rows")
            continue
        for col in a.colnames:
            if not np.array_equal(np.asarray(a[col]), np.asarray(b[col])):
                out.append(f"{key}.{col}: values differ")
            if getattr(a[col], "unit", None) != getattr(b[col], "unit", None):
                out.append(f"{key}.{col}: unit {a[col].unit} != {b[col].unit}")
    return out


def hdf5_contents(path) -> dict[str, tuple]:
    """Every node of an HDF5 file read with h5py: path → (dtype, bytes, attributes).

    Equal contents make equal files for every reader; unlike the bytes of the
    file, they do not depend on when the file was written. The provenance (root
    attributes :data:`~lmcoinc.io.provenance.HDF5_ATTRIBUTES`) is left out: it says
    when, where and from which files the output was made, not what it holds.
    """
    import h5py
    import hdf5plugin  # noqa: F401 - the blosc/zstd filters

    from lmcoinc.io.provenance import HDF5_ATTRIBUTES

    def value(v):
        if isinstance(v, np.ndarray) and v.dtype.kind != "O":
            return v.dtype.str, v.shape, v.tobytes()
        return repr(v)

    def attrs(node, skip=()) -> dict:
        return {k: value(node.attrs[k]) for k in sorted(node.attrs) if k not in skip}

    out = {}
    with h5py.File(path, "r") as handle:
        out["/"] = (None, b"", attrs(handle, HDF5_ATTRIBUTES))

        def visit(name, node):
            if isinstance(node, h5py.Dataset):
                out[name] = (str(node.dtype), node[()].tobytes(), attrs(node))
            else:
                out[name] = (None, b"", attrs(node))

        handle.visititems(visit)
    return out


def snapshot(directory) -> dict[str, tuple[int, bytes]]:
    """The files of a directory: name → (inode, bytes): equal only if none was replaced."""
    return {p.name: (p.stat().st_ino, p.read_bytes()) for p in sorted(directory.iterdir())}


def subrun_table(output, table: str):
    """A subrun's Parquet table, whether ``output`` (its HDF5 file) is in a ``run`` output
    (the file beside it) or a ``batch`` output (its dataset partition); None if absent."""
    import lmcoinc

    try:
        frame = lmcoinc.scan(output, table).collect()
    except FileNotFoundError:
        return None
    return frame.drop("lst_obs_id", "lst_subrun")


def assert_same_outputs(out, reference, names, tables=("events", "feature", "profile")) -> None:
    """The subrun outputs ``names`` (HDF5 files) of two directories (of ``run`` or
    ``batch``) are the same, with their Parquet tables."""
    for name in names:
        assert differences(out / name, reference / name) == [], name
        for table in tables:
            ours, theirs = subrun_table(out / name, table), subrun_table(reference / name, table)
            assert ours is not None and ours.equals(theirs), (name, table)


def temporaries(out) -> list:
    """The temporary files (of unfinished outputs) under a directory."""
    return [p for p in out.rglob(".*") if p.name.endswith((".tmp", ".bak"))]
