"""The "New curves" section of a curve report: latents from the prior and the aggregates, judged against data.

Latents from the Gaussian and Gaussian-mixture aggregates fitted to the
training latents (:meth:`rotcurve.run.Run.aggregates`; the chosen one is
``aggregate``, the default of ``rotcurve sample``) and, labelled as a
diagnostic, from the prior ``N(0, I)`` are decoded to km/s and judged against the analysed (held-out) curves:
physical validity (fraction fitted by the disc + NFW model within 1 % and
2 % RMS), a classifier two-sample test (cross-validated AUC on ``log10 v``),
per-radius quantile bands; the same validity and AUC for simulated-versus-
simulated curves as the reference; encoded versus generated latents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rotcurve.analysis.bands import bands_figure, compare_bands
from rotcurve.analysis.corner_plots import corner_compare
from rotcurve.analysis.curve_plots import sampled_curves_figure
from rotcurve.analysis.twosample import classifier_two_sample_test
from rotcurve.analysis.validity import physical_validity
from rotcurve.errors import DataError
from rotcurve.reports.analysis_set import AnalysisSet
from rotcurve.reports.builder import Builder, target_cell
from rotcurve.reports.config import MAX_CORNER_DIMS, TARGETS, ReportConfig, stream_seed
from rotcurve.reports.figures import validity_figure
from rotcurve.reports.html import paragraph, section, table

__all__ = ["sampling_section"]

_EXPLANATION = (
    "Valid within x %: fraction of curves that the four-parameter exponential disc + NFW halo model "
    "fits (least squares on ln v) with an RMS fractional residual ≤ x %. C2ST AUC: cross-validated "
    "ROC AUC of a classifier ({classifier}, {folds} folds) separating generated from "
    "simulated held-out curves (log10 v), 0.5 = indistinguishable (Lopez-Paz & Oquab 2017, "
    "'Revisiting classifier two-sample tests', ICLR); the reference row compares two halves of the "
    "simulated curves. Max band deviation: largest |q_gen / q_sim − 1| over radii and the 5, 16, 50, "
    "84, 95 % quantiles."
)


class _Judge:
    """Validity, two-sample test and bands with the settings of one report (seeded streams, the data's physics)."""

    def __init__(self, run: Any, cfg: ReportConfig) -> None:
        self._validity, self._c2st, self._bands = physical_validity, classifier_two_sample_test, compare_bands
        attrs = run.data.get("file_attrs", {})
        physics = {k: float(attrs[k]) for k in ("H0", "Delta") if k in attrs}
        self.validity_kw = dict(seed=stream_seed(cfg.seed, "validity"), n_jobs=cfg.n_jobs, **physics)
        self.c2st_kw = dict(seed=stream_seed(cfg.seed, "c2st"), folds=cfg.folds, classifier=cfg.classifier)

    def validity(self, v: np.ndarray, radii: np.ndarray) -> Any:
        """:func:`rotcurve.analysis.validity.physical_validity` of curves ``v`` (km/s) on ``radii``."""
        return self._validity(v, radii, **self.validity_kw)

    def c2st(self, a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
        """:func:`rotcurve.analysis.twosample.classifier_two_sample_test` of ``a`` against ``b``, as a dict."""
        return self._c2st(a, b, **self.c2st_kw).to_dict()

    def bands(self, v: np.ndarray, v_gen: np.ndarray) -> list[dict[str, Any]]:
        """:func:`rotcurve.analysis.bands.compare_bands` of ``v_gen`` against ``v``, as records."""
        return self._bands(v, v_gen).to_dict(orient="records")


def sampling_section(b: Builder, run: Any, aset: AnalysisSet, z: np.ndarray, cfg: ReportConfig,
                     metrics: dict[str, Any], progress: bool) -> None:
    """Steps "latent aggregates", "reference: simulated vs simulated" and "sample SOURCE" per source.

    Fills ``metrics["samples"]`` and appends the "New curves" section.
    """
    judge = _Judge(run, cfg)
    parts: list[str] = []
    sampling: dict[str, Any] = {"n_samples": cfg.n_samples, "seed": cfg.seed}
    metrics["samples"] = sampling

    with b.step("latent aggregates"):
        sources = [*_aggregate_parts(b, run, sampling, parts, progress), "prior"]

    with b.step("reference: simulated vs simulated"):
        reference, ref_rms = _reference(aset.x, run.radii, cfg, judge)
        sampling["reference_simulated"] = reference
        rms_sets = {"simulated (held-out)": ref_rms}

    rows = []
    chosen = sampling["aggregate_model"]["choice"] if sampling.get("aggregate_model") else None
    figs: list[str] = []
    for source in sources:
        with b.step(f"sample {source}"):
            row = _sample_source(b, run, aset, z, source, chosen, cfg, judge, sampling, rms_sets, figs)
        if row is not None:
            rows.append(row)
    if chosen and chosen in sampling:
        sampling["aggregate"] = {"kind": chosen, **sampling[chosen]}
    ref_fw = reference["validity"]["fraction_within"]
    ref_auc = reference["c2st_auc"]["auc"] if reference["c2st_auc"] else None
    rows.append(["simulated held-out (reference)", reference["validity"]["n"], ref_fw[repr(0.01)],
                 ref_fw[repr(0.02)], ref_auc if ref_auc is not None else "n/a", "—"])

    parts.append(table(
        ["latents from", "curves", "valid within 1 %", "valid within 2 %", "C2ST AUC", "max band deviation"],
        rows))
    parts.append(paragraph(_EXPLANATION.format(classifier=cfg.classifier, folds=cfg.folds)))
    parts.append(b.figure("validity", validity_figure(rms_sets),
                          "Cumulative distribution of the RMS fractional residual of the best disc + halo fit; "
                          "dotted lines at 1 % and 2 %."))
    parts.extend(figs)
    b.body.append(section("New curves", parts, anchor="sampling"))


def _aggregate_parts(b: Builder, run: Any, sampling: dict[str, Any], parts: list[str], progress: bool) -> list[str]:
    """The run's fitted aggregates described in ``parts``; the latent sources they add (none if skipped)."""
    try:
        aggs = run.aggregates(progress=progress)
    except DataError as exc:
        parts.append(b.note(f"Aggregate sampling skipped: {exc}"))
        sampling["aggregate_model"] = None
        return []
    info = {k: v_ for k, v_ in aggs.info.items() if k != "models"}
    sampling["aggregate_model"] = {**info, "cache": str(aggs.path) if aggs.path else None}
    gmm = aggs.models["gmm"]
    parts.append(table(
        ["latent model", "mean log density of validation latents", "note"],
        [["prior N(0, I)", aggs.val_log_density["prior"], "diagnostic only"],
         ["Gaussian (full covariance)", aggs.val_log_density["gaussian"],
          "chosen" if aggs.choice == "gaussian" else ""],
         [f"Gaussian mixture ({gmm.n_components} components, BIC)", aggs.val_log_density["gmm"],
          "chosen" if aggs.choice == "gmm" else ""]]))
    parts.append(paragraph(
        f"The aggregates are fitted to the posterior means of {info.get('n_fit')} training curves of "
        f"the run; 'aggregate' sampling, the default of rotcurve sample and Run.sample, uses the one "
        f"with the higher mean log density on {info.get('n_val')} validation curves ({aggs.choice}). "
        f"Saved in {aggs.path or 'memory'}. The prior N(0, I) is shown as a diagnostic: it is known to "
        "give ~5 % physically invalid curves."))
    return ["gaussian", "gmm"]


def _reference(v: np.ndarray, radii: np.ndarray, cfg: ReportConfig, judge: _Judge) -> tuple[dict[str, Any], Any]:
    """Validity and C2ST of simulated against simulated held-out curves; and their RMS residuals."""
    n_ref = min(cfg.n_samples, len(v))
    ref_rows = np.random.default_rng(stream_seed(cfg.seed, "pick")).permutation(len(v))
    ref = judge.validity(v[ref_rows[:n_ref]], radii)
    reference: dict[str, Any] = {"validity": ref.summary()}
    half = len(v) // 2
    if half >= 2 * cfg.folds:
        a, c = v[ref_rows[:half]], v[ref_rows[half: 2 * half]]
        reference["c2st_auc"] = judge.c2st(a, c)
    else:
        reference["c2st_auc"] = None
    return reference, ref.rms_frac


def _label(source: str, chosen: str | None) -> str:
    """The table label of a latent source: the default marked, the prior called a diagnostic."""
    if source == "prior":
        return "prior N(0, I) (diagnostic)"
    return source + (" (= aggregate, the default)" if source == chosen else "")


def _sample_source(b: Builder, run: Any, aset: AnalysisSet, z: np.ndarray, source: str, chosen: str | None,
                   cfg: ReportConfig, judge: _Judge, sampling: dict[str, Any], rms_sets: dict[str, Any],
                   figs: list[str]) -> list[Any] | None:
    """Decode ``cfg.n_samples`` latents from ``source`` and judge them; the table row (None on failure)."""
    v, radii = aset.x, run.radii
    z_gen = run.sample_latents(cfg.n_samples, seed=cfg.seed, source=source)
    v_gen = run.decode(z_gen, limit=None)  # drawn where the training latents are; output still checked
    entry: dict[str, Any] = {"n": int(len(v_gen))}
    sampling[source] = entry
    try:
        val = judge.validity(v_gen, radii)
        entry["validity"] = val.summary()
        rms_sets[source] = val.rms_frac
        entry["c2st"] = judge.c2st(v, v_gen)
        entry["bands"] = judge.bands(v, v_gen)
    except DataError as exc:
        figs.append(b.note(f"{source}: generated curves could not be evaluated: {exc}"))
        entry["error"] = str(exc)
        return None
    fw = entry["validity"]["fraction_within"]
    row = [
        _label(source, chosen), entry["n"],
        fw[repr(0.01)], target_cell(fw[repr(0.02)], TARGETS["validity_within_2pct"]),
        target_cell(entry["c2st"]["auc"], TARGETS["c2st_auc_max"], below=True),
        max(r["max_abs_frac"] for r in entry["bands"]),
    ]
    name = "aggregate" if source == chosen else source
    figs.append(b.figure(f"bands_{source}", bands_figure(radii, v, v_gen),
                         f"Per-radius quantile bands of {len(v)} simulated held-out curves (grey) and "
                         f"{len(v_gen)} curves generated from the {source} latents (orange); below, "
                         "generated / simulated − 1 for each quantile."))
    if source in ("prior", chosen):
        figs.append(b.figure(f"samples_{name}",
                             sampled_curves_figure(radii, v_gen, reference=v, n_max=100,
                                                   title=f"100 curves from the {source} latents"),
                             f"Curves decoded from {source} latents over the simulated 5–95 % band."))
        if z.shape[1] <= MAX_CORNER_DIMS:
            figs.append(b.figure(f"latents_encoded_vs_{name}", corner_compare(z, z_gen),
                                 f"Latent means of the held-out curves (black) against the latents "
                                 f"drawn from the {source} (orange)."))
    return row
