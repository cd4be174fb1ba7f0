"""The sections of a curve run's report: reconstruction, latents versus physics, new curves, interpolation.

"New curves" (sampling from the prior and the aggregates, validity, C2ST,
bands) is :mod:`rotcurve.reports.sections.sampling`.
"""

from __future__ import annotations

import functools

from typing import Any

import numpy as np

from rotcurve.analysis.corner_plots import corner_overlay, corner_plot
from rotcurve.analysis.curve_plots import interpolation_figure, reconstruction_figure, traversal_figure
from rotcurve.analysis.latents import PARAM_NAMES, correlations, predictability
from rotcurve.errors import DataError
from rotcurve.reports.analysis_set import AnalysisSet
from rotcurve.reports.builder import Builder, target_cell
from rotcurve.reports.config import MAX_CORNER_DIMS, TARGETS, ReportConfig, stream_seed
from rotcurve.reports.figures import correlation_figure, error_by_radius_figure
from rotcurve.reports.html import paragraph, section, table
from rotcurve.reports.sections.sampling import sampling_section
from rotcurve.run import Encoded

__all__ = ["STEPS", "write"]

#: Progress steps of a curve report after the training summary (reconstruction, encode,
#: latents vs physics, aggregates, reference, three sources, interpolation).
STEPS: int = 9


def write(b: Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any],
          progress: bool) -> None:
    """Every section of a curve report after "Training"."""
    rng_pick = np.random.default_rng(stream_seed(cfg.seed, "pick"))
    _reconstruction_section(b, run, aset, cfg, metrics, rng_pick)
    z = _latents_section(b, run, aset, cfg, metrics, rng_pick)
    sampling_section(b, run, aset, z, cfg, metrics, progress)
    _interpolation_section(b, run, aset, z, metrics)


def _reconstruction_section(b: Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any],
                            rng_pick: np.random.Generator) -> None:
    v, radii = aset.x, run.radii
    with b.step("reconstruction"):
        score = run.score(v, seed=stream_seed(cfg.seed, "score"))
        score.update(data=aset.info["data"], split=aset.info["split"], same_as_training=aset.info["same_as_training"])
        metrics["score"] = score
        rec = run.reconstruct(v)
        show = np.sort(rng_pick.choice(len(v), size=min(6, len(v)), replace=False))
        parts = [
            table(["metric", "value"], [
                ["curves", score["n"]],
                ["median |v̂/v − 1|", score["median_frac_error"]],
                ["95 % quantile |v̂/v − 1|", score["p95_frac_error"]],
                ["mean |v̂/v − 1|", score["mean_frac_error"]],
                ["RMS v̂ − v [km/s]", score["rms_kms"]],
                ["negative ELBO [nats / curve]", score["neg_elbo"]],
                ["  reconstruction term", score["recon"]],
                ["  KL term", score["kl"]],
            ]),
            paragraph("v̂ decodes the posterior mean; the ELBO uses one posterior draw with β = 1 in the "
                      "model's normalised log10 v space."),
            b.figure("reconstruction_error", error_by_radius_figure(radii, v, rec),
                     "Fractional reconstruction error at each radius (quantiles over the analysed curves)."),
            b.figure("reconstructions", reconstruction_figure(radii, v[show], rec[show]),
                     "Randomly chosen held-out curves (black) and their reconstructions (orange), "
                     "residuals in per cent below each."),
        ]
        b.body.append(section("Reconstruction", parts, anchor="reconstruction"))


