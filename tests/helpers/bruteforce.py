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


# --- drift mode ---------------------------------------------------------------------------


def coarse_peak(t_lst, int_lst, t_magic, int_magic, n_lst, n_magic, first, width, n_bins,
                min_pairs):
    """All differences of the brightest events, the two adjacent bins with the most; their
    (LST time, difference) pairs, sorted; None when that peak has fewer than min_pairs or
    than twice the most of two adjacent bins not within two bins of it."""
    tl = t_lst[np.argsort(int_lst)[::-1][:n_lst]]
    tm = t_magic[np.argsort(int_magic)[::-1][:n_magic]]
    d = tm[np.newaxis, :] - tl[:, np.newaxis]
    t = np.broadcast_to(tl[:, np.newaxis], d.shape)
    b = np.floor((d - first) / width).astype(np.int64)
    counts = np.zeros(n_bins, dtype=np.int64)
    for i in b.ravel().tolist():
        if 0 <= i < n_bins:
            counts[i] += 1
    pairs = counts[:-1] + counts[1:]
    best = int(np.argmax(pairs))
    others = [pairs[i] for i in range(len(pairs)) if abs(i - best) > 2]
    if pairs[best] < min_pairs or pairs[best] < 2 * max(others, default=0):
        return None
    keep = (b == best) | (b == best + 1)
    return sorted(zip(t[keep].tolist(), d[keep].tolist(), strict=True))


def near_pairs(t_lst, t_magic, model, tolerance):
    """N×M mask of |t_M - t_L - rint(model(t_L))| <= tolerance: sorted (LST, MAGIC) indices."""
    corrected = t_lst + np.rint(model(t_lst)).astype(np.int64)
    mask = np.abs(t_magic[np.newaxis, :] - corrected[:, np.newaxis]) <= tolerance
    return sorted(zip(*(a.tolist() for a in np.nonzero(mask)), strict=True))


def slice_peaks(slice_index, residual, half_width, tolerance, min_pairs):
    """Per slice: count within ±half_width of each residual, the centre as the median of the
    residuals reaching the most, the slice kept when its peak passes min_pairs and twice the
    even background; the kept candidates (bool)."""
    keep = np.zeros(len(residual), dtype=bool)
    for s in np.unique(slice_index):
        members = np.flatnonzero(slice_index == s)
        r = residual[members]
        counts = np.array([np.count_nonzero(np.abs(r - x) <= half_width) for x in r])
        centre = np.median(r[counts == counts.max()])
        background = len(r) * (2 * half_width + 1) / (2 * tolerance + 1)
        if counts.max() >= min_pairs and counts.max() >= 2 * background:
            keep[members] = np.abs(r - centre) <= half_width
    return keep
