"""Corner plots (the ``corner`` package) of parameters and latent variables.

* :func:`corner_plot` -- ``log10`` physical parameters next to the latent
  means: the mixed block shows which latent tracks which parameter;
* :func:`corner_overlay` -- samples drawn from the encoder posteriors against
  the posterior means alone (as in the reference rotation-curve tutorial:
  when the posteriors are narrow the two distributions coincide);
* :func:`corner_compare` -- latents of encoded real curves against latents
  the generator draws (e.g. from an aggregate), to see what sampling misses.

Every function returns a :class:`matplotlib.figure.Figure` of ``K x K`` axes
(``K`` plotted dimensions) built without pyplot; save it with
:func:`rotcurve.analysis.figures.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rotcurve.analysis.figures import new_figure
from rotcurve.analysis.latents import PARAM_LABELS, PARAM_NAMES, latent_names, log10_params
from rotcurve.errors import ConfigError, DataError

__all__ = ["corner_plot", "corner_overlay", "corner_compare", "latent_labels"]

_COLORS = ("black", "tab:orange")
# Above this many points the scatter of outliers is left out (contours and
# density carry the information, and the files stay small).
_MAX_DATAPOINTS = 20000


def latent_labels(d: int) -> list[str]:
    """Axis labels ``$z_1$ ... $z_d$`` of ``d`` latent dimensions."""
    return [f"${name[0]}_{{{name[1:]}}}$" for name in latent_names(d)]


def _as_2d(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise DataError(f"{name} must be a 2-D array (N, d) with N >= 2, got shape {np.shape(x)}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"{name} hold NaN or infinite values")
    return a


def _ranges(*arrays: np.ndarray, clip: float) -> list[tuple[float, float]]:
    """Per-column plotting range covering the central ``clip`` of all arrays together."""
    both = np.concatenate(arrays, axis=0)
    lo = np.quantile(both, (1.0 - clip) / 2.0, axis=0)
    hi = np.quantile(both, 1.0 - (1.0 - clip) / 2.0, axis=0)
    pad = 0.05 * (hi - lo)
    out = []
    for a, b, p in zip(lo, hi, pad):
        if b - a <= 0:  # a constant column: give it a unit-wide window
            a, b, p = a - 0.5, b + 0.5, 0.0
        out.append((float(a - p), float(b + p)))
    return out


def _figure(k: int) -> Any:
    size = 2.0 * k + 1.2
    return new_figure(figsize=(size, size))


def _corner(data: np.ndarray, fig: Any, *, color: str, ranges: list[tuple[float, float]],
            labels: Sequence[str], bins: int, smooth: float | None, background: bool,
            truths: Sequence[float | None] | None = None) -> None:
    import corner

    corner.corner(
        data,
        fig=fig,
        bins=bins,
        range=ranges,
        color=color,
        labels=list(labels),
        smooth=smooth,
        smooth1d=smooth,
        truths=truths,
        truth_color="tab:blue",
        weights=np.full(data.shape[0], 1.0 / data.shape[0]),  # 1-D histograms sum to 1
        plot_datapoints=background and data.shape[0] <= _MAX_DATAPOINTS,
        plot_density=background,
        no_fill_contours=not background,
        fill_contours=False,
        label_kwargs={"fontsize": "small"},
    )


def _legend(fig: Any, names: Sequence[str], counts: Sequence[int]) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, lw=2) for c in _COLORS[: len(names)]]
    fig.legend(
        handles,
        [f"{n} (N={c})" for n, c in zip(names, counts)],
        loc="upper right",
        fontsize="medium",
        frameon=False,
    )


def corner_plot(
    params: Mapping[str, Any] | pd.DataFrame | None,
    latents: np.ndarray | None = None,
    *,
    truths: Sequence[float | None] | None = None,
    bins: int = 30,
    smooth: float | None = 0.75,
    clip: float = 0.995,
) -> Any:
    """Corner plot of ``log10`` Md, Rd, Mh, c and (optionally) the latent means.

    Parameters
    ----------
    params : mapping, pandas.DataFrame or None
        ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun], ``c``: (N,) each; plotted as
        ``log10``.  None plots the latents alone (curves without known
        parameters).
    latents : (N, d) array_like, optional
        Latent means of the same curves, plotted after the parameters
        (required when ``params`` is None).
    truths : sequence of float or None, keyword-only
        ``4 + d`` values in plotted coordinates (``log10`` for the parameters;
        ``None`` skips one) marked as lines, e.g. one galaxy.
    bins : int, keyword-only
        Histogram bins per axis.
    smooth : float or None, keyword-only
        Gaussian smoothing of the histograms in bins.
    clip : float, keyword-only
        Central fraction of the points each axis range covers (outliers beyond
        are cut from view).

    Returns
    -------
    matplotlib.figure.Figure
        ``(4 + d)^2`` axes (``d^2`` without parameters).
    """
    columns, labels = [], []
    if params is None and latents is None:
        raise DataError("give the parameters, the latents or both")
    if params is not None:
        columns.append(log10_params(params).to_numpy())
        labels += [PARAM_LABELS[name] for name in PARAM_NAMES]
    if latents is not None:
        z = _as_2d(latents, "latents")
        if columns and z.shape[0] != columns[0].shape[0]:
            raise DataError(f"latents have {z.shape[0]} rows but the parameters {columns[0].shape[0]}")
        columns.append(z)
        labels += latent_labels(z.shape[1])
    data = np.concatenate(columns, axis=1)
    if truths is not None and len(truths) != data.shape[1]:
        raise ConfigError(f"truths needs {data.shape[1]} values (None to skip one), got {len(truths)}")
    fig = _figure(data.shape[1])
    _corner(data, fig, color=_COLORS[0], ranges=_ranges(data, clip=clip), labels=labels,
            bins=bins, smooth=smooth, background=True, truths=truths)
    return fig


def _overlay(
    first: np.ndarray, second: np.ndarray, names: tuple[str, str], labels: Sequence[str] | None,
    *, bins: int, smooth: float | None, clip: float,
) -> Any:
    if first.shape[1] != second.shape[1]:
        raise DataError(f"the two sets differ in dimension: {first.shape[1]} vs {second.shape[1]}")
    k = first.shape[1]
    labels = list(labels) if labels is not None else latent_labels(k)
    if len(labels) != k:
        raise ConfigError(f"labels needs {k} entries, got {len(labels)}")
    ranges = _ranges(first, second, clip=clip)
    fig = _figure(k)
    _corner(first, fig, color=_COLORS[0], ranges=ranges, labels=labels, bins=bins, smooth=smooth,
            background=True)
    _corner(second, fig, color=_COLORS[1], ranges=ranges, labels=labels, bins=bins, smooth=smooth,
            background=False)
    _legend(fig, names, (first.shape[0], second.shape[0]))
    return fig


def corner_overlay(
    samples: np.ndarray,
    means: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    bins: int = 30,
    smooth: float | None = 0.75,
    clip: float = 0.995,
) -> Any:
    """Corner plot of posterior samples (black) with the posterior means (orange) on top.

    Parameters
    ----------
    samples : (M, d) array_like
        Draws from the encoder posteriors ``q(z | x_i)`` of many curves
        (e.g. 100 per curve), latent units.
    means : (N, d) array_like
        The posterior means ``mu_i`` of the same curves.
    labels : sequence of str, keyword-only
        ``d`` axis labels; default ``z_1 ... z_d``.
    bins, smooth, clip
        See :func:`corner_plot`.

    Returns
    -------
    matplotlib.figure.Figure
        ``d^2`` axes; 1-D histograms are normalised so the two sets compare.
    """
    return _overlay(_as_2d(samples, "samples"), _as_2d(means, "means"),
                    ("posterior samples", "posterior means"), labels,
                    bins=bins, smooth=smooth, clip=clip)


def corner_compare(
    encoded_latents: np.ndarray,
    generated_latents: np.ndarray,
    *,
    labels: Sequence[str] | None = None,
    bins: int = 30,
    smooth: float | None = 0.75,
    clip: float = 0.995,
) -> Any:
    """Corner plot of encoded latents (black) against generated latents (orange).

    Parameters
    ----------
    encoded_latents : (N, d) array_like
        Latent means of real (simulated) curves.
    generated_latents : (M, d) array_like
        Latent vectors the sampler draws (prior or fitted aggregate).
    labels, bins, smooth, clip
        See :func:`corner_overlay`.

    Returns
    -------
    matplotlib.figure.Figure
        ``d^2`` axes.
    """
    return _overlay(_as_2d(encoded_latents, "encoded latents"),
                    _as_2d(generated_latents, "generated latents"),
                    ("encoded", "generated"), labels, bins=bins, smooth=smooth, clip=clip)
