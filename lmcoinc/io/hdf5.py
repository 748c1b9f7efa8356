"""Reading PyTables tables (blosc:zstd, fletcher32) into polars, with clear errors."""

from __future__ import annotations

import io
import os
import pickle
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import LmcoincError

__all__ = [
    "describe_error",
    "describe_read_error",
    "find_bad_chunk",
    "fletcher32",
    "open_hdf5",
    "read_table",
    "structured_to_polars",
]

_TRUNCATED = re.compile(r"truncated file: eof = (\d+).*stored_eof = (\d+)")


def describe_error(err: Exception) -> str:
    """One line from an HDF5/PyTables error: the innermost message of its back trace."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    for line in lines:
        low = line.lower()
        if "checksum" in low or "fletcher" in low:
            return "checksum error (data corrupted)"
        match = _TRUNCATED.search(line)
        if match:
            return f"truncated file ({match[1]} of {match[2]} bytes)"
    if lines and lines[0].startswith("HDF5 error back trace"):
        # "File ..., in H5X" lines alternate with messages; the last message
        # before the end of the trace is the innermost, most specific one.
        end = next((i for i, line in enumerate(lines) if line.startswith("End of HDF5")),
                   len(lines))
        messages = [line for line in lines[1:end] if not line.startswith("File ")]
        if messages:
            return messages[-1][:160]
    first = lines[0] if lines else type(err).__name__
    return first[:160]


def fletcher32(data: bytes) -> int:
    """HDF5's Fletcher-32 checksum (``H5_checksum_fletcher32``) of a byte string."""
    buf = np.frombuffer(data, dtype=np.uint8)
    even = len(buf) - len(buf) % 2
    words = (buf[0:even:2].astype(np.uint64) << np.uint64(8)) | buf[1:even:2]
    sum1 = sum2 = 0
    for start in range(0, len(words), 360):  # HDF5 folds the sums every 360 words
        prefix = np.cumsum(words[start : start + 360], dtype=np.uint64)
        sum2 += len(prefix) * sum1 + int(prefix.sum())
        sum1 += int(prefix[-1])
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    if len(buf) % 2:
        sum1 += int(buf[-1]) << 8
        sum2 += sum1
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
    sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    return (sum2 << 16) | sum1


def _checksum_ok(chunk: bytes) -> bool:
    stored = int.from_bytes(chunk[-4:], "little")
    computed = fletcher32(chunk[:-4])
    # HDF5 also accepts the byte-swapped sum written by its releases before 1.6.3.
    swapped = ((computed & 0x00FF00FF) << 8) | ((computed >> 8) & 0x00FF00FF)
    return stored in (computed, swapped)


def find_bad_chunk(node) -> tuple[int, int] | None:
    """Rows (first, last) of the first stored chunk of a 1-D table whose checksum fails.

    None if the table has no fletcher32 filter or all its checksums are right.
    """
    if not node.filters.fletcher32 or node.chunkshape is None or len(node.chunkshape) != 1:
        return None
    step = int(node.chunkshape[0])
    try:
        for start in range(0, int(node.nrows), step):
            if node.chunk_info((start,)).offset is None:  # not stored
                continue
            if not _checksum_ok(node.read_chunk((start,))):
                return start, min(start + step, int(node.nrows)) - 1
    except Exception:  # noqa: BLE001 - no direct chunk access: no diagnosis
        return None
    return None


class _NoClassUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"not unpickling {module}.{name}")


class _AttributePickle:
    """Stand-in for ``pickle`` in PyTables' attribute loading: no classes.

    ctapipe stores enum columns with a pickled class in an attribute
    (e.g. ``CTAFIELD_43_ENUM`` = ``ctapipe.containers.EventType``); PyTables
    unpickles every attribute when a table is opened, which would import
    ctapipe (~1.5 s) and run code from the file. Refused, PyTables keeps the
    attribute's raw bytes, which is all a reader or a copy needs.
    """

    UnpicklingError = pickle.UnpicklingError

    @staticmethod
    def loads(data: bytes, **kwargs):
        return _NoClassUnpickler(io.BytesIO(data), **kwargs).load()


@contextmanager
def _raw_attributes() -> Iterator[None]:
    """Read attributes raw (no unpickling) and only when asked for.

    PyTables reads every attribute of a node when it opens it, "to allow
    tab-completion"; ctapipe tables carry several per column, and opening
    the ~60 tables of a subrun's files spent ~0.1 s there. Within this
    context an attribute set lists the names at once and reads a value on
    first access (PyTables' own ``__getattr__`` does that and caches it).
    """
    import tables.attributeset as attributeset

    saved = attributeset.pickle, attributeset.AttributeSet.__init__
    attributeset.pickle = _AttributePickle
    attributeset.AttributeSet.__init__ = _lazy_attribute_set_init
    try:
        yield
    finally:
        attributeset.pickle, attributeset.AttributeSet.__init__ = saved


