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
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.errors import ConfigError, DataError, OutputExistsError

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

#: ``format`` field of ``metrics.json``.
REPORT_FORMAT: str = "rotcurve-report"
_REPORT_VERSION = 1

#: The targets the report checks (``metrics.json`` ``targets`` says met or not).
TARGETS: dict[str, Any] = {
    "r2_nonlinear": {"Md": 0.98, "Rd": 0.98, "Mh": 0.98, "c": 0.93},
    "validity_within_2pct": 0.99,
    "c2st_auc_max": 0.6,
}

# spawn keys of the report's random streams (one seed, one stream per use)
_STREAMS = {
    "subsample": 1, "posterior": 2, "predict": 3, "validity": 4, "c2st": 5,
    "pick": 6, "tsne": 7, "score": 8,
}
# Corner plots of more dimensions than this are left out (unreadable, slow).
_MAX_CORNER_DIMS = 12


def _stream_seed(seed: int, name: str) -> int:
    ss = np.random.SeedSequence(seed, spawn_key=(_STREAMS[name],))
    return int(ss.generate_state(1)[0] >> 1)


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    """Settings of a report (saved in ``metrics.json`` under ``config``).

    Attributes
    ----------
    n_samples : int
        Generated curves (images) per latent source for validity, the
        two-sample test and the bands.
    n_curves : int
        Most real curves (images) analysed: encoded, scored, plotted.
    seed : int
        The one seed of the report.
    posterior_curves : int
        Curves whose posteriors are drawn from in the samples-versus-means plot.
    posterior_draws : int
        Draws per posterior there.
    regressor : str
        Non-linear regressor of the R^2 (:data:`rotcurve.analysis.latents.REGRESSORS`).
    classifier : str
        Classifier of the two-sample test (:data:`rotcurve.analysis.twosample.CLASSIFIERS`).
    folds : int
        Cross-validation folds of the two-sample test.
    tsne_points : int
        Points in the t-SNE of an MNIST run.
    n_jobs : int
        Threads of the disc + halo fits (-1: every core).
    dpi : int
        Resolution of the PNG figures.
    """

    n_samples: int = 2000
    n_curves: int = 5000
    seed: int = 0
    posterior_curves: int = 1000
    posterior_draws: int = 20
    regressor: str = "mlp"
    classifier: str = "hgb"
    folds: int = 5
    tsne_points: int = 1000
    n_jobs: int = 1
    dpi: int = 100

    def __post_init__(self) -> None:
        from rotcurve.analysis.latents import REGRESSORS
        from rotcurve.analysis.twosample import CLASSIFIERS

        _positive_int("n_samples", self.n_samples, 10)
        _positive_int("n_curves", self.n_curves, 10)
        _positive_int("seed", self.seed, 0)
        _positive_int("posterior_curves", self.posterior_curves)
        _positive_int("posterior_draws", self.posterior_draws)
        _positive_int("folds", self.folds, 2)
        _positive_int("tsne_points", self.tsne_points, 10)
        _positive_int("dpi", self.dpi, 20)
        if self.regressor not in REGRESSORS:
            raise ConfigError(f"unknown regressor {self.regressor!r}; choose one of {', '.join(REGRESSORS)}")
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(f"unknown classifier {self.classifier!r}; choose one of {', '.join(CLASSIFIERS)}")
        if isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int) or self.n_jobs == 0 or self.n_jobs < -1:
            raise ConfigError(f"n_jobs must be a positive integer or -1, got {self.n_jobs!r}")


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """What :func:`make_report` wrote.

    Attributes
    ----------
    path : Path
        The HTML page, ``folder / "report.html"``.
    metrics : dict
        The content of ``metrics.json``.
    folder : Path
        The report folder (``report.html``, ``metrics.json``, ``figures/``).
    """

    path: Path
    metrics: dict[str, Any]
    folder: Path


@dataclasses.dataclass
class AnalysisSet:
    """The real examples a report analyses.

    Attributes
    ----------
    x : ndarray
        Curves ``(N, n_r)`` float64 km/s, or images ``(N, 28, 28)`` float32 in [0, 1].
    params : pandas.DataFrame or None
        True Md [Msun], Rd [kpc], Mh [Msun], c of the curves, when known.
    labels : ndarray or None
        MNIST digits.
    info : dict
        ``data`` (path or spec), ``same_as_training``, ``split`` ("test" or
        "all"), ``n_available`` (examples in the data), ``n_candidates``
        (in the split used), ``n_analysed`` (after subsampling), ``has_params``.
    """

    x: np.ndarray
    params: Any
    labels: np.ndarray | None
    info: dict[str, Any]


# ---------------------------------------------------------------------------- inputs
def _load(run_or_dir: Any, which: str, device: Any) -> Any:
    from rotcurve.run import Run, load_run

    if isinstance(run_or_dir, Run):
        return run_or_dir
    return load_run(run_or_dir, which=which, device=device)


