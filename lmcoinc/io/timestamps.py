"""Exact int64 nanosecond timestamps.

LST-1 stores its timestamps as float64 UNIX seconds, whose spacing near
1.7e9 s is 238 ns: the value that was meant is the shortest decimal that
round-trips to the float (what ``str(x)`` prints). The reference converts it
with ``Decimal(str(x)) * 10**9``; :func:`seconds_to_ns` computes the same
integers for whole columns at once: for UNIX times from 2004 to 2242 (2**30 to
2**33 s) with exact float64 arithmetic (:func:`_shortest_ns`), for any
other value through the shortest decimal text.
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


#: The range of seconds of :func:`_shortest_ns`: a spacing of 2**-22 to 2**-20 s.
_FAST_RANGE = (2.0**30, 2.0**33)
_MAX_DIGITS = 7  # fractional digits that always suffice in that range (10**-7 < 2**-22)
_FEW = 64  # values converted one by one with Decimal
_POWERS_OF_TWO = np.array([2.0**30, 2.0**31, 2.0**32])


def _shortest_ns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int64 ns of the shortest round-trip decimal of each ``x`` within :data:`_FAST_RANGE`,
    and where it was decided (elsewhere: two decimals equally close, left to the text).

    ``x = whole + frac`` exactly; ``frac * 10**k`` is exact (``frac`` has at most 22
    fractional bits, times 10**k < 2**53), and so are the distances of the integers
    around it to it. The shortest decimal has the fewest fractional digits ``k``
    whose nearest integer ``F`` rounds back to ``x``: within half the gap to the
    neighbouring floats (``x``'s own rounding interval, its ends included when
    ``x``'s last mantissa bit is 0, as round-half-to-even parses); of two such
    ``F``, the closer. A decimal of ``k`` digits is one of ``k + 1``: ``k`` goes
    down from :data:`_MAX_DIGITS` over the values that still have one.
    """
    whole = np.floor(x)
    frac = x - whole
    half = np.spacing(x) / 2  # half the gap to the neighbouring floats: the same both sides
    lopsided = np.isin(x, _POWERS_OF_TWO)  # but below a power of two: left to the text
    even = (x.view(np.int64) & 1) == 0
    ns = np.zeros(len(x), dtype=np.int64)
    decided = np.zeros(len(x), dtype=bool)
    at = np.arange(len(x))  # the values with a decimal of k + 1 digits
    for k in range(_MAX_DIGITS, -1, -1):
        scale = 10.0**k
        every = len(at) == len(x)
        y = (frac if every else frac[at]) * scale
        lo, hi = np.floor(y), np.ceil(y)
        d_lo, d_hi = y - lo, hi - y  # exact distances (>= 0)
        bound = (half if every else half[at]) * scale  # exact (a power of 2 times 10**k)
        tied = even if every else even[at]
        ok_lo = (d_lo < bound) | (tied & (d_lo == bound))
        ok_hi = (d_hi < bound) | (tied & (d_hi == bound))
        found = ok_lo | ok_hi
        digits = np.where(ok_hi & (~ok_lo | (d_hi < d_lo)), hi, lo)[found]
        at = at[found]
        ns[at] = whole[at].astype(np.int64) * _NS_PER_S + digits.astype(np.int64) * 10 ** (9 - k)
        decided[at] = ~(ok_lo & ok_hi & (d_lo == d_hi))[found]
        if len(at) == 0:
            break
    decided &= ~lopsided
    return ns, decided


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
    values = np.asarray(seconds.to_numpy() if isinstance(seconds, pl.Series) else seconds,
                        dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("timestamps must be finite")
    fast = (values >= _FAST_RANGE[0]) & (values < _FAST_RANGE[1])
    if not fast.all():
        out = np.empty(len(values), dtype=np.int64)
        out[~fast] = _text_ns(pl.Series("t", values[~fast]))
    out_fast, decided = _shortest_ns(values[fast])
    if fast.all():
        out = out_fast
    else:
        out[fast] = out_fast
    if not decided.all():  # two shortest decimals equally close: as the text says
        where = np.flatnonzero(fast)[~decided]
        out[where] = _text_ns(pl.Series("t", values[where]))
    return out


def _text_ns(series: pl.Series) -> np.ndarray:
    """:func:`seconds_to_ns` through the shortest decimal text of each value."""
    if series.is_null().any():
        raise ValueError("timestamps must be finite")
    if series.len() <= _FEW:  # the definition itself, faster than a polars pipeline
        return seconds_to_ns_reference(series.to_numpy())
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