def _lazy_attribute_set_init(self, node) -> None:
    """``tables.attributeset.AttributeSet.__init__`` without reading the values."""
    from tables.attributeset import SYS_ATTRS, SYS_ATTRS_PREFIXES
    from tables.exceptions import ClosedNodeError

    if not node._v_isopen:
        raise ClosedNodeError("the node for attribute set is closed")
    dict_ = self.__dict__
    self._g_new(node)
    dict_["_v__nodefile"] = node._v_file
    dict_["_v__nodepath"] = node._v_pathname
    dict_["_v_attrnames"] = self._g_list_attr(node)
    dict_["_v_unimplemented"] = []
    version = getattr(node._v_file, "format_version", "unknown")
    dict_["_v__format_version"] = (
        None if version == "unknown" else tuple(map(int, version.split(".")))
    )
    system, user = [], []
    for name in self._v_attrnames:
        # tables.attributeset.issysattrname, without its np.prod per name
        is_sys = name in SYS_ATTRS or all(name.startswith(p) for p in SYS_ATTRS_PREFIXES)
        (system if is_sys else user).append(name)
    dict_["_v_attrnamessys"], dict_["_v_attrnamesuser"] = system, user


@contextmanager
def open_hdf5(path: str | Path, error: type[LmcoincError]) -> Iterator:
    """Open an HDF5 file read-only with PyTables, mapping failures to ``error``."""
    import tables

    path = Path(path)
    if not path.exists():
        raise error(f"{path}: file not found")
    if path.is_dir():
        raise error(f"{path}: is a directory, expected an HDF5 file")
    if path.stat().st_size == 0:
        raise error(f"{path}: empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise error(f"{path}: permission denied")
    try:
        is_hdf5 = tables.is_hdf5_file(str(path))
    except Exception:  # noqa: BLE001 - unreadable header
        is_hdf5 = False
    if not is_hdf5:
        raise error(f"{path}: not an HDF5 file")
    try:
        handle = tables.open_file(str(path), mode="r")
    except Exception as err:  # noqa: BLE001 - truncated superblock etc.
        what = describe_error(err)
        if what.startswith("truncated file"):
            raise error(f"{path}: {what}") from None
        raise error(f"{path}: cannot open HDF5 file ({what})") from None
    try:
        with _raw_attributes():
            yield handle
    finally:
        handle.close()


def structured_to_polars(array: np.ndarray, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Columns of a structured array (1-D fields only unless listed) to a DataFrame."""
    names = columns if columns is not None else array.dtype.names
    data = {}
    for name in names:
        col = array[name]
        if col.dtype.kind == "S":
            data[name] = pl.Series(name, col).cast(pl.String)
        else:
            data[name] = np.ascontiguousarray(col)
    return pl.DataFrame(data)


def read_table(
    handle, path: str | Path, key: str, error: type[LmcoincError], what: str
) -> np.ndarray:
    """Read a whole table as a structured array.

    Parameters
    ----------
    handle : tables.File
        Open file.
    path : path
        Its path, for messages.
    key : str
        Node path of the table.
    error : type
        Exception class raised on failure.
    what : str
        What the table should be, for the message when it is absent.
    """
    import tables

    try:
        node = handle.get_node(key) if key in handle else None
    except Exception as err:  # noqa: BLE001 - corrupt metadata
        raise error(f"{path}: cannot read {key}: {describe_error(err)} (file corrupted)") from None
    hint = f" ({what})" if what else ""
    if node is None:
        raise error(f"{path}: no table {key}{hint}")
    if not isinstance(node, tables.Table):
        raise error(f"{path}: {key} is not a table{hint}")
    try:
        return node.read()
    except Exception as err:  # noqa: BLE001 - HDF5 filter or I/O errors
        raise error(f"{path}: {describe_read_error(node, err)}") from None


def describe_read_error(node, err: Exception) -> str:
    """One line on a failed read of a table: the chunk whose checksum fails, if any."""
    bad = find_bad_chunk(node)
    if bad is not None:
        return (
            f"fletcher32 checksum error in {node._v_pathname} rows {bad[0]}-{bad[1]} "
            "(file corrupted)"
        )
    return f"cannot read {node._v_pathname}: {describe_error(err)} (file corrupted?)"
