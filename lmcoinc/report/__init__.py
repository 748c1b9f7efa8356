"""``lmcoinc report``: plots and one HTML page of an output directory of ``run`` or ``batch``.

:func:`make_report` reads the outputs (:mod:`.data`), draws the figures
(:mod:`.plots`, matplotlib with the Agg canvas) and writes
``OUT/report/index.html``, a self-contained page with the figures embedded,
and the figures as PNG files beside it, all atomically. matplotlib (the
``report`` extra) is imported only here, never on the ``run`` path.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["MISSING_MATPLOTLIB", "make_report", "require_matplotlib"]

MISSING_MATPLOTLIB = "lmcoinc report needs matplotlib: pip install 'lmcoinc[report]'"


def require_matplotlib() -> None:
    """Check that the report can be drawn (before a command does its other work).

    Raises
    ------
    MissingPackageError
        If matplotlib (the ``report`` extra) is not installed.
    """
    from ..errors import MissingPackageError

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingPackageError(MISSING_MATPLOTLIB) from None


def make_report(output_dir: str | Path, report_dir: str | Path | None = None) -> Path:
    """Write the report of an output directory.

    Parameters
    ----------
    output_dir : str or pathlib.Path
        An output directory of ``lmcoinc run`` or ``lmcoinc batch``.
    report_dir : str or pathlib.Path, optional
        Where to write (default ``output_dir/report``).

    Returns
    -------
    pathlib.Path
        The page, ``report_dir/index.html``.

    Raises
    ------
    ReportInputError
        If the directory holds no readable lmcoinc output.
    OutputError
        If the report cannot be written.
    MissingPackageError
        If matplotlib (the ``report`` extra) is not installed.
    """
    require_matplotlib()
    from ..errors import OutputError
    from ..io.atomic import atomic_outputs, write_error_text
    from . import plots
    from .data import load_output, telescope_rows
    from .page import page_html

    data = load_output(output_dir)
    report_dir = Path(report_dir) if report_dir is not None else data.output_dir / "report"
    rows = telescope_rows(data)
    night = {}
    if not rows.is_empty():
        night = {f"night_{name}.png": draw(rows) for name, draw in (
            ("offsets", plots.night_offsets_png), ("pairs", plots.night_pairs_png),
            ("rates", plots.night_rates_png), ("quality", plots.night_quality_png))}
    canvas = plots.ProfileCanvas()
    profiles = {s.stem: canvas.png(s) for s in data.subruns if s.feature is not None}
    files = {**night, **{f"profile_{stem}.png": png for stem, png in profiles.items()}}
    html = page_html(data, rows, night, profiles).encode()
    finals = {name: report_dir / name for name in [*files, "index.html"]}
    with atomic_outputs(finals) as temps:
        try:
            for name, content in [*files.items(), ("index.html", html)]:
                temps[name].write_bytes(content)
        except OSError as err:
            raise OutputError(f"{report_dir}: cannot write ({write_error_text(err)})") from None
    for stale in report_dir.glob("*.png"):
        if stale.name not in files:
            stale.unlink()
    return finals["index.html"]
