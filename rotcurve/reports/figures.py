"""Small summary figures of the run report: training history, correlations, errors, validity.

Each function takes plain arrays (nothing here imports torch) and returns a
:class:`matplotlib.figure.Figure` built without pyplot (see
:mod:`rotcurve.analysis.figures`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rotcurve.analysis.figures import RADIUS_LABEL, new_figure
from rotcurve.analysis.latents import PARAM_LABELS, PARAM_NAMES
from rotcurve.errors import DataError

__all__ = [
    "training_history_figure",
    "correlation_figure",
    "error_by_radius_figure",
    "validity_figure",
]


def training_history_figure(records: Sequence[Mapping[str, Any]]) -> Any:
    """Training and validation loss per epoch (nats per example), best epoch marked.

    Parameters
    ----------
    records : sequence of dict
        The lines of a run's ``metrics.jsonl``: ``epoch``, ``train_loss``,
        ``val_loss`` (others ignored).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the y range leaves out the first epochs' transient so the
        converged part is readable.
    """
    if not records:
        raise DataError("the run has no training records (metrics.jsonl is empty)")
    epoch = np.array([float(r["epoch"]) for r in records])
    fig = new_figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    series = {}
    for key, label, color in (("train_loss", "training", "tab:blue"), ("val_loss", "validation", "tab:orange")):
        y = np.array([float(r[key]) if r.get(key) is not None else np.nan for r in records])
        if np.isfinite(y).any():
            ax.plot(epoch, y, color=color, lw=1.3, label=label)
            series[key] = y
    val = series.get("val_loss")
    if val is not None and np.isfinite(val).any():
        best = int(np.nanargmin(val))
        ax.axvline(epoch[best], color="grey", ls=":", lw=1, label=f"best epoch {int(epoch[best])}")
    values = np.concatenate([y[np.isfinite(y)] for y in series.values()]) if series else np.array([])
    if values.size > 10:
        tail = np.concatenate([y[len(y) // 10 :][np.isfinite(y[len(y) // 10 :])] for y in series.values()])
        lo, hi = float(values.min()), float(np.max(tail))
        if hi > lo:
            pad = 0.05 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (negative ELBO) [nats / example]")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def correlation_figure(table: pd.DataFrame, *, method: str = "spearman") -> Any:
    """Heat map of the correlation of each latent with each ``log10`` parameter.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`rotcurve.analysis.latents.correlations`.
    method : {"spearman", "pearson"}, keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        One axes (latents down, parameters across) with the coefficients written in.
    """
    if method not in ("spearman", "pearson"):
        raise DataError(f"method must be 'spearman' or 'pearson', got {method!r}")
    latents = list(dict.fromkeys(table["latent"]))
    grid = table.pivot(index="latent", columns="parameter", values=method).loc[latents, list(PARAM_NAMES)]
    values = grid.to_numpy(dtype=np.float64)
    fig = new_figure(figsize=(5.6, 1.0 + 0.55 * len(latents)))
    ax = fig.subplots()
    im = ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            ax.text(j, i, "n/a" if not np.isfinite(v) else f"{v:+.2f}", ha="center", va="center",
                    fontsize="small", color="white" if np.isfinite(v) and abs(v) > 0.6 else "black")
    ax.set_xticks(range(len(PARAM_NAMES)))
    ax.set_xticklabels([PARAM_LABELS[p] for p in PARAM_NAMES], fontsize="small")
    ax.set_yticks(range(len(latents)))
    ax.set_yticklabels([f"$z_{{{name[1:]}}}$" for name in latents])
    fig.colorbar(im, ax=ax, label=f"{method.capitalize()} correlation")
    fig.tight_layout()
    return fig


def error_by_radius_figure(radii: np.ndarray, true: np.ndarray, decoded: np.ndarray) -> Any:
    """Fractional reconstruction error ``|v_hat / v - 1|`` at each radius: median, 90 % and 99 %.

    Parameters
    ----------
    radii : (n_r,) array_like
        kpc.
    true, decoded : (N, n_r) array_like
        Curves and their reconstructions, km/s.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, logarithmic in both radius and error (per cent).
    """
    r = np.asarray(radii, dtype=np.float64)
    a = np.asarray(true, dtype=np.float64)
    b = np.asarray(decoded, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != r.size:
        raise DataError(f"curves {a.shape}, reconstructions {b.shape} and radii {r.shape} do not match")
    err = 100.0 * np.abs(b / a - 1.0)
    fig = new_figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for q, style in ((0.5, "-"), (0.9, "--"), (0.99, ":")):
        ax.plot(r, np.quantile(err, q, axis=0), color="black", ls=style, label=f"{q:.0%} quantile")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(RADIUS_LABEL)
    ax.set_ylabel(r"$|\hat v / v - 1|$ [%]")
    ax.set_title(f"reconstruction error of {a.shape[0]} held-out curves")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def validity_figure(rms_frac: Mapping[str, np.ndarray], thresholds: Sequence[float] = (0.01, 0.02)) -> Any:
    """Distributions of the disc-plus-halo fit residual of several sets of curves.

    Parameters
    ----------
    rms_frac : mapping of str to (N,) array
        RMS fractional residual of the best fit per curve, by set name
        (e.g. "simulated", "prior", "gmm").
    thresholds : sequence of float
        Drawn as vertical lines (fractions, e.g. 0.01 = 1 %).

    Returns
    -------
    matplotlib.figure.Figure
        Cumulative fraction of curves against the residual (log axis, per cent).
    """
    if not rms_frac:
        raise DataError("no residuals to plot")
    fig = new_figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    floor = 1e-7
    for name, values in rms_frac.items():
        x = np.sort(np.clip(np.asarray(values, dtype=np.float64), floor, None)) * 100.0
        if x.size == 0:
            continue
        y = np.arange(1, x.size + 1) / x.size
        ax.step(x, y, where="post", lw=1.4, label=f"{name} (N={x.size})")
    for t in thresholds:
        ax.axvline(100.0 * t, color="grey", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("RMS fractional residual of the best disc + halo fit [%]")
    ax.set_ylabel("fraction of curves with a smaller residual")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    return fig
