"""The report's figures (matplotlib, Agg canvas, no pyplot): per subrun and per night.

Each function takes the data of :mod:`lmcoinc.report.data` and returns PNG
bytes. Times on the night plots are UTC.
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..results import profile_column, tel_id_of
from .data import SubrunData
from .history import history_offset_us

__all__ = [
    "MODEL_COLUMNS",
    "ProfileCanvas",
    "night_offsets_png",
    "night_pairs_png",
    "night_quality_png",
    "night_rates_png",
]

#: Offsets of the history further than this from the found ones are not drawn (µs).
_HISTORY_SCALE_US = 50.0


def _png(fig: Figure) -> bytes:
    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _color(tel_id: int) -> str:
    # MAGIC-I and MAGIC-II (ids 2, 3 in the default config) get blue and orange
    return f"C{(int(tel_id) + 8) % 10}"


def _dashes(tel_id: int) -> str:
    # the telescopes' profiles often lie on top of each other
    return "-" if int(tel_id) % 2 == 0 else "--"


def _tel_label(tel_id: int) -> str:
    return f"tel {int(tel_id)}"


#: Columns of an offset model table (drift mode): per telescope and time slice.
MODEL_COLUMNS = ("tel_id", "time", "offset_us")


def _model_curves(
    model: pl.DataFrame | None,
) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    """Per telescope, the slice times (s from the first) and offsets (µs) of an offset model,
    one line per segment between clock steps."""
    if model is None or model.height == 0 or not set(MODEL_COLUMNS) <= set(model.columns):
        return {}
    t0 = float(model["time"].min())
    if "segment" not in model.columns:
        model = model.with_columns(segment=pl.lit(0))
    curves: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for (tel_id, _), group in model.sort("time").group_by("tel_id", "segment",
                                                          maintain_order=True):
        curves.setdefault(int(tel_id), []).append(
            (group["time"].to_numpy() - t0, group["offset_us"].to_numpy()))
    return curves


def _steps(subrun: SubrunData, t0: float) -> list[tuple[int, float, float]]:
    """The clock steps of the model: (tel_id, time in s from ``t0``, size in µs)."""
    segments = subrun.offset_segments
    if segments is None or "step_us" not in segments.columns:
        return []
    steps = segments.filter(pl.col("segment") > 0)
    return [(int(t), s - t0, size) for t, s, size in steps.select("tel_id", "start", "step_us")
            .iter_rows()]


def _draw_profile(ax, subrun: SubrunData) -> None:
    """The profile of each telescope, its average offset, window and pre-offset."""
    feature, profile = subrun.feature, subrun.profile
    for row in feature.iter_rows(named=True) if feature is not None else []:
        tel_id = tel_id_of(row["coincidence_id"])
        color, column = _color(tel_id), profile_column(tel_id)
        pre = row.get("pre_offset")
        if profile is not None and column in profile.columns:
            shown = profile.filter(pl.col(column).is_not_null())
            label = f"{_tel_label(tel_id)}: {row['average_offset']:.3f} µs"
            label += "" if pre is None else f" (pre {pre:.1f})"
            ax.step(shown["time_offset"].to_numpy(), shown[column].to_numpy(), where="mid",
                    color=color, ls=_dashes(tel_id), label=label)
        avg, w = row["average_offset"], row["window_half_width"] * 1e-3
        ax.axvline(avg, color=color, lw=1)
        ax.axvspan(avg - w, avg + w, color=color, alpha=0.12, lw=0)
        if pre is not None:
            ax.axvline(pre, color=color, ls=":", lw=1.5)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper right")


def _profile_axes(ax) -> None:
    ax.set_xlabel("offset MAGIC − LST-1 (µs); band: window, dotted: pre-offset", fontsize=8)
    ax.set_ylabel("pairs")
    ax.tick_params(labelsize=8)


class ProfileCanvas:
    """Draws the profile figure of one subrun after another on one reused figure.

    Creating a figure and its ticks costs more than drawing the few lines of a
    profile: a night of 120 subruns takes half the time this way.
    """

    def __init__(self) -> None:
        self.fig = Figure(figsize=(5.4, 3.2), dpi=80)
        self.fig.subplots_adjust(left=0.13, right=0.97, bottom=0.15, top=0.88)
        self.ax = self.fig.add_subplot()
        _profile_axes(self.ax)
        self.title = self.ax.set_title("", fontsize=9)

    def png(self, subrun: SubrunData) -> bytes:
        """The subrun's profile figure (beside it the offset model when it has one); the
        title marks a subrun with clock steps."""
        curves = _model_curves(subrun.offset_model)
        if curves:
            return _profile_with_model_png(subrun, curves)
        ax = self.ax
        for artist in [*ax.lines, *ax.patches]:
            artist.remove()
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        self.title.set_text(_title(subrun))
        _draw_profile(ax, subrun)
        ax.relim()
        ax.autoscale_view()
        return _png(self.fig)


def _title(subrun: SubrunData) -> str:
    """The subrun's name, and its clock steps when it has any."""
    n = subrun.n_offset_steps
    return subrun.stem if not n else f"{subrun.stem}: clock step{'s' * (n > 1)} ({n})"


