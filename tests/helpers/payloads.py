"""Pickled payloads planted in input files, as an attacker would with PyTables.

PyTables stores a Python object given as an attribute value as a pickle and
unpickles it when the attribute is read; the :class:`Payload` pickle creates
a marker file when it is unpickled.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: Name of the planted attribute on every node.
ATTRIBUTE = "lmcoinc_payload"


class Payload:
    """An object whose unpickling creates (opens for writing) the file ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant(path: Path, marker: Path) -> list[str]:
    """Put a payload on every node of an HDF5 file (root, groups, tables) and, per table,
    in the unit attribute of a column without unit (``CTAFIELD_<i>_UNIT``) and in
    PyTables' fill value of its first column (``FIELD_0_FILL``).

    Returns the places ("node:attribute").
    """
    import tables

    places = []
    with tables.open_file(str(path), mode="a") as handle:
        for node in handle.walk_nodes("/"):
            node._v_attrs[ATTRIBUTE] = Payload(marker)
            places.append(f"{node._v_pathname}:{ATTRIBUTE}")
            if isinstance(node, tables.Table):
                names = node._v_attrs._f_list("user")
                free = next(i for i in range(len(node.colnames))
                            if f"CTAFIELD_{i}_UNIT" not in names)
                for attr in (f"CTAFIELD_{free}_UNIT", "FIELD_0_FILL"):
                    node._v_attrs[attr] = Payload(marker)
                    places.append(f"{node._v_pathname}:{attr}")
    return places


def poisoned_copy(source: Path, target: Path, marker: Path) -> list[str]:
    """Copy a file or directory tree and plant payloads in every HDF5 file of it."""
    if source.is_dir():
        shutil.copytree(source, target)
        files = sorted(target.rglob("*.h5"))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        files = [target]
    return [f"{p.name}{place}" for p in files for place in plant(p, marker)]
