"""Copy the DL1 images of the stereo events to the output (``save_images``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from ..errors import InvalidFileError
from .hdf5 import attributes, has_node, open_hdf5, read_table
from .hdf5_image import HDF5Image, open_output
from .lst import LST_IMAGES_KEY
from .magic import MAGIC_IMAGES_KEY

__all__ = ["copy_images", "select_rows"]

#: The filters of lstchain's image tables.
_FILTERS = {"complevel": 1, "complib": "blosc:zstd", "fletcher32": True, "bitshuffle": False}


def select_rows(obs_id: np.ndarray, event_id: np.ndarray, keys: pl.DataFrame) -> np.ndarray:
    """Indices of the rows whose (obs_id, event_id) is in ``keys``, in row order."""
    rows = pl.DataFrame({"obs_id": obs_id, "event_id": event_id}).with_row_index("row")
    keys = keys.select(pl.col("obs_id").cast(pl.Float64), pl.col("event_id").cast(pl.Float64))
    rows = rows.with_columns(pl.col("obs_id", "event_id").cast(pl.Float64))
    return rows.join(keys.unique(), on=["obs_id", "event_id"], how="semi", maintain_order="left")[
        "row"
    ].to_numpy()


def _image_rows(
    path: Path, key: str, keys: pl.DataFrame, tel_id: int | None
) -> tuple[np.ndarray, dict]:
    """The image rows of ``keys`` (of ``tel_id`` if given) in a file, and the table's attributes."""
    with open_hdf5(path) as handle:
        if not has_node(handle, key):
            raise InvalidFileError(path, f"no image table {key} (needed by save_images)")
        index_columns = ["obs_id", "event_id"] + (["tel_id"] if tel_id is not None else [])
        ids = read_table(handle, key, columns=index_columns)
        rows = select_rows(ids["obs_id"], ids["event_id"], keys)
        if tel_id is not None:
            rows = rows[ids["tel_id"][rows] == tel_id]
        data = read_table(handle, key, rows=rows)
        return data, attributes(handle[key])


def copy_images(
    output_file: Path | HDF5Image,
    events: pl.DataFrame,
    lst_file: Path,
    magic_files: list[Path],
    tel_ids: dict[str, int],
) -> None:
    """Write ``/events/dl1/image_{tel_id}`` for LST-1, MAGIC-I and MAGIC-II.

    Image rows are those whose (obs_id, event_id) is an image of a stereo
    event of that telescope, in input order; compressed like lstchain's.

    Raises
    ------
    InvalidFileError
        If an input has no image table or it cannot be read.
    """
    import tables

    plan = [("LST-1", [lst_file], LST_IMAGES_KEY, "lst")]
    plan += [(name, magic_files, MAGIC_IMAGES_KEY, "magic") for name in ("MAGIC-I", "MAGIC-II")]
    with open_output(output_file) as out:
        for name, files, key, tag in plan:
            tel_id = tel_ids[name]
            keys = events.filter(pl.col("tel_id") == tel_id).select(
                pl.col(f"obs_id_{tag}").alias("obs_id"), pl.col(f"event_id_{tag}").alias("event_id")
            )
            chunks, attrs = [], {}
            for path in files:
                data, file_attrs = _image_rows(path, key, keys, None if tag == "lst" else tel_id)
                chunks.append(data)
                attrs = attrs or file_attrs
            table = out.create_table(
                "/events/dl1", f"image_{tel_id}", description=chunks[0].dtype,
                filters=tables.Filters(**_FILTERS), createparents=True,
                expectedrows=max(1, sum(len(c) for c in chunks)),
            )
            for chunk in chunks:
                table.append(chunk)
            for attr, value in attrs.items():
                table.attrs[attr] = value
