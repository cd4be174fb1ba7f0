"""The sections of an MNIST run's report: reconstruction, latent space (encoder map, decoder grid, t-SNE,
interpolation) and sample grids from the prior and the aggregate."""

from __future__ import annotations

import functools

from typing import Any

import numpy as np

from rotcurve.analysis.image_plots import (
    decoder_grid_figure,
    image_grid_figure,
    image_interpolation_figure,
    image_reconstructions_figure,
    latent_map_figure,
    tsne_figure,
)
from rotcurve.errors import DataError
from rotcurve.reports.analysis_set import AnalysisSet
from rotcurve.reports.builder import Builder
from rotcurve.reports.config import ReportConfig, stream_seed
from rotcurve.reports.html import section, table

__all__ = ["STEPS", "write"]

#: Progress steps of an MNIST report after the training summary.
STEPS: int = 3


def write(b: Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any],
          progress: bool) -> None:
    """Every section of an MNIST report after "Training"."""
    shape = tuple(run.image_shape or (28, 28))
    rng_pick = np.random.default_rng(stream_seed(cfg.seed, "pick"))
    _reconstruction_section(b, run, aset, cfg, metrics, shape, rng_pick)
    _latent_section(b, run, aset, cfg, metrics, shape, rng_pick)
    _samples_section(b, run, cfg, metrics, shape, progress)


def _reconstruction_section(b: Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any],
                            shape: tuple[int, ...], rng_pick: np.random.Generator) -> None:
    x = aset.x
    with b.step("reconstruction"):
        score = run.score(x, seed=stream_seed(cfg.seed, "score"))
        score.update(data=aset.info["data"], split=aset.info["split"], same_as_training=True)
        metrics["score"] = score
        show = np.sort(rng_pick.choice(len(x), size=min(10, len(x)), replace=False))
        parts = [
            table(["metric", "value"], [["images", score["n"]], ["negative ELBO [nats / image]", score["neg_elbo"]],
                                        ["  reconstruction term", score["recon"]], ["  KL term", score["kl"]]]),
            b.figure("reconstructions", image_reconstructions_figure(x[show], run.reconstruct(x[show]),
                                                                     image_shape=shape),
                     "Test images (top) and their reconstructions (bottom)."),
        ]
        b.body.append(section("Reconstruction", parts, anchor="reconstruction"))


def _latent_section(b: Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any],
                    shape: tuple[int, ...], rng_pick: np.random.Generator) -> None:
    x, labels, seed = aset.x, aset.labels, cfg.seed
    decode = functools.partial(run.decode, limit=None)  # between and around the data's own latents
    with b.step("latent space"):
        z = run.encode(x).mean
        d = z.shape[1]
        metrics["latents"] = {"dim": d, "mean_of_means": z.mean(axis=0), "std_of_means": z.std(axis=0)}
        parts = []
        if d == 2:
            parts.append(b.figure("encoder_map", latent_map_figure(z, labels, seed=seed),
                                  f"Posterior means of {len(z)} test images, coloured by digit."))
            parts.append(b.figure("decoder_grid", decoder_grid_figure(decode, image_shape=shape),
                                  "Images decoded on a regular grid of the 2-D latent space (±3 prior σ)."))
        n_tsne = min(cfg.tsne_points, len(z))
        perplexity = min(30.0, max(2.0, (n_tsne - 1) / 3.0))
        parts.append(b.figure("tsne", tsne_figure(z, labels, seed=stream_seed(seed, "tsne"), n_max=n_tsne,
                                                  perplexity=perplexity),
                              f"t-SNE of {n_tsne} latent means (d = {d}), coloured by digit."))
        if labels is not None and len(np.unique(labels)) > 1:
            i = int(rng_pick.integers(len(x)))
            others = np.flatnonzero(labels != labels[i])
            j = int(others[rng_pick.integers(others.size)])
        else:
            i, j = 0, len(x) - 1
        parts.append(b.figure("interpolation", image_interpolation_figure(z[i], z[j], decode, image_shape=shape),
                              "Images decoded along the line between the latent means of two test images."))
        metrics["interpolation"] = {"start_row": i, "end_row": j}
        b.body.append(section("Latent space", parts, anchor="latents"))


def _samples_section(b: Builder, run: Any, cfg: ReportConfig, metrics: dict[str, Any], shape: tuple[int, ...],
                     progress: bool) -> None:
    seed = cfg.seed
    with b.step("samples"):
        parts = []
        sampling: dict[str, Any] = {"n_shown": 100, "seed": seed, "aggregate_model": None}
        sources = ["prior"]
        try:
            aggs = run.aggregates(progress=progress)
        except DataError as exc:
            parts.append(b.note(f"Aggregate sampling skipped: {exc}"))
        else:
            sources.append("aggregate")
            sampling["aggregate_model"] = {**aggs.info, "cache": str(aggs.path) if aggs.path else None}
            parts.append(table(["latent model", "mean log density of validation latents"],
                               [[k, aggs.val_log_density[k]] for k in ("prior", "gaussian", "gmm")]))
        for source in sources:
            imgs = run.sample(100, seed=seed, source=source)
            what = ("the N(0, I) prior (a diagnostic)" if source == "prior"
                    else f"the {aggs.choice} aggregate of training latents (the default of rotcurve sample)")
            parts.append(b.figure(f"samples_{source}", image_grid_figure(imgs, image_shape=shape,
                                                                         title=f"latents from {what}"),
                                  f"100 images decoded from latents drawn from {what}."))
        metrics["samples"] = sampling
        b.body.append(section("Samples", parts, anchor="sampling"))
