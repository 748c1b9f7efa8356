"""Numpy helpers shared by the stages."""

from __future__ import annotations

import numpy as np

__all__ = ["in_order"]


def in_order(values: np.ndarray) -> np.ndarray:
    """``values`` sorted, as ``np.sort`` sorts them; ``values`` themselves (not a copy)
    when they already are, as event times almost always are (checking costs ~1 % of the
    sort). The result must not be modified."""
    values = np.asarray(values)
    if values.ndim == 1 and (len(values) < 2 or bool(np.all(values[1:] >= values[:-1]))):
        return values
    return np.sort(values)
