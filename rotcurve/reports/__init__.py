"""The run report: one self-contained HTML file, every figure as PNG and PDF, and metrics.json.

>>> from rotcurve.reports import make_report
>>> res = make_report("runs/vae4", "curves.h5", "reports/vae4")     # doctest: +SKIP
"""

from __future__ import annotations

from rotcurve.reports.build import (
    REPORT_FORMAT,
    TARGETS,
    AnalysisSet,
    ReportConfig,
    ReportResult,
    analysis_set,
    corner_figure,
    make_report,
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
