"""What the report's sections write into: :class:`Builder` (figures, HTML parts, notes, warnings, timings)."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rotcurve.analysis.figures import save_figure
from rotcurve.reports.config import ReportConfig
from rotcurve.reports.html import Fragment, format_number, image, note

__all__ = ["Builder", "target_cell"]


class Builder:
    """Collects figures, HTML sections and metrics in the temporary report folder.

    Parameters
    ----------
    folder : Path
        The (temporary) report folder; figures go to ``folder / "figures"``.
    config : ReportConfig
    bar : tqdm progress bar
        Advanced once per :meth:`step`.
    """

    def __init__(self, folder: Path, config: ReportConfig, bar: Any) -> None:
        self.folder = folder
        self.figdir = folder / "figures"
        self.figdir.mkdir()
        self.config = config
        self.bar = bar
        self.body: list[str] = []
        self.notes: list[str] = []
        self.figures: dict[str, dict[str, str]] = {}
        self.timings: dict[str, float] = {}
        self.warnings: list[str] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step, advance the progress bar, and keep its warnings for the report."""
        import warnings

        self.bar.set_postfix_str(name)
        t = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield
        finally:
            self.timings[name] = round(time.perf_counter() - t, 3)
            self.bar.update()
        for w in caught:
            text = f"{name}: {w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}"
            if text not in self.warnings:
                self.warnings.append(text)

    def figure(self, name: str, fig: Any, caption: str) -> str:
        """Save ``fig`` as ``figures/NAME.png`` and ``.pdf``; the embedded PNG with its caption as HTML."""
        # one layout pass for both files (what bbox_inches="tight" would do twice)
        fig.draw_without_rendering()
        bbox = fig.get_tightbbox().padded(0.1)
        png = save_figure(fig, self.figdir / f"{name}.png", dpi=self.config.dpi, bbox_inches=bbox)
        save_figure(fig, self.figdir / f"{name}.pdf", bbox_inches=bbox)
        self.figures[name] = {"png": f"figures/{name}.png", "pdf": f"figures/{name}.pdf", "caption": caption}
        return image(png.read_bytes(), caption=caption, alt=name)

    def note(self, text: str) -> str:
        """A note for the page, kept in ``metrics.json`` ``notes`` too."""
        self.notes.append(text)
        return note(text)


def target_cell(value: Any, target: float, *, below: bool = False) -> Any:
    """A table cell: ``value`` marked met or missed against ``target`` (``<=`` it with ``below``)."""
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    met = float(value) <= target if below else float(value) >= target
    cls, word = ("pass", "met") if met else ("fail", "missed")
    sign = "≤" if below else "≥"
    return Fragment(f'<span class="{cls}">{format_number(value)} ({word}; target {sign} {target:g})</span>')
