"""The report's HTML page: one self-contained file, the figures embedded as base64 PNG."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

import polars as pl

from .data import ReportData

__all__ = ["page_html"]

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; background: #fff; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #eee; } td.text { text-align: left; }
.grid { display: flex; flex-wrap: wrap; gap: 6px; }
.grid figure { margin: 0; } img { max-width: 100%; }
.bad { color: #a00; }
"""

#: Per-subrun table: (header, feature column, format).
_COLUMNS = (
    ("offset (µs)", "average_offset", ".3f"),
    ("pre-offset (µs)", "pre_offset", ".1f"),
    ("pairs", "n_coincidence", "d"),
    ("MAGIC events", "n_events_magic", "d"),
    ("fraction", "fraction", ".3f"),
    ("accidental", "accidental", ".1f"),
    ("accidental (side bands)", "accidental_sideband", ".1f"),
    ("purity", "purity", ".4f"),
    ("clock offset (µs)", "clock_offset", ".3f"),
    ("effective time (s)", "effective_time_s", ".3f"),
)


def _cell(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "<td></td>"
    return f"<td>{format(value, spec)}</td>"


def _table(headers: Iterable[str], body: Iterable[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _counts(data: ReportData) -> str:
    statuses: dict[str, int] = {}
    for subrun in data.subruns:
        statuses[subrun.status] = statuses.get(subrun.status, 0) + 1
    return ", ".join(f"{n} {escape(s)}" for s, n in statuses.items())


def _not_ok(data: ReportData) -> str:
    bad = [s for s in data.subruns if s.status not in ("ok", "skipped")]
    if not bad:
        return "<p>All subruns have outputs.</p>"
    body = (f"<tr><td>{s.obs_id}</td><td>{s.subrun}</td><td class='text bad'>{escape(s.status)}"
            f"</td><td class='text'>{escape(s.error or '')}</td></tr>" for s in bad)
    return _table(["obs_id", "subrun", "status", "error"], body)


def _has_steps(rows: pl.DataFrame) -> bool:
    return "n_offset_steps" in rows.columns and bool(rows["n_offset_steps"].fill_null(0).sum())


def _subrun_table(rows: pl.DataFrame) -> str:
    columns = [c for c in _COLUMNS if c[1] in rows.columns]
    if _has_steps(rows):  # the column only when a subrun has a step: a mark, not a zero
        columns.append(("clock steps", "n_offset_steps", "d"))
    body = []
    for row in rows.sort("obs_id", "subrun", "tel_id").iter_rows(named=True):
        cells = "".join(_cell(row[name], spec) for _, name, spec in columns)
        body.append(f"<tr><td>{row['obs_id']}</td><td>{row['subrun']}</td>"
                    f"<td>{row['tel_id']}</td>{cells}</tr>")
    return _table(["obs_id", "subrun", "tel"] + [c[0] for c in columns], body)


def _steps(data: ReportData, rows: pl.DataFrame) -> str:
    """The subruns whose clock offset steps within them (empty when none)."""
    if rows.is_empty() or not _has_steps(rows):
        return ""
    body = []
    for subrun in data.subruns:
        if not subrun.n_offset_steps:
            continue
        segments = subrun.offset_segments
        if segments is not None and "step_us" in segments.columns:
            found = "; ".join(f"tel {t}: {size:+.3f} µs at {start:.3f}" for t, start, size in
                              segments.filter(pl.col("segment") > 0)
                              .select("tel_id", "start", "step_us").iter_rows())
            how = "fitted on each side (offset_model: drift)"
        else:
            found = f"{subrun.n_offset_steps} (see the log)"
            how = "<span class='bad'>one offset: the pairs beyond a step are lost; " \
                  "try offset_model: drift</span>"
        body.append(f"<tr><td>{subrun.obs_id}</td><td>{subrun.subrun}</td>"
                    f"<td class='text'>{escape(found)}</td><td class='text'>{how}</td></tr>")
    return ("<h2>Clock steps within a subrun</h2>"
            + _table(["obs_id", "subrun", "steps (UNIX s)", "offset model"], body))


def _totals(rows: pl.DataFrame) -> str:
    if rows.is_empty():
        return ""
    pairs = int(rows["n_coincidence"].sum())
    text = f"{pairs} pairs"
    if "accidental" in rows.columns:
        accidental = float(rows["accidental"].sum())
        purity = 1 - accidental / pairs if pairs else float("nan")
        text += f", {accidental:.1f} expected accidental (purity {purity:.4f})"
    if "effective_time_s" in rows.columns:
        live = rows.unique(["obs_id", "subrun"])["effective_time_s"].sum()
        text += f"; effective time {live:.1f} s"
    return f"<p>All telescopes: {text}.</p>"


def page_html(
    data: ReportData, rows: pl.DataFrame, night: Mapping[str, bytes],
    profiles: Mapping[str, bytes],
) -> str:
    """The page: night figures, subruns that are not ok or have clock steps, the per-subrun
    table and profiles.

    Parameters
    ----------
    data : ReportData
        What was read.
    rows : polars.DataFrame
        :func:`lmcoinc.report.data.telescope_rows`.
    night : mapping
        Night figure name → PNG.
    profiles : mapping
        Subrun stem → profile PNG.
    """
    figures = "".join(f"<figure>{_img(png, name)}</figure>" for name, png in night.items())
    thumbs = "".join(f"<figure>{_img(png, stem)}</figure>" for stem, png in profiles.items())
    title = f"lmcoinc report: {escape(data.output_dir.name)}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_STYLE}</style></head><body>
<h1>{title}</h1>
<p>{len(data.subruns)} subruns: {_counts(data)}.</p>
{_totals(rows)}
<h2>Night</h2><div class="grid">{figures}</div>
<h2>Subruns without output</h2>{_not_ok(data)}{_steps(data, rows)}
<h2>Per subrun and MAGIC telescope</h2>
<p>purity = 1 − accidental / pairs; accidental: expected accidental pairs from the rates
(and from the profile's side bands); effective time: when both systems could record.</p>
{_subrun_table(rows) if not rows.is_empty() else ""}
<h2>Offset profiles</h2><div class="grid">{thumbs}</div>
</body></html>
"""
