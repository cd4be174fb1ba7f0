"""The run report: one self-contained HTML file, every figure as PNG and PDF, and metrics.json.

>>> from rotcurve.reports import make_report
>>> res = make_report("runs/vae4", "curves.h5", "reports/vae4")     # doctest: +SKIP
>>> res.metrics["latents"]["r2"]["Mh"]["nonlinear"]                   # doctest: +SKIP
0.995

What a report of a curve run holds (each number is also in ``metrics.json``):

* **training** -- epochs, best epoch and validation loss, time, from
  ``metrics.jsonl``, and the loss curves;
* **reconstruction** -- :meth:`rotcurve.run.Run.score` on the analysed
  curves (median / 95 % fractional error, RMS km/s, negative ELBO), the error
  per radius and a few curves with their reconstructions;
* **latents versus physics** (when the data hold the true parameters) --
  Pearson and Spearman correlations of each latent mean with ``log10`` Md,
  Rd, Mh, c; the held-out R^2 of predicting each from the latent means with a
  linear and a non-linear regressor; a corner plot of the parameters with
  the latent means; the posterior samples against the posterior means;
* **new curves** -- latents from the prior ``N(0, I)`` and from the
  Gaussian and Gaussian-mixture aggregates fitted to the training latents
  (:meth:`rotcurve.run.Run.aggregates`), decoded to km/s and judged against
  the analysed (held-out) curves: physical validity (fraction fitted by the
  disc + NFW model within 1 % and 2 % RMS), a classifier two-sample test
  (cross-validated AUC on ``log10 v``), per-radius quantile bands; the same
  validity and AUC for simulated-versus-simulated curves as the reference;
  encoded versus generated latents; latent interpolation and traversals.

An MNIST run gets the training and reconstruction parts, the encoder map and
decoder grid (2-D latent), sample grids, an interpolation strip,
reconstructions and a t-SNE of the latent means coloured by digit.

The analysed curves are the run's test split when ``data`` is the file the
run was trained on (same content fingerprint; the split is recomputed from
the run's seed and fractions), otherwise every row of ``data``; at most
``n_curves`` of them (a seeded subsample).  Generated samples use
``run.sample_latents(n_samples, seed=seed, source=...)``, so they are the
curves ``rotcurve sample --seed SEED --from SOURCE`` writes.  All other
random streams derive from ``seed`` through ``numpy.random.SeedSequence``.

Modules (one concept each):

* :mod:`~rotcurve.reports.config` -- :class:`ReportConfig`, :class:`ReportResult`,
  :data:`TARGETS`, the seeded streams;
* :mod:`~rotcurve.reports.analysis_set` -- :func:`analysis_set`: the held-out
  examples a report analyses;
* :mod:`~rotcurve.reports.sections` -- the sections, ``SECTIONS`` keyed by the
  run's data kind (:mod:`rotcurve.datasets.kinds`: curves, MNIST) after the
  shared training section;
* :mod:`~rotcurve.reports.builder` -- what the sections write into (figures,
  notes, warnings, timings);
* :mod:`~rotcurve.reports.metrics` -- the header and the JSON-ready values of
  ``metrics.json``;
* :mod:`~rotcurve.reports.html` -- the self-contained HTML page;
* :mod:`~rotcurve.reports.figures` -- the report's own small figures (training
  history, correlations, errors by radius, validity);
* :mod:`~rotcurve.reports.folder` -- the output check and the atomic commit of
  the report folder;
* :mod:`~rotcurve.reports.build` -- :func:`make_report`, :func:`corner_figure`.

The pure analysis these use is :mod:`rotcurve.analysis` (which never imports
this package); the report loads runs through :mod:`rotcurve.run`.
"""

from __future__ import annotations

from rotcurve.reports.analysis_set import AnalysisSet, analysis_set
from rotcurve.reports.build import corner_figure, make_report
from rotcurve.reports.config import REPORT_FORMAT, TARGETS, ReportConfig, ReportResult

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
