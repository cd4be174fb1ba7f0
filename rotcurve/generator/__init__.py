"""Making rotation-curve data sets: parameter priors, the radius grid, batch generation.

* :mod:`rotcurve.generator.priors` -- :class:`ReferencePrior`,
  :class:`LogUniformPrior`, the :data:`PRIORS` registry, :func:`load_prior`.
* :mod:`rotcurve.generator.radii` -- :class:`RadiiSpec` and :func:`parse_radii`.
* :mod:`rotcurve.generator.batch` -- sharded, parallel, resumable generation
  (its public names are re-exported here lazily).
"""

from __future__ import annotations

import importlib
from typing import Any

from rotcurve.generator.priors import (
    PARAM_NAMES,
    PRIORS,
    LogUniformPrior,
    Prior,
    ReferencePrior,
    load_prior,
    prior_from_dict,
    resolve_prior,
)
from rotcurve.generator.radii import RadiiSpec, parse_radii, read_radii_file

__all__ = [
    "PARAM_NAMES",
    "PRIORS",
    "Prior",
    "ReferencePrior",
    "LogUniformPrior",
    "load_prior",
    "prior_from_dict",
    "resolve_prior",
    "RadiiSpec",
    "parse_radii",
    "read_radii_file",
]


def __getattr__(name: str) -> Any:
    # Generation (rotcurve.generator.batch) pulls in the physics and h5py; load it
    # only when one of its names is asked for.
    try:
        batch = importlib.import_module("rotcurve.generator.batch")
    except ModuleNotFoundError as exc:
        if exc.name != "rotcurve.generator.batch":
            raise
        raise AttributeError(f"module 'rotcurve.generator' has no attribute {name!r}") from None
    if name in getattr(batch, "__all__", ()):
        return getattr(batch, name)
    raise AttributeError(f"module 'rotcurve.generator' has no attribute {name!r}")
