"""The stored chunks of a table: where a fletcher32 checksum fails, whether the index is whole.

h5py reports a failed checksum without saying where, and reads a chunk that
a damaged index lacks as fill values without an error; these functions look
at the stored chunks themselves (direct chunk reads, the chunk index).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["damaged_chunk_index", "find_bad_chunk", "fletcher32", "stored_chunks"]


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


def stored_chunks(dsid: Any) -> Iterator[tuple[tuple[int, ...], int, bytes]]:
    """(offset, filter mask, bytes as stored) of each chunk of a chunked dataset (h5py's
    low-level ``DatasetID``), in the order of its index, not decompressed."""
    for index in range(dsid.get_num_chunks()):
        offset = dsid.get_chunk_info(index).chunk_offset
        yield (offset, *dsid.read_direct_chunk(offset))


def find_bad_chunk(dataset: Any) -> tuple[int, int] | None:
    """Rows (first, last) of the first stored chunk of a 1-D table whose checksum fails.

    None if the table has no fletcher32 filter or all its checksums are right.
    """
    if not dataset.fletcher32 or dataset.chunks is None or len(dataset.chunks) != 1:
        return None
    step, n_rows = int(dataset.chunks[0]), int(dataset.shape[0])
    try:
        for offset, _, chunk in stored_chunks(dataset.id):
            if not _checksum_ok(chunk):
                start = int(offset[0])
                return start, min(start + step, n_rows) - 1
    except Exception:  # noqa: BLE001 - no direct chunk access: no diagnosis
        return None
    return None


def damaged_chunk_index(node: Any) -> str:
    """What is wrong with the chunk index of a chunked 1-D table ("" if nothing).

    PyTables writes every chunk of a table. HDF5 reads a chunk that a
    damaged index lacks, or places at address 0, as fill values (rows of
    zeros) without an error; the index must list one stored chunk for each
    chunk of rows, within the file.
    """
    if node.chunks is None or node.shape[0] == 0:
        return ""
    step, dsid = node.chunks[0], node.id
    infos: list = []
    if hasattr(dsid, "chunk_iter"):  # HDF5 >= 1.14: one pass over the index
        dsid.chunk_iter(infos.append)
    else:
        infos = [dsid.get_chunk_info(i) for i in range(dsid.get_num_chunks())]
    expected = -(-node.shape[0] // step)  # a damaged shape can claim 10**18 rows
    end = node.file.id.get_filesize()
    if len(infos) != expected or sorted(info.chunk_offset[0] for info in infos) != list(
        range(0, node.shape[0], step)
    ) or any(
        info.size <= 0 or info.byte_offset <= 0 or info.byte_offset + info.size > end
        for info in infos
    ):
        return f"its chunk index is damaged ({len(infos)} entries for {expected} chunks)"
    return ""