def _profile_with_model_png(
    subrun: SubrunData, curves: dict[int, list[tuple[np.ndarray, np.ndarray]]]
) -> bytes:
    """The profile and, beside it, the offset model of drift mode (a line per segment
    between clock steps, each step a dotted line)."""
    fig = Figure(figsize=(9.0, 3.2), dpi=80)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.88, wspace=0.25)
    ax, model_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    _profile_axes(ax)
    ax.set_title(_title(subrun), fontsize=9)
    _draw_profile(ax, subrun)
    for tel_id, lines in curves.items():
        for k, (t, offset_us) in enumerate(lines):
            model_ax.plot(t, offset_us, marker=".", color=_color(tel_id), ls=_dashes(tel_id),
                          ms=3, label=_tel_label(tel_id) if k == 0 else None)
    for tel_id, at, size in _steps(subrun, float(subrun.offset_model["time"].min())):
        model_ax.axvline(at, color=_color(tel_id), ls=":", lw=1,
                         label=f"{_tel_label(tel_id)} step {size:+.3f} µs")
    model_ax.set_xlabel("time from the first slice (s)", fontsize=8)
    model_ax.set_ylabel("offset (µs)", fontsize=8)
    model_ax.set_title("offset model (drift mode)", fontsize=9)
    model_ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    model_ax.tick_params(labelsize=8)
    model_ax.legend(fontsize=7)
    return _png(fig)


def _night_figure(n_axes: int, title: str, rows: pl.DataFrame) -> tuple[Figure, list]:
    """Stacked axes sharing the time axis (UTC, at least two minutes wide)."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig = Figure(figsize=(9.0, 2.4 * n_axes + 0.6), dpi=80, layout="constrained")
    axes = fig.subplots(n_axes, 1, sharex=True, squeeze=False)[:, 0].tolist()
    fig.suptitle(title, fontsize=11)
    times = _times(rows)
    lo, hi = times.min(), times.max()
    pad = max((hi - lo) * 0.03, np.timedelta64(60, "s") - (hi - lo) / 2)
    axes[-1].set_xlim(lo - pad, hi + pad)
    locator = AutoDateLocator(minticks=4, maxticks=10)
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))
    axes[-1].set_xlabel(f"time (UTC) of the night of {str(lo)[:10]}")
    for ax in axes:
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax.grid(alpha=0.3)
    return fig, axes


def _times(frame: pl.DataFrame) -> np.ndarray:
    """The subrun's time (mean over its telescopes' ``unix_time``) as datetime64."""
    return (frame["subrun_time"].to_numpy() * 1e9).astype("datetime64[ns]")


def _per_tel(ax, rows: pl.DataFrame, column: str, label: str = "", **style) -> None:
    """One line of markers per telescope of ``column`` against time."""
    if column not in rows.columns:
        return
    for (tel_id,), group in rows.group_by("tel_id", maintain_order=True):
        group = group.filter(pl.col(column).is_not_null())
        ax.plot(_times(group), group[column].to_numpy(), color=_color(tel_id),
                label=f"{_tel_label(tel_id)}{label}", **{"marker": "o", "ms": 3, **style})


def _per_subrun(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per subrun (its first telescope's), for the subrun-wide columns."""
    return rows.unique(["obs_id", "subrun"], keep="first", maintain_order=True)


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")


