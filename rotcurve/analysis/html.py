"""Deprecated alias of :mod:`rotcurve.reports.html` (self-contained HTML pages); it goes in the next release."""

from __future__ import annotations

import warnings

from rotcurve.reports.html import (
    Fragment,
    definition_list,
    format_number,
    image,
    note,
    page,
    paragraph,
    section,
    table,
)

warnings.warn(
    "rotcurve.analysis.html moved to rotcurve.reports.html; import from rotcurve.reports.html instead "
    "(the old path goes in the next release)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "page",
    "section",
    "paragraph",
    "note",
    "table",
    "image",
    "definition_list",
    "format_number",
    "Fragment",
]
