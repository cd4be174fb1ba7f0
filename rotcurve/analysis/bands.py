"""Per-radius quantile bands of a set of rotation curves, and their comparison.

At every radius the distribution of ``v`` over the set of curves is summarised
by a few quantiles (by default 5, 16, 50, 84 and 95 %: the median and the
central 68 % and 90 % intervals).  Comparing the bands of generated curves with
those of simulated ones shows, radius by radius, whether a generative model
reproduces the spread of the population, not only typical curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rotcurve.analysis.figures import RADIUS_LABEL, VELOCITY_LABEL, new_figure
from rotcurve.errors import ConfigError, DataError

__all__ = ["DEFAULT_QUANTILES", "quantile_bands", "compare_bands", "bands_figure"]

#: Median and the central 68 % and 90 % intervals.
DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.16, 0.5, 0.84, 0.95)


def _check_quantiles(quantiles: Sequence[float]) -> np.ndarray:
    q = np.asarray(quantiles, dtype=np.float64)
    if q.ndim != 1 or q.size == 0 or np.any(~np.isfinite(q)) or np.any((q < 0) | (q > 1)):
        raise ConfigError(f"quantiles must be numbers in [0, 1], got {tuple(quantiles)!r}")
    if np.any(np.diff(q) <= 0):
        raise ConfigError(f"quantiles must be strictly increasing, got {tuple(quantiles)!r}")
    return q


def _check_curves(curves: Any, name: str = "curves") -> np.ndarray:
    v = np.asarray(curves, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] < 1:
        raise DataError(f"{name} must be a 2-D array (N, n_r) with N >= 1, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise DataError(f"{name} hold NaN or infinite values")
    return v


def quantile_bands(
    curves: np.ndarray, *, quantiles: Sequence[float] = DEFAULT_QUANTILES
) -> np.ndarray:
    """Quantiles of the velocity at each radius.

    Parameters
    ----------
    curves : (N, n_r) array_like
        Circular velocities in km/s (or any values), finite.
    quantiles : sequence of float, keyword-only
        Strictly increasing levels in [0, 1].

    Returns
    -------
    numpy.ndarray
        Shape (n_q, n_r), same units as ``curves``; row ``k`` is quantile
        ``quantiles[k]`` over the N curves (linear interpolation between order
        statistics, numpy's default).

    Raises
    ------
    DataError
        Curves not a finite (N, n_r) array.
    ConfigError
        Invalid quantile levels.
    """
    q = _check_quantiles(quantiles)
    return np.quantile(_check_curves(curves), q, axis=0)


def compare_bands(
    real: np.ndarray, generated: np.ndarray, *, quantiles: Sequence[float] = DEFAULT_QUANTILES
) -> pd.DataFrame:
    """How far the generated bands lie from the real ones, per quantile level.

    Parameters
    ----------
    real, generated : (N, n_r) and (M, n_r) array_like
        Positive velocities in km/s at the same radii.
    quantiles : sequence of float, keyword-only

    Returns
    -------
    pandas.DataFrame
        One row per level: ``quantile``, ``max_abs_frac`` and
        ``mean_abs_frac`` of ``q_generated(R) / q_real(R) - 1`` over the radii.
    """
    a = quantile_bands(real, quantiles=quantiles)
    b = quantile_bands(generated, quantiles=quantiles)
    if a.shape != b.shape:
        raise DataError(
            f"real and generated curves have different radii counts: {a.shape[1]} vs {b.shape[1]}"
        )
    if np.any(a <= 0):
        raise DataError("real curves must be positive to compare bands fractionally")
    frac = np.abs(b / a - 1.0)
    return pd.DataFrame(
        {
            "quantile": _check_quantiles(quantiles),
            "max_abs_frac": frac.max(axis=1),
            "mean_abs_frac": frac.mean(axis=1),
        }
    )


def bands_figure(
    radii: np.ndarray,
    real: np.ndarray,
    generated: np.ndarray,
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    labels: tuple[str, str] = ("simulated", "generated"),
    log_radius: bool = True,
) -> Any:
    """Figure: quantile bands of real and generated curves, and their ratio.

    The top panel shades each symmetric pair of quantiles (outermost lightest)
    and draws the median for both sets; the bottom panel shows
    ``q_generated / q_real - 1`` in per cent for every level.

    Parameters
    ----------
    radii : (n_r,) array_like
        Radii in kpc.
    real, generated : (N, n_r) and (M, n_r) array_like
        Velocities in km/s.
    quantiles : sequence of float, keyword-only
        Levels; pairs ``q`` and ``1 - q`` are shaded, 0.5 is drawn as a line.
    labels : (str, str), keyword-only
        Legend names of the two sets.
    log_radius : bool, keyword-only
        Logarithmic radius axis.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (bands, ratio).
    """
    q = _check_quantiles(quantiles)
    r = np.asarray(radii, dtype=np.float64)
    a = quantile_bands(real, quantiles=q)
    b = quantile_bands(generated, quantiles=q)
    if r.ndim != 1 or a.shape[1] != r.size or b.shape[1] != r.size:
        raise DataError(
            f"radii ({r.shape}) and curves ({a.shape[1]}, {b.shape[1]} radii) do not match"
        )
    fig = new_figure(figsize=(6.4, 6.0))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    pairs = [(i, q.size - 1 - i) for i in range(q.size // 2) if np.isclose(q[i], 1 - q[q.size - 1 - i])]
    mid = np.flatnonzero(np.isclose(q, 0.5))
    # Real: shaded bands (inner darker) and a black median; generated: orange
    # lines at the same levels (outer dotted, inner dashed) and median.
    for depth, (lo, hi) in enumerate(pairs):
        top.fill_between(r, a[lo], a[hi], color="grey", alpha=0.25 + 0.2 * depth, linewidth=0,
                         label=f"{labels[0]} {q[lo]:.0%}-{q[hi]:.0%}")
    styles = (":", "--", "-.")
    for depth, (lo, hi) in enumerate(pairs):
        style = styles[min(depth, len(styles) - 1)]
        top.plot(r, b[lo], color="tab:orange", ls=style, lw=1.3, label=f"{labels[1]} {q[lo]:.0%}-{q[hi]:.0%}")
        top.plot(r, b[hi], color="tab:orange", ls=style, lw=1.3)
    if mid.size:
        top.plot(r, a[mid[0]], color="black", lw=1.5, label=f"{labels[0]} median")
        top.plot(r, b[mid[0]], color="tab:orange", lw=1.5, label=f"{labels[1]} median")
    top.set_ylabel(VELOCITY_LABEL)
    top.legend(fontsize="small", ncol=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 100.0 * (b / a - 1.0)
    for k in range(q.size):
        bottom.plot(r, ratio[k], lw=1, label=f"{q[k]:.0%}")
    bottom.axhline(0.0, color="grey", lw=0.8)
    bottom.set_ylabel("gen./sim. $-$ 1 [%]")
    bottom.set_xlabel(RADIUS_LABEL)
    bottom.legend(fontsize="x-small", ncol=min(q.size, 5))
    if log_radius:
        bottom.set_xscale("log")
    fig.align_ylabels()
    return fig