def _subsample(n: int, most: int, seed: int) -> np.ndarray:
    if n <= most:
        return np.arange(n)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAMS["subsample"],)))
    return np.sort(rng.choice(n, size=most, replace=False))


def _check_data(run: Any, data: Any) -> str:
    """The data spec as a string, after checking it fits the run (DataError otherwise)."""
    if not isinstance(data, (str, os.PathLike)):
        raise DataError("give the data as a curve file path or mnist:DIR")
    spec = os.fspath(data)
    is_mnist = spec.startswith("mnist:")
    if run.kind == "mnist" and not is_mnist:
        raise DataError(f"{spec} holds rotation curves but the run was trained on MNIST images; use mnist:DIR")
    if run.kind != "mnist" and is_mnist:
        raise DataError(f"{spec} holds images but the run was trained on rotation curves; use a curve file")
    if not is_mnist:
        from rotcurve.io import open_dataset

        with open_dataset(spec) as ds:
            run.check_radii(ds.radii, source=spec)
            if ds.n < 10:
                raise DataError(f"{spec} has {ds.n} curves; a report needs at least 10")
    return spec


def analysis_set(run: Any, data: Any, *, n_curves: int = 5000, seed: int = 0) -> AnalysisSet:
    """The held-out examples a report analyses (see the module docstring).

    Parameters
    ----------
    run : Run
    data : path or "mnist:DIR"
        The run's training file (its test split is used), another curve file
        on the run's radius grid (all rows), or MNIST (the run's test split).
    n_curves : int, keyword-only
        Most examples kept (a seeded random subsample, in file order).
    seed : int, keyword-only

    Returns
    -------
    AnalysisSet

    Raises
    ------
    DataError
        A missing or foreign file, another radius grid, images for a curve
        run or the reverse, an empty selection.
    """
    from rotcurve.datasets.splits import split_indices

    n_curves = _positive_int("n_curves", n_curves)
    spec = _check_data(run, data)
    if run.kind == "mnist":
        from rotcurve.datasets.training import load_training_data

        td = load_training_data(
            spec, seed=int(run.data["seed"]), fractions=tuple(run.data["fractions"]), device="cpu"
        )
        if td.input_dim != run.model_config.input_dim:
            raise DataError(
                f"{spec} has {td.input_dim} pixels per image but the run was trained on "
                f"{run.model_config.input_dim}"
            )
        x = td.test.numpy()
        labels = td.labels["test"].numpy() if td.labels else None
        keep = _subsample(len(x), n_curves, seed)
        if keep.size == 0:
            raise DataError(f"the test split of {spec} is empty; nothing to analyse")
        shape = run.image_shape or (x.shape[1],)
        info = {"data": spec, "same_as_training": True, "split": "test", "n_available": int(td.meta["n_total"]),
                "n_candidates": int(len(x)), "n_analysed": int(keep.size), "has_params": False}
        return AnalysisSet(x=x[keep].reshape(len(keep), *shape), params=None,
                           labels=None if labels is None else labels[keep], info=info)

    from rotcurve.io import open_dataset
    from rotcurve.run import _read_rows
    from rotcurve.training.rundir import data_fingerprint

    with open_dataset(spec) as ds:
        n, has_params = ds.n, ds.has_params
    same = n == int(run.data.get("n", -1)) and data_fingerprint(spec) == run.data.get("fingerprint")
    if same:
        rows = split_indices(n, int(run.data["seed"]), tuple(run.data["fractions"]))["test"]
        if rows.size < 10:
            raise DataError(
                f"the run's test split of {spec} has {rows.size} curves; a report needs at least 10 "
                "(give another file of the same kind)"
            )
    else:
        rows = np.arange(n)
    n_candidates = int(rows.size)
    rows = rows[_subsample(rows.size, n_curves, seed)]
    v, params = _read_rows(spec, rows, params=True)
    info = {"data": str(Path(spec).resolve()), "same_as_training": bool(same), "split": "test" if same else "all",
            "n_available": int(n), "n_candidates": n_candidates, "n_analysed": int(len(v)),
            "has_params": bool(has_params)}
    return AnalysisSet(x=v, params=params, labels=None, info=info)


