"""What a correct coincidence should find in the simulated files."""

from __future__ import annotations

import numpy as np

from .events import EventStream
from .lst import LstTable

__all__ = ["count_common"]


def count_common(stream: EventStream, lst: LstTable) -> int:
    """Number of showers with a usable LST-1 row and a row in at least one MAGIC file.

    A stereo event loses its image in at most one telescope, so every
    accepted MAGIC stereo trigger has a row in at least one file.
    """
    seen = np.zeros(stream.shower_log_size.size, dtype=bool)
    seen[stream.magic_shower] = True
    return int(seen[lst.usable_showers].sum())
