"""Analysis of trained models on plain numpy arrays: latents, sampling, validity, figures.

Nothing here imports torch, :mod:`rotcurve.run` or :mod:`rotcurve.reports`:
functions take latent means, parameters and curves as arrays, and figure functions that need a model take a ``decode``
callable.  Modules (one concept each):

* :mod:`~rotcurve.analysis.latents` -- :func:`correlations`,
  :func:`predictability` of the physical parameters from the latents;
* :mod:`~rotcurve.analysis.aggregate` -- :func:`fit_aggregate` and
  :data:`AGGREGATES`: prior / Gaussian / mixture samplers of new latents,
  saved as JSON (:func:`aggregate_from_dict`);
* :mod:`~rotcurve.analysis.fitting` -- :func:`fit_rotation_curves`: batched
  disc-plus-halo least-squares fits;
* :mod:`~rotcurve.analysis.validity` -- :func:`physical_validity` of
  generated curves;
* :mod:`~rotcurve.analysis.twosample` -- :func:`classifier_two_sample_test`;
* :mod:`~rotcurve.analysis.bands` -- :func:`quantile_bands`,
  :func:`compare_bands`, :func:`bands_figure`;
* :mod:`~rotcurve.analysis.figures` -- :func:`new_figure`, :func:`save_figure`;
* :mod:`~rotcurve.analysis.corner_plots` -- :func:`corner_plot`,
  :func:`corner_overlay`, :func:`corner_compare`;
* :mod:`~rotcurve.analysis.curve_plots` -- reconstructions, samples, latent
  interpolation and traversals of rotation curves;
* :mod:`~rotcurve.analysis.image_plots` -- MNIST views: encoder map, decoder
  grid, sample grid, interpolation strip, reconstructions, t-SNE.

The public names of these modules are importable from this package directly
(loaded on first use, so ``import rotcurve.analysis`` stays light).

The HTML report of a trained run (:func:`make_report` and friends, once
``rotcurve.analysis.report``, ``.html`` and ``.report_figures``) is
:mod:`rotcurve.reports`; the old names still work for one release with a
:class:`DeprecationWarning`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # latents
    "correlations": "latents",
    "predictability": "latents",
    "log10_params": "latents",
    "latent_names": "latents",
    "REGRESSORS": "latents",
    # aggregate
    "fit_aggregate": "aggregate",
    "aggregate_from_dict": "aggregate",
    "AGGREGATES": "aggregate",
    "LatentAggregate": "aggregate",
    # fitting / validity
    "fit_rotation_curves": "fitting",
    "CurveFit": "fitting",
    "physical_validity": "validity",
    "ValidityResult": "validity",
    # two-sample test
    "classifier_two_sample_test": "twosample",
    "C2STResult": "twosample",
    "CLASSIFIERS": "twosample",
    # bands
    "quantile_bands": "bands",
    "compare_bands": "bands",
    "bands_figure": "bands",
    # figures
    "new_figure": "figures",
    "save_figure": "figures",
    "corner_plot": "corner_plots",
    "corner_overlay": "corner_plots",
    "corner_compare": "corner_plots",
    "interpolate_latents": "curve_plots",
    "traverse_latents": "curve_plots",
    "reconstruction_figure": "curve_plots",
    "sampled_curves_figure": "curve_plots",
    "interpolation_figure": "curve_plots",
    "traversal_figure": "curve_plots",
    "latent_map_figure": "image_plots",
    "decoder_grid_figure": "image_plots",
    "image_grid_figure": "image_plots",
    "image_interpolation_figure": "image_plots",
    "image_reconstructions_figure": "image_plots",
    "tsne_figure": "image_plots",
}

__all__ = sorted(_EXPORTS)

# Deprecated (for one release): the run report moved to rotcurve.reports.
_MOVED_TO_REPORTS = ("make_report", "corner_figure", "analysis_set", "ReportConfig", "ReportResult")


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_REPORTS:
        import warnings

        warnings.warn(
            f"rotcurve.analysis.{name} moved to rotcurve.reports; use `from rotcurve.reports import {name}` "
            "(the old name goes in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("rotcurve.reports"), name)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rotcurve.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rotcurve.analysis.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_MOVED_TO_REPORTS))