def corner_figure(
    run: Any,
    data: Any,
    *,
    n_curves: int = 5000,
    seed: int = 0,
    which: str = "best",
    device: Any = "cpu",
) -> Any:
    """Corner plot of ``log10`` Md, Rd, Mh, c and the latent means of held-out curves.

    Parameters
    ----------
    run : Run or path
        A loaded run or a run folder.
    data : path
        A curve file on the run's grid (the test split of the training file,
        or every curve of another file; see :func:`analysis_set`).  Without
        true parameters the latent means are plotted alone.
    n_curves : int, keyword-only
        Most curves plotted (seeded subsample).
    seed : int, keyword-only
    which, device : keyword-only
        For a run folder: the checkpoint and device (see :func:`rotcurve.run.load_run`).

    Returns
    -------
    matplotlib.figure.Figure
        ``(4 + d)^2`` axes (``d^2`` without parameters).

    Raises
    ------
    DataError
        An MNIST run or data, or data that do not fit the run.
    """
    from rotcurve.analysis.corner_plots import corner_plot

    model_run = _load(run, which, device)
    if model_run.kind == "mnist":
        raise DataError("corner plots of physical parameters are for curve runs; use `rotcurve report` for MNIST")
    aset = analysis_set(model_run, data, n_curves=n_curves, seed=seed)
    z = model_run.encode(aset.x).mean
    return corner_plot(aset.params, z)


# ------------------------------------------------------------------------ the builder
def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, Path):
        return str(value)
    return value


