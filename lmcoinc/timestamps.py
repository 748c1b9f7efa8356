"""Exact int64 nanosecond timestamps.

LST-1 stores its timestamps as float64 UNIX seconds, whose spacing near
1.7e9 s is 238 ns: the value that was meant is the shortest decimal that
round-trips to the float (what ``str(x)`` prints). The reference converts it
with ``Decimal(str(x)) * 10**9``; :func:`seconds_to_ns` computes the same
integers for whole columns at once.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

__all__ = ["magic_ns", "ns_to_seconds", "seconds_to_ns", "seconds_to_ns_reference"]

_NS_PER_S = 1_000_000_000


def seconds_to_ns_reference(seconds: np.ndarray) -> np.ndarray:
    """Brute-force definition: ``int(Decimal(str(x)) * 10**9)`` per element."""
    return np.array([int(Decimal(str(float(x))) * _NS_PER_S) for x in seconds], dtype=np.int64)


def seconds_to_ns(seconds: np.ndarray | pl.Series) -> np.ndarray:
    """Convert float64 seconds to int64 ns via the shortest round-trip decimal.

    Equal to :func:`seconds_to_ns_reference` (digits beyond the ninth decimal
    are truncated towards zero, as ``int(Decimal)`` does).

    Parameters
    ----------
    seconds : array of float64
        Finite timestamps in seconds.

    Returns
    -------
    numpy.ndarray of int64
    """
    series = pl.Series("t", seconds, dtype=pl.Float64)
    if series.is_null().any() or not series.is_finite().all():
        raise ValueError("timestamps must be finite")
    # Polars formats floats with the shortest round-trip digits, positional
    # for ordinary magnitudes; the rare exponent form goes through Decimal.
    text = series.cast(pl.String)
    scientific = text.str.contains("e", literal=True)
    parts = text.str.strip_prefix("-").str.split_exact(".", 1)
    frame = pl.DataFrame({"neg": text.str.starts_with("-"), "p": parts}).unnest("p")
    whole = frame["field_0"].cast(pl.Int64, strict=False)
    frac = frame["field_1"].fill_null("").str.slice(0, 9).str.pad_end(9, "0").cast(pl.Int64)
    magnitude = whole * _NS_PER_S + frac
    ns = pl.select(pl.when(frame["neg"]).then(-magnitude).otherwise(magnitude)).to_series()
    out = ns.fill_null(0).to_numpy().astype(np.int64, copy=True)
    if scientific.any():
        idx = np.flatnonzero(scientific.to_numpy())
        out[idx] = seconds_to_ns_reference(series.to_numpy()[idx])
    return out


def magic_ns(time_sec: np.ndarray, time_nanosec: np.ndarray) -> np.ndarray:
    """MAGIC timestamps: ``time_sec * 10**9 + time_nanosec`` as int64."""
    return np.asarray(time_sec, dtype=np.int64) * _NS_PER_S + np.asarray(
        time_nanosec, dtype=np.int64
    )


def ns_to_seconds(ns: np.ndarray) -> np.ndarray:
    """int64 ns to float64 seconds as the reference does (``Quantity.to_value("s")``)."""
    return np.asarray(ns, dtype=np.int64).astype(np.float64) * 1e-09