def _latents_section(b: Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any],
                     rng_pick: np.random.Generator) -> np.ndarray:
    """Two steps (encode; latents vs physics); returns the latent means ``(N, d)`` of the analysed curves."""
    with b.step("encode"):
        enc = run.encode(aset.x)
        z = enc.mean
        d = z.shape[1]
        sub = np.sort(rng_pick.choice(len(z), size=min(cfg.posterior_curves, len(z)), replace=False))
        draws = Encoded(mean=z[sub], covariance=enc.covariance[sub]).sample(
            cfg.posterior_draws, seed=stream_seed(cfg.seed, "posterior"))
        draws = draws.reshape(-1, d)
        post_sd = np.sqrt(np.mean(np.diagonal(enc.covariance, axis1=1, axis2=2), axis=0))
        metrics["latents"] = {
            "dim": d,
            "mean_of_means": z.mean(axis=0),
            "std_of_means": z.std(axis=0),
            "rms_posterior_std": post_sd,
            "correlations": None,
            "r2": None,
        }

    with b.step("latents vs physics"):
        parts = []
        lat = metrics["latents"]
        parts.append(table(["latent", "mean of means", "std of means", "RMS posterior std"],
                           [[f"z{j + 1}", lat["mean_of_means"][j], lat["std_of_means"][j], post_sd[j]]
                            for j in range(d)]))
        if aset.params is None:
            parts.append(b.note(f"{aset.info['data']} holds no true parameters (Md, Rd, Mh, c): the "
                                "correlations, the R² and the parameter corner plot are skipped."))
            if d <= MAX_CORNER_DIMS:
                parts.append(b.figure("corner_latents", corner_plot(None, z),
                                      f"Latent means of {len(z)} curves."))
        else:
            parts.extend(_physics_parts(b, z, aset.params, cfg, metrics))
        if d <= MAX_CORNER_DIMS:
            parts.append(b.figure(
                "posterior_overlay", corner_overlay(draws, z[sub]),
                f"Posterior samples ({cfg.posterior_draws} draws from q(z|x) for each of {len(sub)} curves, "
                "black) against the posterior means of the same curves (orange). When the posteriors "
                "are narrow compared with the spread of the means the two coincide."))
        else:
            parts.append(b.note(f"d = {d}: corner plots of more than {MAX_CORNER_DIMS} dimensions are left out."))
        b.body.append(section("Latents versus physics", parts, anchor="latents"))
    return z


def _physics_parts(b: Builder, z: np.ndarray, params: Any, cfg: ReportConfig,
                   metrics: dict[str, Any]) -> list[str]:
    """Correlations, held-out R^2 and the corner plot of the true parameters with the latent means."""
    parts: list[str] = []
    d = z.shape[1]
    corr = correlations(z, params)
    metrics["latents"]["correlations"] = corr.to_dict(orient="records")
    rows = []
    for _, r in corr.iterrows():
        rows.append([r["latent"], f"log10 {r['parameter']}", r["pearson"], r["spearman"]])
    parts.append(table(["latent", "parameter", "Pearson r", "Spearman ρ"], rows))
    parts.append(b.figure("correlations", correlation_figure(corr),
                          "Spearman correlation of each latent mean with log10 of each parameter."))
    try:
        pred = predictability(z, params, seed=stream_seed(cfg.seed, "predict"), regressor=cfg.regressor)
    except DataError as exc:
        parts.append(b.note(f"R² skipped: {exc}"))
    else:
        r2 = {row["parameter"]: {"linear": row["r2_linear"], "nonlinear": row["r2_nonlinear"]}
              for row in pred.to_dict(orient="records")}
        metrics["latents"]["r2"] = r2
        metrics["latents"]["r2_regressor"] = cfg.regressor
        metrics["latents"]["r2_n_train"] = int(pred["n_train"].iloc[0])
        metrics["latents"]["r2_n_test"] = int(pred["n_test"].iloc[0])
        parts.append(table(
            ["parameter", "R² linear", f"R² non-linear ({cfg.regressor})"],
            [[f"log10 {p}", r2[p]["linear"], target_cell(r2[p]["nonlinear"], TARGETS["r2_nonlinear"][p])]
             for p in PARAM_NAMES]))
        parts.append(paragraph(
            f"Held-out R² of predicting each log10 parameter from the {d} latent means: a random 25 % of "
            f"the {len(z)} curves is held out ({int(pred['n_test'].iloc[0])} curves); inputs and targets are "
            "standardised on the rest."))
    if d <= MAX_CORNER_DIMS:
        parts.append(b.figure("corner_params_latents", corner_plot(params, z),
                              f"log10 of the true parameters and the latent means of {len(z)} curves."))
    return parts


def _interpolation_section(b: Builder, run: Any, aset: AnalysisSet, z: np.ndarray, metrics: dict[str, Any]) -> None:
    v, radii = aset.x, run.radii
    decode = functools.partial(run.decode, limit=None)  # between and around the data's own latents
    with b.step("interpolation and traversals"):
        vmax = v.max(axis=1)
        i, j = int(np.argmin(vmax)), int(np.argmax(vmax))
        parts = [
            b.figure("interpolation",
                     interpolation_figure(z[i], z[j], decode, radii, curve_start=v[i], curve_end=v[j]),
                     "Curves decoded along the straight line between the posterior means of the analysed "
                     "curves with the lowest and the highest peak velocity (inputs dashed)."),
            b.figure("traversals",
                     traversal_figure(z.mean(axis=0), decode, radii, scale=np.maximum(z.std(axis=0), 1e-6)),
                     "Each latent varied alone by ±2 standard deviations of the latent means around their "
                     "mean, the others held there."),
        ]
        metrics["interpolation"] = {"start_row": i, "end_row": j}
        b.body.append(section("Interpolation and traversals", parts, anchor="interpolation"))
