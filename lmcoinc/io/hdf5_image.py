"""HDF5 outputs built in memory and written to disk with checked writes.

PyTables ignores what HDF5's flush and close return, and HDF5 defers most
writes to them: on a full disk, over a quota or the file-size limit, a file
written with PyTables ends truncated or with holes that read back as zeros,
and every call has succeeded (measured: a 0.6 MB output on a 0.3 MB file
system). An :class:`HDF5Image` is built with HDF5's in-memory (core) driver,
by one writer after another (:func:`open_output`), and :meth:`HDF5Image.save`
writes its bytes with plain writes whose errors are raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["HDF5Image", "open_output"]


class HDF5Image:
    """An HDF5 file in memory, for the output ``path`` (nothing is written there before
    :meth:`save`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.image: bytes | None = None

    @contextmanager
    def open(self) -> Iterator[Any]:
        """The file as a PyTables ``File`` (new or as left by the last writer); kept on exit."""
        import tables

        kwargs: dict[str, Any] = {"driver": "H5FD_CORE", "driver_core_backing_store": 0}
        if self.image is not None:
            kwargs["driver_core_image"] = self.image
        handle = tables.open_file(str(self.path), mode="a", **kwargs)
        try:
            yield handle
            self.image = handle.get_file_image()
        finally:
            handle.close()

    def save(self) -> None:
        """Write the file to :attr:`path`.

        Raises
        ------
        OSError
            If it cannot be written (no space left on device, ...).
        """
        if self.image is None:
            raise RuntimeError(f"{self.path}: nothing was written")
        with open(self.path, "wb") as out:
            out.write(self.image)


@contextmanager
def open_output(output: str | Path | HDF5Image) -> Iterator[Any]:
    """Open an HDF5 output to add to it: an :class:`HDF5Image`, or a file (mode "a")."""
    if isinstance(output, HDF5Image):
        with output.open() as handle:
            yield handle
        return
    import tables

    with tables.open_file(str(output), mode="a") as handle:
        yield handle
