"""Deprecated alias of :mod:`rotcurve.reports` (the run report); it goes in the next release."""

from __future__ import annotations

import warnings

from rotcurve.reports import (
    REPORT_FORMAT,
    TARGETS,
    AnalysisSet,
    ReportConfig,
    ReportResult,
    analysis_set,
    corner_figure,
    make_report,
)

warnings.warn(
    "rotcurve.analysis.report moved to rotcurve.reports; import from rotcurve.reports instead "
    "(the old path goes in the next release)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "ReportConfig",
    "ReportResult",
    "AnalysisSet",
    "make_report",
    "corner_figure",
    "analysis_set",
    "REPORT_FORMAT",
    "TARGETS",
]