def night_offsets_png(rows: pl.DataFrame) -> bytes:
    """Average offset (and clock offset, when known) per telescope vs time, with the history."""
    fig, (ax,) = _night_figure(1, "Offset MAGIC − LST-1 per subrun", rows)
    _per_tel(ax, rows, "average_offset")
    _per_tel(ax, rows, "clock_offset", " clock offset", marker="x", ls="none")
    history = history_offset_us(rows["subrun_time"].to_numpy())
    found = rows["average_offset"].to_numpy()
    near = np.abs(history - np.nanmedian(found)) < _HISTORY_SCALE_US
    if np.any(near):
        ax.plot(_times(rows)[near], history[near], color="k", ls=":", label="offset history")
    known = history[np.isfinite(history) & ~near]
    if known.size:
        ax.text(0.01, 0.03, f"offset history {known[0]:g} µs (off scale)", fontsize=8,
                transform=ax.transAxes)
    ax.set_ylabel("offset (µs)")
    _legend(ax)
    return _png(fig)


#: Styles of the subrun-wide series of a panel, in order.
_SUBRUN_STYLES = (
    {"color": "k", "marker": "o", "ms": 3},
    {"color": "0.6", "marker": ".", "ls": "none"},
)


def _panels_png(rows: pl.DataFrame, title: str,
                panels: list[tuple[str, list[tuple[str, str | None]]]]) -> bytes:
    """Stacked panels against time: per panel a y label and its series, (column, label);
    label None: one line per telescope, else one subrun-wide line with that label."""
    fig, axes = _night_figure(len(panels), title, rows)
    for ax, (ylabel, series) in zip(axes, panels, strict=True):
        wide = iter(_SUBRUN_STYLES)
        for column, label in series:
            if column not in rows.columns:
                continue
            if label is None:
                _per_tel(ax, rows, column)
            else:
                first = _per_subrun(rows)
                ax.plot(_times(first), first[column].to_numpy(), label=label, **next(wide))
        ax.set_ylabel(ylabel)
        _legend(ax)
    return _png(fig)


def night_pairs_png(rows: pl.DataFrame) -> bytes:
    """Coincident pairs and coincidence fraction per telescope vs time."""
    return _panels_png(rows, "Coincidences per subrun", [
        ("pairs", [("n_coincidence", None)]),
        ("pairs / MAGIC events", [("fraction", None)]),
    ])


def night_rates_png(rows: pl.DataFrame) -> bytes:
    """LST-1 rate (events after the cuts) and MAGIC rate per telescope vs time."""
    return _panels_png(rows, "Event rates per subrun", [
        ("LST-1 (Hz)", [("lst_rate_hz", "LST-1 after cuts")]),
        ("MAGIC (Hz)", [("magic_rate_hz", None)]),
    ])


def night_quality_png(rows: pl.DataFrame) -> bytes:
    """Purity (1 − accidental / pairs) per telescope and effective time vs time."""
    return _panels_png(rows, "Purity and effective time per subrun", [
        ("purity", [("purity", None)]),
        ("time (s)", [("effective_time_s", "effective (both live)"),
                      ("elapsed_time_s", "elapsed (both recording)")]),
    ])
