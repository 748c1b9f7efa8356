"""Brute-force definitions of each step, written as the reference computes them
(N×M matrices, astropy quantities); slow, for tests only."""

from __future__ import annotations

import numpy as np
from astropy import units as u


def pre_offset(t_lst, int_lst, t_magic, int_magic, w, n):
    """The reference's pre-offset search, in µs rounded to 0.1 (None: skip)."""
    w = u.Quantity(w, u.ns, dtype=int)
    tl = u.Quantity(t_lst, u.ns, dtype=int)
    tm = u.Quantity(t_magic, u.ns, dtype=int)
    mask_m = np.logical_and(tm >= tl[0] - w, tm <= tl[-1] + w)
    if np.count_nonzero(mask_m) == 0:
        return None
    idx_m = np.argsort(np.asarray(int_magic)[mask_m])[::-1][:n]
    mask_l = np.logical_and(tl >= tm[mask_m][0] - w, tl <= tm[mask_m][-1] + w)
    if np.count_nonzero(mask_l) == 0:
        return None
    idx_l = np.argsort(np.asarray(int_lst)[mask_l])[::-1][:n]
    comb = np.array(np.meshgrid(tm[mask_m][idx_m].value, tl[mask_l][idx_l].value)).reshape(2, -1)
    d = u.Quantity((comb[0] - comb[1]).round(), unit="ns", dtype=int)
    counts = np.array([np.sum(np.abs(d - x).value < w.value) for x in d])
    return d[counts == counts.max()].mean().to("us").round(1)


def scan_range(pre_us, w):
    """Offsets scanned around a pre-offset (Quantity in µs), int ns."""
    w = u.Quantity(w, u.ns, dtype=int)
    start, stop = pre_us - 3 * w, pre_us + 3 * w
    offsets = np.arange(
        start=start.to_value("ns").round(), stop=stop.to_value("ns").round(), step=100.0
    )
    return offsets.round().astype(np.int64)


def profile(t_lst, t_magic, offsets, w):
    """Number of pairs per offset with the N×M mask."""
    out = []
    for o in offsets:
        lo = t_lst + o - w
        hi = t_lst + o + w
        out.append(np.count_nonzero((t_magic >= lo[:, None]) & (t_magic <= hi[:, None])))
    return np.array(out, dtype=np.int64)


def average(offsets, counts, w):
    """The reference's weighted average offset (int ns)."""
    offsets = u.Quantity(offsets, u.ns, dtype=int)
    w = u.Quantity(w, u.ns, dtype=int)
    counts = np.asarray(counts)
    at_max = offsets[counts == counts.max()].mean()
    mask = np.logical_and(offsets >= np.round(at_max - 2 * w), offsets <= np.round(at_max + 2 * w))
    avg = np.average(offsets[mask], weights=counts[mask])
    return int(u.Quantity(avg.round(), dtype=int).value)


def pairs(t_lst, t_magic, offset, w):
    """np.where of the N×M window mask."""
    mask = (t_magic >= (t_lst + offset - w)[:, None]) & (t_magic <= (t_lst + offset + w)[:, None])
    return np.where(mask)
