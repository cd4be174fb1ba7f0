"""Deprecated alias of :mod:`rotcurve.datasets.free_memory` (free memory of host and GPU); it goes in the next release."""

from __future__ import annotations

import warnings

from rotcurve.datasets.free_memory import (
    MEMORY_FRACTION,
    device_available_bytes,
    fits_in_memory,
    host_available_bytes,
)

warnings.warn(
    "rotcurve.datasets.memory moved to rotcurve.datasets.free_memory; import from "
    "rotcurve.datasets.free_memory instead (the old path goes in the next release)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["MEMORY_FRACTION", "host_available_bytes", "device_available_bytes", "fits_in_memory"]