class _Builder:
    """Collects figures, HTML sections and metrics in the temporary report folder."""

    def __init__(self, folder: Path, config: ReportConfig, bar: Any) -> None:
        self.folder = folder
        self.figdir = folder / "figures"
        self.figdir.mkdir()
        self.config = config
        self.bar = bar
        self.body: list[str] = []
        self.notes: list[str] = []
        self.figures: dict[str, dict[str, str]] = {}
        self.timings: dict[str, float] = {}
        self.warnings: list[str] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step, advance the progress bar, and keep its warnings for the report."""
        import warnings

        self.bar.set_postfix_str(name)
        t = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield
        finally:
            self.timings[name] = round(time.perf_counter() - t, 3)
            self.bar.update()
        for w in caught:
            text = f"{name}: {w.category.__name__}: {str(w.message).splitlines()[0] if str(w.message) else ''}"
            if text not in self.warnings:
                self.warnings.append(text)

    def figure(self, name: str, fig: Any, caption: str) -> str:
        from rotcurve.analysis.figures import save_figure
        from rotcurve.reports.html import image

        # one layout pass for both files (what bbox_inches="tight" would do twice)
        fig.draw_without_rendering()
        bbox = fig.get_tightbbox().padded(0.1)
        png = save_figure(fig, self.figdir / f"{name}.png", dpi=self.config.dpi, bbox_inches=bbox)
        save_figure(fig, self.figdir / f"{name}.pdf", bbox_inches=bbox)
        self.figures[name] = {"png": f"figures/{name}.png", "pdf": f"figures/{name}.pdf", "caption": caption}
        return image(png.read_bytes(), caption=caption, alt=name)

    def note(self, text: str) -> str:
        from rotcurve.reports.html import note

        self.notes.append(text)
        return note(text)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    from rotcurve._version import __version__

    out = {"python": platform.python_version(), "rotcurve": __version__}
    for name, dist in (("torch", "torch"), ("numpy", "numpy"), ("scipy", "scipy"), ("scikit-learn", "scikit-learn"),
                       ("matplotlib", "matplotlib"), ("corner", "corner"), ("h5py", "h5py"), ("pandas", "pandas")):
        try:
            out[name] = md.version(dist)
        except md.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "not installed"
    return out


def _training_records(run: Any) -> list[dict[str, Any]]:
    path = run.path / "metrics.jsonl"
    records = []
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(rec, dict) and "epoch" in rec:
                records.append(rec)
    return records


def _training_summary(records: list[dict[str, Any]], run: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {"epochs": len(records), "checkpoint": run.checkpoint.name, "checkpoint_epoch": run.epoch}
    if not records:
        return summary
    val = [r.get("val_loss") for r in records]
    finite = [(v, r) for v, r in zip(val, records) if isinstance(v, (int, float)) and math.isfinite(v)]
    if finite:
        best_val, best = min(finite, key=lambda t: t[0])
        summary.update(best_epoch=int(best["epoch"]), best_val_loss=float(best_val))
    last = records[-1]
    for key in ("train_loss", "train_recon", "train_kl", "val_loss", "val_recon", "val_kl"):
        if key in last:
            summary[f"final_{key}"] = last[key]
    seconds = [r.get("seconds") for r in records if isinstance(r.get("seconds"), (int, float))]
    if seconds:
        summary["total_seconds"] = float(sum(seconds))
    rates = [r.get("samples_per_s") for r in records if isinstance(r.get("samples_per_s"), (int, float))]
    if rates:
        summary["median_samples_per_s"] = float(np.median(rates))
    return summary


def _target_cell(value: Any, target: float, *, below: bool = False) -> Any:
    from rotcurve.reports.html import Fragment, format_number

    if value is None or not math.isfinite(float(value)):
        return "n/a"
    met = float(value) <= target if below else float(value) >= target
    cls, word = ("pass", "met") if met else ("fail", "missed")
    sign = "≤" if below else "≥"
    return Fragment(f'<span class="{cls}">{format_number(value)} ({word}; target {sign} {target:g})</span>')


# --------------------------------------------------------------------------- sections
def _training_section(b: _Builder, run: Any, metrics: dict[str, Any]) -> None:
    from rotcurve.reports.html import definition_list, section
    from rotcurve.reports.figures import training_history_figure

    with b.step("training summary"):
        records = _training_records(run)
        summary = _training_summary(records, run)
        metrics["training"] = summary
        parts = [definition_list([(k.replace("_", " "), v if not isinstance(v, float) else f"{v:.6g}")
                                  for k, v in summary.items()])]
        if records:
            parts.append(b.figure("training_history", training_history_figure(records),
                                  "Training and validation loss (negative ELBO, nats per example) per epoch."))
        else:
            parts.append(b.note(f"{run.path / 'metrics.jsonl'} is missing or empty: no training history to show."))
        b.body.append(section("Training", parts, anchor="training"))


def _curves_report(b: _Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any],
                   progress: bool) -> None:
    from rotcurve.reports.html import paragraph, section, table

    v, params, radii, seed = aset.x, aset.params, run.radii, cfg.seed
    rng_pick = np.random.default_rng(_stream_seed(seed, "pick"))

    # -- reconstruction ---------------------------------------------------------------
    with b.step("reconstruction"):
        from rotcurve.analysis.curve_plots import reconstruction_figure
        from rotcurve.reports.figures import error_by_radius_figure

        score = run.score(v, seed=_stream_seed(seed, "score"))
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

    # -- latents versus physics ----------------------------------------------------------
    with b.step("encode"):
        from rotcurve.run import Encoded

        enc = run.encode(v)
        z = enc.mean
        d = z.shape[1]
        sub = np.sort(rng_pick.choice(len(z), size=min(cfg.posterior_curves, len(z)), replace=False))
        draws = Encoded(mean=z[sub], covariance=enc.covariance[sub]).sample(
            cfg.posterior_draws, seed=_stream_seed(seed, "posterior"))
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
        from rotcurve.analysis.corner_plots import corner_overlay, corner_plot

        parts = []
        lat = metrics["latents"]
        parts.append(table(["latent", "mean of means", "std of means", "RMS posterior std"],
                           [[f"z{j + 1}", lat["mean_of_means"][j], lat["std_of_means"][j], post_sd[j]]
                            for j in range(d)]))
        if params is None:
            parts.append(b.note(f"{aset.info['data']} holds no true parameters (Md, Rd, Mh, c): the "
                                "correlations, the R² and the parameter corner plot are skipped."))
            if d <= _MAX_CORNER_DIMS:
                parts.append(b.figure("corner_latents", corner_plot(None, z),
                                      f"Latent means of {len(z)} curves."))
        else:
            parts.extend(_physics_parts(b, z, params, cfg, metrics))
        if d <= _MAX_CORNER_DIMS:
            parts.append(b.figure(
                "posterior_overlay", corner_overlay(draws, z[sub]),
                f"Posterior samples ({cfg.posterior_draws} draws from q(z|x) for each of {len(sub)} curves, "
                "black) against the posterior means of the same curves (orange). When the posteriors "
                "are narrow compared with the spread of the means the two coincide."))
        else:
            parts.append(b.note(f"d = {d}: corner plots of more than {_MAX_CORNER_DIMS} dimensions are left out."))
        b.body.append(section("Latents versus physics", parts, anchor="latents"))

    # -- new curves -------------------------------------------------------------------
    _sampling_section(b, run, aset, z, cfg, metrics, progress)

    # -- interpolation and traversals ---------------------------------------------------
    with b.step("interpolation and traversals"):
        from rotcurve.analysis.curve_plots import interpolation_figure, traversal_figure

        vmax = v.max(axis=1)
        i, j = int(np.argmin(vmax)), int(np.argmax(vmax))
        parts = [
            b.figure("interpolation",
                     interpolation_figure(z[i], z[j], run.decode, radii, curve_start=v[i], curve_end=v[j]),
                     "Curves decoded along the straight line between the posterior means of the analysed "
                     "curves with the lowest and the highest peak velocity (inputs dashed)."),
            b.figure("traversals",
                     traversal_figure(z.mean(axis=0), run.decode, radii, scale=np.maximum(z.std(axis=0), 1e-6)),
                     "Each latent varied alone by ±2 standard deviations of the latent means around their "
                     "mean, the others held there."),
        ]
        metrics["interpolation"] = {"start_row": i, "end_row": j}
        b.body.append(section("Interpolation and traversals", parts, anchor="interpolation"))


def _physics_parts(b: _Builder, z: np.ndarray, params: Any, cfg: ReportConfig,
                   metrics: dict[str, Any]) -> list[str]:
    from rotcurve.analysis.corner_plots import corner_plot
    from rotcurve.reports.html import paragraph, table
    from rotcurve.analysis.latents import PARAM_NAMES, correlations, predictability
    from rotcurve.reports.figures import correlation_figure

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
        pred = predictability(z, params, seed=_stream_seed(cfg.seed, "predict"), regressor=cfg.regressor)
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
            [[f"log10 {p}", r2[p]["linear"], _target_cell(r2[p]["nonlinear"], TARGETS["r2_nonlinear"][p])]
             for p in PARAM_NAMES]))
        parts.append(paragraph(
            f"Held-out R² of predicting each log10 parameter from the {d} latent means: a random 25 % of "
            f"the {len(z)} curves is held out ({int(pred['n_test'].iloc[0])} curves); inputs and targets are "
            "standardised on the rest."))
    if d <= _MAX_CORNER_DIMS:
        parts.append(b.figure("corner_params_latents", corner_plot(params, z),
                              f"log10 of the true parameters and the latent means of {len(z)} curves."))
    return parts


def _sampling_section(b: _Builder, run: Any, aset: AnalysisSet, z: np.ndarray, cfg: ReportConfig,
                      metrics: dict[str, Any], progress: bool) -> None:
    from rotcurve.analysis.bands import compare_bands
    from rotcurve.reports.html import paragraph, section, table
    from rotcurve.analysis.twosample import classifier_two_sample_test
    from rotcurve.analysis.validity import physical_validity

    v, radii, seed = aset.x, run.radii, cfg.seed
    physics = {k: float(run.data.get("file_attrs", {})[k]) for k in ("H0", "Delta")
               if k in run.data.get("file_attrs", {})}
    validity_kw = dict(seed=_stream_seed(seed, "validity"), n_jobs=cfg.n_jobs, **physics)
    c2st_kw = dict(seed=_stream_seed(seed, "c2st"), folds=cfg.folds, classifier=cfg.classifier)
    parts: list[str] = []
    sampling: dict[str, Any] = {"n_samples": cfg.n_samples, "seed": seed}
    metrics["samples"] = sampling

    with b.step("latent aggregates"):
        sources = ["prior"]
        try:
            aggs = run.aggregates(progress=progress)
        except DataError as exc:
            parts.append(b.note(f"Aggregate sampling skipped: {exc}"))
            sampling["aggregate_model"] = None
        else:
            sources += ["gaussian", "gmm"]
            info = {k: v_ for k, v_ in aggs.info.items() if k != "models"}
            sampling["aggregate_model"] = {**info, "cache": str(aggs.path) if aggs.path else None}
            gmm = aggs.models["gmm"]
            parts.append(table(
                ["latent model", "mean log density of validation latents", "note"],
                [["prior N(0, I)", aggs.val_log_density["prior"], ""],
                 ["Gaussian (full covariance)", aggs.val_log_density["gaussian"],
                  "chosen" if aggs.choice == "gaussian" else ""],
                 [f"Gaussian mixture ({gmm.n_components} components, BIC)", aggs.val_log_density["gmm"],
                  "chosen" if aggs.choice == "gmm" else ""]]))
            parts.append(paragraph(
                f"The aggregates are fitted to the posterior means of {info.get('n_fit')} training curves of "
                f"the run; 'aggregate' sampling uses the one with the higher mean log density on "
                f"{info.get('n_val')} validation curves ({aggs.choice}). Cached in {aggs.path or 'memory'}."))

    with b.step("reference: simulated vs simulated"):
        n_ref = min(cfg.n_samples, len(v))
        ref_rows = np.random.default_rng(_stream_seed(seed, "pick")).permutation(len(v))
        ref = physical_validity(v[ref_rows[:n_ref]], radii, **validity_kw)
        reference: dict[str, Any] = {"validity": ref.summary()}
        half = len(v) // 2
        if half >= 2 * cfg.folds:
            a, c = v[ref_rows[:half]], v[ref_rows[half: 2 * half]]
            reference["c2st_auc"] = classifier_two_sample_test(a, c, **c2st_kw).to_dict()
        else:
            reference["c2st_auc"] = None
        sampling["reference_simulated"] = reference
        rms_sets = {"simulated (held-out)": ref.rms_frac}

    rows = []
    chosen = sampling["aggregate_model"]["choice"] if sampling.get("aggregate_model") else None
    figs: list[str] = []
    for source in sources:
        with b.step(f"sample {source}"):
            from rotcurve.analysis.bands import bands_figure
            from rotcurve.analysis.corner_plots import corner_compare
            from rotcurve.analysis.curve_plots import sampled_curves_figure

            z_gen = run.sample_latents(cfg.n_samples, seed=seed, source=source)
            v_gen = run.decode(z_gen)
            entry: dict[str, Any] = {"n": int(len(v_gen))}
            try:
                val = physical_validity(v_gen, radii, **validity_kw)
                entry["validity"] = val.summary()
                rms_sets[source] = val.rms_frac
                entry["c2st"] = classifier_two_sample_test(v, v_gen, **c2st_kw).to_dict()
                entry["bands"] = compare_bands(v, v_gen).to_dict(orient="records")
            except DataError as exc:
                figs.append(b.note(f"{source}: generated curves could not be evaluated: {exc}"))
                entry["error"] = str(exc)
                sampling[source] = entry
                continue
            sampling[source] = entry
            fw = entry["validity"]["fraction_within"]
            rows.append([
                source + (" (= aggregate)" if source == chosen else ""), entry["n"],
                fw[repr(0.01)], _target_cell(fw[repr(0.02)], TARGETS["validity_within_2pct"]),
                _target_cell(entry["c2st"]["auc"], TARGETS["c2st_auc_max"], below=True),
                max(r["max_abs_frac"] for r in entry["bands"]),
            ])
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
                if z.shape[1] <= _MAX_CORNER_DIMS:
                    figs.append(b.figure(f"latents_encoded_vs_{name}", corner_compare(z, z_gen),
                                         f"Latent means of the held-out curves (black) against the latents "
                                         f"drawn from the {source} (orange)."))
    if chosen and chosen in sampling:
        sampling["aggregate"] = {"kind": chosen, **sampling[chosen]}
    ref_fw = reference["validity"]["fraction_within"]
    ref_auc = reference["c2st_auc"]["auc"] if reference["c2st_auc"] else None
    rows.append(["simulated held-out (reference)", reference["validity"]["n"], ref_fw[repr(0.01)],
                 ref_fw[repr(0.02)], ref_auc if ref_auc is not None else "n/a", "—"])
    from rotcurve.reports.figures import validity_figure

    parts.append(table(
        ["latents from", "curves", "valid within 1 %", "valid within 2 %", "C2ST AUC", "max band deviation"],
        rows))
    parts.append(paragraph(
        "Valid within x %: fraction of curves that the four-parameter exponential disc + NFW halo model "
        "fits (least squares on ln v) with an RMS fractional residual ≤ x %. C2ST AUC: cross-validated "
        f"ROC AUC of a classifier ({cfg.classifier}, {cfg.folds} folds) separating generated from "
        "simulated held-out curves (log10 v), 0.5 = indistinguishable (Lopez-Paz & Oquab 2017, "
        "'Revisiting classifier two-sample tests', ICLR); the reference row compares two halves of the "
        "simulated curves. Max band deviation: largest |q_gen / q_sim − 1| over radii and the 5, 16, 50, "
        "84, 95 % quantiles."))
    parts.append(b.figure("validity", validity_figure(rms_sets),
                          "Cumulative distribution of the RMS fractional residual of the best disc + halo fit; "
                          "dotted lines at 1 % and 2 %."))
    parts.extend(figs)
    b.body.append(section("New curves", parts, anchor="sampling"))


def _mnist_report(b: _Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any],
                  progress: bool) -> None:
    from rotcurve.reports.html import section, table
    from rotcurve.analysis.image_plots import (
        decoder_grid_figure,
        image_grid_figure,
        image_interpolation_figure,
        image_reconstructions_figure,
        latent_map_figure,
        tsne_figure,
    )

    x, labels, seed = aset.x, aset.labels, cfg.seed
    shape = tuple(run.image_shape or (28, 28))
    rng_pick = np.random.default_rng(_stream_seed(seed, "pick"))
    with b.step("reconstruction"):
        score = run.score(x, seed=_stream_seed(seed, "score"))
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

    with b.step("latent space"):
        z = run.encode(x).mean
        d = z.shape[1]
        metrics["latents"] = {"dim": d, "mean_of_means": z.mean(axis=0), "std_of_means": z.std(axis=0)}
        parts = []
        if d == 2:
            parts.append(b.figure("encoder_map", latent_map_figure(z, labels, seed=seed),
                                  f"Posterior means of {len(z)} test images, coloured by digit."))
            parts.append(b.figure("decoder_grid", decoder_grid_figure(run.decode, image_shape=shape),
                                  "Images decoded on a regular grid of the 2-D latent space (±3 prior σ)."))
        n_tsne = min(cfg.tsne_points, len(z))
        perplexity = min(30.0, max(2.0, (n_tsne - 1) / 3.0))
        parts.append(b.figure("tsne", tsne_figure(z, labels, seed=_stream_seed(seed, "tsne"), n_max=n_tsne,
                                                  perplexity=perplexity),
                              f"t-SNE of {n_tsne} latent means (d = {d}), coloured by digit."))
        if labels is not None and len(np.unique(labels)) > 1:
            i = int(rng_pick.integers(len(x)))
            others = np.flatnonzero(labels != labels[i])
            j = int(others[rng_pick.integers(others.size)])
        else:
            i, j = 0, len(x) - 1
        parts.append(b.figure("interpolation", image_interpolation_figure(z[i], z[j], run.decode, image_shape=shape),
                              "Images decoded along the line between the latent means of two test images."))
        metrics["interpolation"] = {"start_row": i, "end_row": j}
        b.body.append(section("Latent space", parts, anchor="latents"))

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
            what = "the prior N(0, I)" if source == "prior" else f"the {aggs.choice} aggregate of training latents"
            parts.append(b.figure(f"samples_{source}", image_grid_figure(imgs, image_shape=shape,
                                                                         title=f"latents from {what}"),
                                  f"100 images decoded from latents drawn from {what}."))
        metrics["samples"] = sampling
        b.body.append(section("Samples", parts, anchor="sampling"))


def _summary_section(run: Any, metrics: dict[str, Any]) -> str:
    from rotcurve.reports.html import section, table

    rows: list[list[Any]] = []
    rec = metrics.get("score", {})
    if "median_frac_error" in rec:
        rows.append(["median reconstruction error |v̂/v − 1|", rec["median_frac_error"]])
        rows.append(["RMS reconstruction error [km/s]", rec["rms_kms"]])
    if "neg_elbo" in rec:
        rows.append(["negative ELBO [nats / example]", rec["neg_elbo"]])
    r2 = (metrics.get("latents") or {}).get("r2")
    if r2:
        for p, t in TARGETS["r2_nonlinear"].items():
            rows.append([f"R² of log10 {p} from the latents (non-linear)", _target_cell(r2[p]["nonlinear"], t)])
    samples = metrics.get("samples") or {}
    for source in ("prior", "aggregate"):
        entry = samples.get(source)
        if not isinstance(entry, dict) or "validity" not in entry:
            continue
        label = "prior" if source == "prior" else f"aggregate ({entry['kind']})"
        rows.append([f"{label}: valid within 2 %",
                     _target_cell(entry["validity"]["fraction_within"][repr(0.02)], TARGETS["validity_within_2pct"])])
        rows.append([f"{label}: C2ST AUC", _target_cell(entry["c2st"]["auc"], TARGETS["c2st_auc_max"], below=True)])
    return section("Summary", [table(["quantity", "value"], rows)], anchor="summary")


def _describe_data(info: dict[str, Any]) -> str:
    where = f"the run's test split of {info['n_candidates']}" if info["same_as_training"] else "all rows"
    sub = ", a seeded random subsample" if info["n_analysed"] < info["n_candidates"] else ""
    return f"{info['data']} ({info['n_available']} examples): {info['n_analysed']} analysed ({where}{sub})"


def _overview(run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any]) -> str:
    from rotcurve.reports.html import definition_list, section

    mc = run.model_config
    items = [
        ("run", str(run.path.resolve())),
        ("checkpoint", f"{run.checkpoint.name} (epoch {run.epoch})"),
        ("model", f"{mc.model}, latent dimension {mc.latent_dim}, posterior {mc.posterior}"),
        ("trained on", f"{run.data.get('spec')} ({run.data.get('n')} examples, split "
                       f"{run.data.get('fractions')}, seed {run.data.get('seed')})"),
        ("analysed data", _describe_data(aset.info)),
        ("seed", cfg.seed),
        ("generated per source", cfg.n_samples),
        ("versions", ", ".join(f"{k} {v}" for k, v in metrics["versions"].items())),
    ]
    return section("Run and data", [definition_list(items)], anchor="overview")


# ------------------------------------------------------------------------- the writer
def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} exists and is not a folder; give a folder for the report")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists; pass --overwrite (overwrite=True) to replace it")
    if out.exists() and any(out.iterdir()) and not _is_report_folder(out):
        raise DataError(
            f"{out} is a folder that holds something other than a rotcurve report; it is not replaced "
            "even with --overwrite: choose another output folder"
        )
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"{out}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{out}: folder {parent} is not writable; choose another output folder")


def _is_report_folder(path: Path) -> bool:
    """Whether ``path`` holds a report written by :func:`make_report` (its metrics.json says so)."""
    try:
        return json.loads((path / "metrics.json").read_text()).get("format") == REPORT_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _commit(tmp: Path, out: Path, overwrite: bool) -> None:
    """Move the finished folder ``tmp`` to ``out``; an old ``out`` goes only once the new one is in place."""
    from rotcurve.io.atomic import fsync_dir

    parent = out.parent if str(out.parent) else Path(".")
    if out.exists():
        if not overwrite:
            raise OutputExistsError(f"{out} appeared while the report was built; nothing was replaced")
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
        os.rmdir(old)
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)
    fsync_dir(parent)


def make_report(
    run_or_dir: Any,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    n_samples: int = 2000,
    n_curves: int = 5000,
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = True,
    which: str = "best",
    device: Any = "cpu",
    options: dict[str, Any] | None = None,
) -> ReportResult:
    """Analyse a trained run on a data set and write the report folder atomically.

    Writes ``out/report.html`` (one self-contained file: CSS inline, figures
    embedded as base64 PNG, no external references), ``out/figures/NAME.png``
    and ``.pdf`` for every figure, and ``out/metrics.json`` (every number of
    the report; see the module docstring).  The folder is built next to
    ``out`` and renamed into place when complete; an existing ``out`` is
    replaced (with ``overwrite``) only then.

    Parameters
    ----------
    run_or_dir : Run or path
        A loaded run, or a run folder of ``rotcurve train``.
    data : path or "mnist:DIR"
        Curves on the run's radius grid (the run's training file: its test
        split is analysed; another file: all rows), or MNIST for an MNIST run.
    out : path
        The report folder to create.
    n_samples : int, keyword-only
        Generated curves per latent source (prior, Gaussian, mixture).
    n_curves : int, keyword-only
        Most real curves analysed (seeded subsample).
    seed : int, keyword-only
        The one seed of the report.
    overwrite : bool, keyword-only
        Replace an existing ``out``.
    progress : bool, keyword-only
        Progress bars on stderr.
    which, device : keyword-only
        Checkpoint and device when ``run_or_dir`` is a folder.
    options : dict, keyword-only
        Further :class:`ReportConfig` fields (unknown keys are an error).

    Returns
    -------
    ReportResult
        ``path`` (``out/report.html``), ``folder`` (``out``) and ``metrics``
        (the content of metrics.json).

    Raises
    ------
    DataError
        Data that do not fit the run (kind, radius grid), missing files.
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    ConfigError
        Invalid options.
    """
    from tqdm.auto import tqdm

    from rotcurve.reports.html import page
    from rotcurve.config import from_dict, to_dict
    from rotcurve.io.atomic import atomic_write_text

    cfg = from_dict(ReportConfig, {"n_samples": n_samples, "n_curves": n_curves, "seed": seed, **(options or {})},
                    where="report")
    out = Path(out)
    _check_out(out, overwrite)
    run = _load(run_or_dir, which, device)
    aset = analysis_set(run, data, n_curves=cfg.n_curves, seed=cfg.seed)  # checks kind / radii first

    t0 = time.perf_counter()
    n_steps = 4 if run.kind == "mnist" else 10
    parent = out.parent if str(out.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent))
    os.chmod(tmp, 0o777 & ~_umask())
    bar = tqdm(total=n_steps, desc="report", unit="step", disable=not progress)
    try:
        b = _Builder(tmp, cfg, bar)
        metrics: dict[str, Any] = {
            "format": REPORT_FORMAT,
            "format_version": _REPORT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "run": {
                "path": str(run.path.resolve()),
                "checkpoint": run.checkpoint.name,
                "epoch": int(run.epoch),
                "kind": run.kind,
                "latent_dim": run.latent_dim,
                "model_config": run.model_config.to_dict(),
                "training_data": run.data.get("spec"),
                "training_seed": run.data.get("seed"),
                "fractions": run.data.get("fractions"),
            },
            "data": aset.info,
            "config": to_dict(cfg),
            "seeds": {"report": cfg.seed, "samples": cfg.seed, "aggregate_fit": 0,
                      **{name: _stream_seed(cfg.seed, name) for name in _STREAMS}},
            "versions": _versions(),
            "targets": TARGETS,
        }
        _training_section(b, run, metrics)
        if run.kind == "mnist":
            _mnist_report(b, run, aset, cfg, metrics, progress)
        else:
            _curves_report(b, run, aset, cfg, metrics, progress)
        metrics["notes"] = b.notes
        metrics["warnings"] = b.warnings
        if b.warnings:
            from rotcurve.reports.html import note, section

            b.body.append(section("Warnings raised while the report was made",
                                  [note(w) for w in b.warnings], anchor="warnings"))
        metrics["figures"] = b.figures
        metrics["timings_s"] = {**b.timings, "total": round(time.perf_counter() - t0, 3)}
        metrics = _plain(metrics)
        body = [_overview(run, aset, cfg, metrics), _summary_section(run, metrics), *b.body]
        title = f"rotcurve report: {run.path.name}"
        subtitle = (f"{run.kind} run, d = {run.latent_dim}, checkpoint {run.checkpoint.name} (epoch {run.epoch}); "
                    f"data {aset.info['data']}; seed {cfg.seed}; written {metrics['created']}. "
                    "Figures are in figures/ as PNG and PDF; every number is in metrics.json.")
        atomic_write_text(tmp / "report.html", page(title, body, subtitle=subtitle))
        atomic_write_text(tmp / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False) + "\n")
        bar.close()
        _commit(tmp, out, overwrite)
    except BaseException:
        bar.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReportResult(path=out / "report.html", metrics=metrics, folder=out)
