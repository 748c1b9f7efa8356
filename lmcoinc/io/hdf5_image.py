"""HDF5 outputs built in memory and written to disk with checked writes.

PyTables ignores what HDF5's flush and close return, and HDF5 defers most
writes to them: on a full disk, over a quota or the file-size limit, a file
written with PyTables ends truncated or with holes that read back as zeros,
and every call has succeeded (measured: a 0.6 MB output on a 0.3 MB file
system; over the file-size limit, exit code 0 and a truncated file). An
:class:`HDF5Image` is built in memory, by one writer after another
(:func:`open_output`), and :meth:`HDF5Image.save` writes its bytes with plain
writes whose errors are raised. The price: the output is held in memory,
twice while it is saved.

What is the same in many outputs is made once per process:

- the tables (:meth:`HDF5Image.add_table`): PyTables creates each empty, with
  its attributes, in a *skeleton* file kept for outputs of the same tables
  and groups; an output starts as a copy of its skeleton, and its rows (and
  the ``NROWS`` attribute) are written into it as PyTables writes them;
- a group (the subarray, :meth:`HDF5Image.add_group`): written once into an
  image of its own and copied into the skeleton (HDF5's object copy, with
  h5py, takes its nodes, attributes and compressed chunks as they are).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

__all__ = ["HDF5Image", "TableRows", "open_output"]

#: Bytes by which the in-memory file grows (HDF5's 64 kB made a 400 MB file slow to build).
_INCREMENT = 16 * 2**20
#: Skeletons kept per process (a night's outputs share one).
_MAX_SKELETONS = 8


@dataclass
class TableRows:
    """The rows of a table of an :class:`HDF5Image`, added block by block (:meth:`append`)."""

    where: str
    name: str
    dtype: np.dtype
    blocks: list[np.ndarray] = field(default_factory=list)

    def append(self, block: np.ndarray) -> None:
        """Add rows (a structured array; cast to the table's type as PyTables casts them)."""
        self.blocks.append(np.ascontiguousarray(block.astype(self.dtype, copy=False)))


class HDF5Image:
    """An HDF5 file in memory for the output ``path``; nothing is written there before
    :meth:`save`. Use it as a context manager (it frees the memory on exit)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle: Any = None
        self._tables: list[TableRows] = []
        self._groups: list[tuple[bytes, str]] = []
        self._in_handle = 0  # the groups in the file that the handle opened
        self._attributes: dict[str, str] = {}

    def __enter__(self) -> HDF5Image:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def add_table(self, where: str, name: str, dtype: np.dtype) -> TableRows:
        """A table ``where/name`` (its groups created) of rows of ``dtype`` (a structured
        dtype), as PyTables' ``create_table(where, name, obj=rows, createparents=True)``
        makes it; its rows follow (:meth:`TableRows.append`). Before :meth:`handle`."""
        if self._handle is not None:
            raise ValueError(f"table {where}/{name}: added after the file was opened")
        found = _description(np.dtype(dtype))._v_dtype
        rows = TableRows(where, name, found)
        self._tables.append(rows)
        return rows

    def set_attributes(self, attributes: dict[str, str]) -> None:
        """Root attributes (strings, as PyTables writes them), written when the file is saved."""
        self._attributes.update(attributes)

    def handle(self) -> Any:
        """The file as a PyTables ``File`` (opened at the first call), with the tables and
        groups added so far (their rows are written when the file is saved)."""
        if self._handle is None:
            import tables

            options: dict[str, Any] = {}
            if self._tables or self._groups:
                options["driver_core_image"] = self._skeleton()
                self._in_handle = len(self._groups)
            self._handle = tables.open_file(str(self.path), mode="r+" if options else "w",
                                            driver="H5FD_CORE", driver_core_backing_store=0,
                                            driver_core_increment=_INCREMENT, **options)
        return self._handle

    def add_group(self, image: bytes, group: str) -> None:
        """Copy the top-level ``group`` of the HDF5 file image ``image`` into the file when it
        is saved (the file must not have that group)."""
        self._groups.append((image, group))

    def save(self) -> None:
        """Write the file to :attr:`path` and free its memory.

        Raises
        ------
        OSError
            If it cannot be written (no space left on device, ...).
        """
        if self._handle is not None:
            image: bytes | memoryview = self._handle.get_file_image()
            groups = self._groups[self._in_handle:]
        else:
            image, groups = self._skeleton(), []
        rows, attributes = self._tables, self._attributes
        self.close()
        if rows or attributes or groups:
            image = _filled(image, rows, attributes, groups)
        del rows
        with open(self.path, "wb") as out:
            out.write(image)

    def close(self) -> None:
        """Free the memory of the file (what was not saved is lost)."""
        self._tables, self._groups, self._attributes, self._in_handle = [], [], {}, 0
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _skeleton(self) -> bytes:
        layout = tuple((t.where, t.name, t.dtype) for t in self._tables)
        return _skeleton(layout, tuple(self._groups))


_DESCRIPTIONS: dict[np.dtype, Any] = {}


def _description(dtype: np.dtype) -> Any:
    """The PyTables description of a table's dtype, built once per dtype in a process
    (``create_table(obj=data)`` builds it every time)."""
    found = _DESCRIPTIONS.get(dtype)
    if found is None:
        import tables
        from tables.description import descr_from_dtype

        if len(_DESCRIPTIONS) >= 64:
            _DESCRIPTIONS.clear()
        params = {k: v for k, v in vars(tables.parameters).items()
                  if k.isupper() and not k.startswith("_")}  # as a File has them
        found = _DESCRIPTIONS[dtype] = descr_from_dtype(dtype, ptparams=params)[0]
    return found


_SKELETONS: dict[tuple, bytes] = {}


def _skeleton(layout: tuple[tuple[str, str, np.dtype], ...],
              groups: tuple[tuple[bytes, str], ...]) -> bytes:
    """The image of a file with the empty tables of ``layout`` (where, name, dtype), made
    by PyTables, and the ``groups`` copied into it; made once per process."""
    key = (layout, groups)  # an image's hash is computed once (bytes cache theirs)
    found = _SKELETONS.get(key)
    if found is None:
        import tables

        with tables.open_file("skeleton.h5", mode="w", driver="H5FD_CORE",
                              driver_core_backing_store=0) as handle:
            for where, name, dtype in layout:
                handle.create_table(where, name, _description(dtype), createparents=True)
            handle.flush()
            found = handle.get_file_image()
        if groups:
            found = bytes(_filled(found, [], {}, list(groups)))
        while len(_SKELETONS) >= _MAX_SKELETONS:
            _SKELETONS.pop(next(iter(_SKELETONS)))
        _SKELETONS[key] = found
    return found


def _filled(image: bytes | memoryview, rows: list[TableRows], attributes: dict[str, str],
            groups: list[tuple[bytes, str]]) -> memoryview:
    """The file image ``image`` with the rows of its (empty) tables, root attributes, and
    each (source image, top-level group) copied into it."""
    import h5py
    from h5py import h5d

    buffer = io.BytesIO(image)
    del image
    with h5py.File(buffer, "r+") as out:
        for table in rows:
            path = f"{table.where.rstrip('/')}/{table.name}"
            _write_rows(h5d.open(out.id, path.encode()), table.blocks)
        for key, value in attributes.items():
            _write_string_attribute(out.id, key, value)
        for source, group in groups:
            name = group.strip("/")
            if name in out:
                raise ValueError(f"the output already has a group /{name}")
            with h5py.File(io.BytesIO(source), "r") as inp:
                inp.copy(inp[name], out, name)
    return buffer.getbuffer()


def _write_rows(dataset: Any, blocks: list[np.ndarray]) -> None:
    """Append ``blocks`` to an empty PyTables table (an h5py dataset id): the rows' bytes as
    they are (their dtype is the table's own), and ``NROWS``, as PyTables writes them."""
    from h5py import h5a, h5s

    n = sum(len(block) for block in blocks)
    if n:
        dataset.set_extent((n,))
        file_type, start = dataset.get_type(), 0
        for block in blocks:
            if not len(block):
                continue
            space = dataset.get_space()
            space.select_hyperslab((start,), (len(block),))
            dataset.write(h5s.create_simple((len(block),)), space, block, mtype=file_type)
            start += len(block)
    h5a.open(dataset, b"NROWS").write(np.array(n, dtype=np.int64))


def _write_string_attribute(node: Any, name: str, value: str) -> None:
    """A string attribute as PyTables writes one: UTF-8, null-terminated, scalar (an empty
    string: a null dataspace); replaces one of the same name."""
    from h5py import h5a, h5s, h5t

    data = value.encode("utf-8")
    kind = h5t.C_S1.copy()
    kind.set_size(max(1, len(data)))
    kind.set_strpad(h5t.STR_NULLTERM)
    kind.set_cset(h5t.CSET_UTF8)
    space = h5s.create(h5s.SCALAR if data else h5s.NULL)
    if h5a.exists(node, name.encode()):
        h5a.delete(node, name.encode())
    attribute = h5a.create(node, name.encode(), kind, space)
    if data:
        attribute.write(np.array(data, dtype=f"S{len(data)}"), mtype=kind)


@contextmanager
def open_output(output: str | Path | HDF5Image) -> Iterator[Any]:
    """Open an HDF5 output to add to it: an :class:`HDF5Image`, or a file (mode "a")."""
    if isinstance(output, HDF5Image):
        yield output.handle()
        return
    import tables

    with tables.open_file(str(output), mode="a") as handle:
        yield handle
