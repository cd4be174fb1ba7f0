"""Making rotation-curve data sets: parameter priors, the radius grid, batch generation.

* :mod:`rotcurve.generator.priors` -- :class:`ReferencePrior`,
  :class:`LogUniformPrior`, the :data:`PRIORS` registry, :func:`load_prior`.
* :mod:`rotcurve.generator.radii` -- :class:`RadiiSpec` and :func:`parse_radii`.
* :mod:`rotcurve.generator.batch` -- sharded, parallel, resumable generation
  (:func:`generate`).
* :mod:`rotcurve.generator.evaluation` -- curves for given parameter tables
  (:func:`evaluate`, :func:`evaluate_table`; ``rotcurve evaluate``).
"""

from __future__ import annotations

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
from rotcurve.generator.batch import generate
from rotcurve.generator.evaluation import evaluate, evaluate_table

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
    "generate",
    "evaluate",
    "evaluate_table",
]

