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
_MANTISSA = (1 << 52) - 1


def _shortest_ns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int64 ns of the shortest round-trip decimal of each ``x`` within :data:`_FAST_RANGE`,
    and where it was decided (elsewhere: two decimals equally close, left to the text).

    In integers: ``x = whole + m / 2**e`` (``e`` = 22, 21 or 20 fractional bits,
    by power of two), a decimal of ``k`` fractional digits ``F / 10**k``. The
    shortest decimal has the fewest digits ``k`` whose nearest ``F`` rounds back
    to ``x``: ``|F * 2**e - m * 10**k|`` at most ``10**k / 2`` (half the gap to
    the neighbouring floats; the ends included when ``x``'s last mantissa bit is
    0, as round-half-to-even parses). Below 7 digits the grid is coarser than
    that gap: one ``F`` at most. With 7 it is finer: the nearest of two or more
    (two equally near: left to the text). A decimal of ``k`` digits is one of
    ``k + 1``: ``k`` goes down over the values that still have one. A power of
    two, whose gap below is half the one above, is left to the text.
    """
    bits = x.view(np.int64)
    shift = 1075 - (bits >> 52)  # the fractional bits e of each value
    ns = np.empty(len(x), dtype=np.int64)
    decided = np.empty(len(x), dtype=bool)
    if len(x) and (shift == shift[0]).all():  # the usual case: one power of two
        ns[:], decided[:] = _shortest_in_binade(bits, int(shift[0]))
        return ns, decided
    for e in np.unique(shift):
        group = np.flatnonzero(shift == e)
        ns[group], decided[group] = _shortest_in_binade(bits[group], int(e))
    return ns, decided


def _shortest_in_binade(bits: np.ndarray, e: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_shortest_ns` of values (given as their bits) with ``e`` fractional bits."""
    m = bits & ((1 << e) - 1)
    odd = m & 1  # the last mantissa bit is 1: the interval's ends are excluded
    half, k = 1 << (e - 1), _MAX_DIGITS - 1
    digits, within = _nearest(m * 10**k, e, odd, k)
    rest = np.flatnonzero(~within)  # no decimal of 6 digits: the nearest of 7
    t = m[rest] * 10**_MAX_DIGITS + half
    frac = np.empty(len(bits), dtype=np.int64)
    frac[rest] = (t >> e) * 10 ** (9 - _MAX_DIGITS)
    decided = (bits & _MANTISSA) != 0  # not a power of two
    decided[rest] &= (t & ((1 << e) - 1)) != 0  # not halfway between two
    at = np.flatnonzero(within)
    frac[at] = digits[at] * 10 ** (9 - k)
    while len(at) and k > 0:
        k -= 1
        digits, within = _nearest(m[at] * 10**k, e, odd[at], k)
        at = at[within]
        frac[at] = digits[within] * 10 ** (9 - k)
    return ((bits & _MANTISSA | (1 << 52)) >> e) * _NS_PER_S + frac, decided


def _nearest(t: np.ndarray, e: int, odd: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The integer ``F`` nearest to ``t / 2**e`` (``t = m * 10**k``), and whether
    ``F / 10**k`` rounds back to the float (:func:`_shortest_ns`)."""
    digits = (t + (1 << (e - 1))) >> e
    twice = np.abs(t - (digits << e)) << 1
    return digits, twice + odd <= 10**k


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
    if fast.all():
        out, decided = _shortest_ns(values)
    else:
        out = np.empty(len(values), dtype=np.int64)
        out[~fast] = _text_ns(pl.Series("t", values[~fast]))
        out[fast], decided = _shortest_ns(values[fast])
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
