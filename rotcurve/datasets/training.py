"""Deprecated alias of :mod:`rotcurve.datasets.loading` (loading training data); it goes in the next release.

The module was renamed so that it is not mistaken for the :mod:`rotcurve.training`
package beside it.
"""

from __future__ import annotations

import warnings

from rotcurve.datasets.loading import (
    SPLIT_RULE,
    TrainingData,
    batches,
    load_training_data,
    resolve_device,
)

warnings.warn(
    "rotcurve.datasets.training moved to rotcurve.datasets.loading; import from "
    "rotcurve.datasets.loading (or rotcurve.datasets) instead (the old path goes in the next release)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["TrainingData", "load_training_data", "batches", "resolve_device", "SPLIT_RULE"]
