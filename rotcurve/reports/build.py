"""The orchestration of a report: :func:`make_report` and :func:`corner_figure`.

:func:`make_report` checks the output folder and the data, builds the report
in a temporary folder next to ``out`` (the sections of
:mod:`rotcurve.reports.sections`, chosen by the run's data kind), writes
``report.html`` and ``metrics.json`` and renames the folder into place
(:mod:`rotcurve.reports.folder`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rotcurve.analysis.corner_plots import corner_plot
from rotcurve.datasets.kinds import CurveKind, kind_named
from rotcurve.errors import DataError
from rotcurve.io.atomic import atomic_write_text
from rotcurve.reports.analysis_set import AnalysisSet, analysis_set
from rotcurve.reports.builder import Builder
from rotcurve.reports.config import ReportConfig, ReportResult
from rotcurve.reports.folder import check_out, staged_folder
from rotcurve.reports.html import note, page, section
from rotcurve.reports.metrics import header, plain
from rotcurve.reports.sections import sections_for
from rotcurve.reports.sections.summary import overview_section, summary_section
from rotcurve.reports.sections.training import training_section
from rotcurve.run import Run, load_run
from rotcurve.serialization import from_dict

__all__ = ["make_report", "corner_figure"]


def _load(run_or_dir: Any, which: str, device: Any) -> Any:
    if isinstance(run_or_dir, Run):
        return run_or_dir
    return load_run(run_or_dir, which=which, device=device)


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
        or every curve of another file; see :func:`rotcurve.reports.analysis_set`).
        Without true parameters the latent means are plotted alone.
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
    model_run = _load(run, which, device)
    if not isinstance(kind_named(model_run.kind), CurveKind):
        raise DataError("corner plots of physical parameters are for curve runs; use `rotcurve report` for MNIST")
    aset = analysis_set(model_run, data, n_curves=n_curves, seed=seed)
    z = model_run.encode(aset.x).mean
    return corner_plot(aset.params, z)


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
    the report; see :mod:`rotcurve.reports`).  The folder is built next to
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

    cfg = from_dict(ReportConfig, {"n_samples": n_samples, "n_curves": n_curves, "seed": seed, **(options or {})},
                    where="report")
    out = Path(out)
    check_out(out, overwrite)
    run = _load(run_or_dir, which, device)
    aset = analysis_set(run, data, n_curves=cfg.n_curves, seed=cfg.seed)  # checks kind / radii first
    sections = sections_for(run)

    t0 = time.perf_counter()
    with staged_folder(out, overwrite) as tmp:
        bar = tqdm(total=1 + sections.steps, desc="report", unit="step", disable=not progress)
        try:
            b = Builder(tmp, cfg, bar)
            metrics = header(run, aset.info, cfg)
            training_section(b, run, metrics)
            sections.write(b, run, aset, cfg, metrics, progress)
            metrics = _finish(b, metrics, t0)
            atomic_write_text(tmp / "report.html", _page(b, run, aset, cfg, metrics))
            atomic_write_text(tmp / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False) + "\n")
        finally:
            bar.close()
    return ReportResult(path=out / "report.html", metrics=metrics, folder=out)


def _finish(b: Builder, metrics: dict[str, Any], t0: float) -> dict[str, Any]:
    """Notes, warnings (also as a section), figures and timings added; the JSON-ready metrics."""
    metrics["notes"] = b.notes
    metrics["warnings"] = b.warnings
    if b.warnings:
        b.body.append(section("Warnings raised while the report was made",
                              [note(w) for w in b.warnings], anchor="warnings"))
    metrics["figures"] = b.figures
    metrics["timings_s"] = {**b.timings, "total": round(time.perf_counter() - t0, 3)}
    return plain(metrics)


def _page(b: Builder, run: Any, aset: AnalysisSet, cfg: ReportConfig, metrics: dict[str, Any]) -> str:
    """The HTML page: overview and summary on top, then the sections in the order they were made."""
    body = [overview_section(run, aset, cfg, metrics), summary_section(run, metrics), *b.body]
    title = f"rotcurve report: {run.path.name}"
    subtitle = (f"{run.kind} run, d = {run.latent_dim}, checkpoint {run.checkpoint.name} (epoch {run.epoch}); "
                f"data {aset.info['data']}; seed {cfg.seed}; written {metrics['created']}. "
                "Figures are in figures/ as PNG and PDF; every number is in metrics.json.")
    return page(title, body, subtitle=subtitle)
