"""Copy the DL1 images of the stereo events to the output (``save_images``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from ..errors import InputError, MagicInputError
from .hdf5 import open_hdf5
from .lst import LST_IMAGES_KEY
from .magic import MAGIC_IMAGES_KEY

__all__ = ["copy_images", "select_rows"]


def select_rows(obs_id: np.ndarray, event_id: np.ndarray, keys: pl.DataFrame) -> np.ndarray:
    """Indices of the rows whose (obs_id, event_id) is in ``keys``, in row order."""
    rows = pl.DataFrame({"obs_id": obs_id, "event_id": event_id}).with_row_index("row")
    keys = keys.select(pl.col("obs_id").cast(pl.Float64), pl.col("event_id").cast(pl.Float64))
    rows = rows.with_columns(pl.col("obs_id", "event_id").cast(pl.Float64))
    return rows.join(keys.unique(), on=["obs_id", "event_id"], how="semi", maintain_order="left")[
        "row"
    ].to_numpy()


def _image_rows(path: Path, key: str, error, keys: pl.DataFrame, tel_id: int | None):
    with open_hdf5(path, error) as handle:
        if key not in handle:
            raise error(f"{path}: no image table {key} (needed by save_images)")
        node = handle.get_node(key)
        try:
            obs, evt = node.col("obs_id"), node.col("event_id")
            mask_tel = node.col("tel_id") == tel_id if tel_id is not None else None
            rows = select_rows(obs, evt, keys)
            if mask_tel is not None:
                rows = rows[mask_tel[rows]]
            data = node.read_coordinates(rows)
        except Exception as err:  # noqa: BLE001
            raise error(f"{path}: cannot read {key}: {err}") from None
        attrs = {n: node.attrs[n] for n in node.attrs._v_attrnamesuser}
        return data, node.description, attrs


def copy_images(
    output_file: Path,
    events: pl.DataFrame,
    lst_file: Path,
    magic_files: list[Path],
    tel_ids: dict[str, int],
) -> None:
    """Write ``/events/dl1/image_{tel_id}`` for LST-1, MAGIC-I and MAGIC-II.

    Image rows are those whose (obs_id, event_id) is an image of a stereo
    event of that telescope, in input order; compressed like lstchain's.
    """
    import tables

    filters = tables.Filters(complevel=1, complib="blosc:zstd", fletcher32=True, bitshuffle=False)
    plan = [("LST-1", [lst_file], LST_IMAGES_KEY, InputError, "lst")]
    plan += [(name, magic_files, MAGIC_IMAGES_KEY, MagicInputError, "magic")
             for name in ("MAGIC-I", "MAGIC-II")]
    with tables.open_file(str(output_file), mode="a") as out:
        for name, files, key, error, tag in plan:
            tel_id = tel_ids[name]
            keys = events.filter(pl.col("tel_id") == tel_id).select(
                pl.col(f"obs_id_{tag}").alias("obs_id"), pl.col(f"event_id_{tag}").alias("event_id")
            )
            chunks, description, attrs = [], None, {}
            for path in files:
                data, desc, file_attrs = _image_rows(
                    path, key, error, keys, None if tag == "lst" else tel_id
                )
                chunks.append(data)
                description, attrs = description or desc, attrs or file_attrs
            table = out.create_table(
                "/events/dl1", f"image_{tel_id}", description=description, filters=filters,
                createparents=True, expectedrows=max(1, sum(len(c) for c in chunks)),
            )
            for chunk in chunks:
                table.append(chunk)
            for attr, value in attrs.items():
                table.attrs[attr] = value
