"""The report's settings (:class:`ReportConfig`), its result, its targets and its seeded random streams."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rotcurve.analysis.latents import REGRESSORS
from rotcurve.analysis.twosample import CLASSIFIERS
from rotcurve.errors import ConfigError, Option
from rotcurve.seeds import seed31
from rotcurve.validation import check_int, is_int

__all__ = [
    "ReportConfig",
    "ReportResult",
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "TARGETS",
    "STREAMS",
    "MAX_CORNER_DIMS",
    "LIMITS",
    "stream_seed",
    "positive_int",
]

#: ``format`` field of ``metrics.json``.
REPORT_FORMAT: str = "rotcurve-report"
#: ``format_version`` field of ``metrics.json``.
REPORT_VERSION: int = 1

#: The targets the report checks (``metrics.json`` ``targets`` says met or not).
TARGETS: dict[str, Any] = {
    "r2_nonlinear": {"Md": 0.98, "Rd": 0.98, "Mh": 0.98, "c": 0.93},
    "validity_within_2pct": 0.99,
    "c2st_auc_max": 0.6,
}

#: Spawn keys of the report's random streams (one seed, one stream per use).
STREAMS: dict[str, int] = {
    "subsample": 1, "posterior": 2, "predict": 3, "validity": 4, "c2st": 5,
    "pick": 6, "tsne": 7, "score": 8,
}
#: Corner plots of more dimensions than this are left out (unreadable, slow).
MAX_CORNER_DIMS: int = 12


#: Allowed range of each integer setting, (minimum, maximum).  The maxima keep a
#: report within memory and hours, not days: the validity test fits every
#: generated curve, the C2ST trains a classifier on them, a 1,200-dpi figure is
#: print quality; the seed is any integer >= 0.
LIMITS: dict[str, tuple[int, int | None]] = {
    "n_samples": (10, 200_000),
    "n_curves": (10, 10_000_000),
    "seed": (0, None),
    "posterior_curves": (1, 100_000),
    "posterior_draws": (1, 1_000),
    "folds": (2, 20),
    "tsne_points": (10, 20_000),
    "dpi": (20, 1_200),
}

#: The settings ``rotcurve report`` has a flag for (errors name the flag there).
CLI_FLAGS: dict[str, str] = {"n_samples": "--n-samples", "n_curves": "--n-curves", "seed": "--seed", "dpi": "--dpi"}


def stream_seed(seed: int, name: str) -> int:
    """The integer seed of the report stream ``name`` (:data:`STREAMS`) derived from ``seed`` (:func:`rotcurve.seeds.seed31`)."""
    return seed31(seed, STREAMS[name])


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """:func:`rotcurve.validation.check_int` under its old name here (``minimum`` positional)."""
    return check_int(name, value, minimum=minimum)


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
        for name, (low, high) in LIMITS.items():
            label = Option(name, CLI_FLAGS[name]) if name in CLI_FLAGS else name
            check_int(label, getattr(self, name), minimum=low, maximum=high)
        if self.regressor not in REGRESSORS:
            raise ConfigError(f"unknown regressor {self.regressor!r}; choose one of {', '.join(REGRESSORS)}")
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(f"unknown classifier {self.classifier!r}; choose one of {', '.join(CLASSIFIERS)}")
        if not is_int(self.n_jobs, numpy=False) or self.n_jobs == 0 or self.n_jobs < -1:
            raise ConfigError(f"n_jobs must be a positive integer or -1, got {self.n_jobs!r}")


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """What :func:`rotcurve.reports.make_report` wrote.

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
