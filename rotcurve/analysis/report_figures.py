"""Deprecated alias of :mod:`rotcurve.reports.figures` (the report's summary figures); it goes in the next release."""

from __future__ import annotations

import warnings

from rotcurve.reports.figures import (
    correlation_figure,
    error_by_radius_figure,
    training_history_figure,
    validity_figure,
)

warnings.warn(
    "rotcurve.analysis.report_figures moved to rotcurve.reports.figures; import from rotcurve.reports.figures "
    "instead (the old path goes in the next release)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "training_history_figure",
    "correlation_figure",
    "error_by_radius_figure",
    "validity_figure",
]
