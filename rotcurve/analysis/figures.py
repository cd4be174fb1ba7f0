"""Making and saving matplotlib figures without a screen.

Figures are built as :class:`matplotlib.figure.Figure` objects on the Agg
canvas directly, never through ``pyplot``: nothing global is touched (no
backend switch, no figure registry that leaks memory in long scripts), and it
works the same in scripts, tests and notebooks (where a returned Figure is
shown inline).  :func:`save_figure` writes PNG, PDF or SVG atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rotcurve.errors import ConfigError, OutputExistsError
from rotcurve.io.atomic import atomic_path

__all__ = ["new_figure", "save_figure", "FIGURE_FORMATS", "RADIUS_LABEL", "VELOCITY_LABEL"]

#: File formats :func:`save_figure` writes, by suffix.
FIGURE_FORMATS: tuple[str, ...] = ("png", "pdf", "svg")

#: Axis label of galactocentric radius.
RADIUS_LABEL = "radius $R$ [kpc]"
#: Axis label of circular velocity.
VELOCITY_LABEL = r"circular velocity $v_c$ [km s$^{-1}$]"


def new_figure(*, figsize: tuple[float, float] = (6.4, 4.8), dpi: int = 100) -> Any:
    """An empty :class:`~matplotlib.figure.Figure` attached to an Agg canvas.

    Parameters
    ----------
    figsize : (float, float), keyword-only
        Width and height in inches.
    dpi : int, keyword-only
        Dots per inch for raster output.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_figure(
    fig: Any, path: str | Path, *, dpi: int | None = None, overwrite: bool = True, bbox_inches: Any = "tight"
) -> Path:
    """Write ``fig`` to ``path`` atomically; the suffix picks the format.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Ends in ``.png``, ``.pdf`` or ``.svg``; its folder must exist.
    dpi : int, keyword-only
        Raster resolution (default: the figure's).
    overwrite : bool, keyword-only
        Replace an existing file (default) or raise :class:`OutputExistsError`.
    bbox_inches : "tight", None or matplotlib.transforms.Bbox, keyword-only
        The saved area: ``"tight"`` (default) crops to the drawn artists;
        passing a precomputed :class:`~matplotlib.transforms.Bbox` (inches)
        saves the same area without the extra layout pass of ``"tight"``
        (useful when one figure is saved in several formats).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ConfigError
        On an unsupported suffix.
    OutputExistsError
        If the file exists and ``overwrite`` is false.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise ConfigError(
            f"{path}: cannot tell the figure format from the suffix; use one of "
            + ", ".join("." + f for f in FIGURE_FORMATS)
        )
    if not overwrite and path.exists():
        raise OutputExistsError(f"{path} exists; remove it or allow overwriting")
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi if dpi is not None else "figure", bbox_inches=bbox_inches)
    except FileExistsError:
        raise OutputExistsError(f"{path} exists; remove it or allow overwriting") from None
    return path
