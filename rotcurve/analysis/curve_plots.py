"""Figures of rotation curves: reconstructions, samples, latent interpolations and traversals.

Functions that need a model take a ``decode`` callable, ``(M, d) latent
array -> (M, n_r) velocities in km/s`` (for example ``run.decode`` of
:mod:`rotcurve.run`), so this module never imports torch.  Every function
returns a :class:`matplotlib.figure.Figure`; axes are labelled in kpc and km/s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from rotcurve.analysis.figures import RADIUS_LABEL, VELOCITY_LABEL, new_figure
from rotcurve.errors import ConfigError, DataError
from rotcurve.validation import is_int

__all__ = [
    "Decoder",
    "interpolate_latents",
    "traverse_latents",
    "reconstruction_figure",
    "sampled_curves_figure",
    "interpolation_figure",
    "traversal_figure",
]

#: ``decode(z)``: latent vectors (M, d) to curves (M, n_r) in km/s.
Decoder = Callable[[np.ndarray], np.ndarray]


def _radii(radii: Any) -> np.ndarray:
    r = np.asarray(radii, dtype=np.float64)
    if r.ndim != 1 or r.size < 2 or not np.all(np.isfinite(r)) or np.any(r < 0):
        raise DataError(f"radii must be a 1-D array of >= 2 finite radii in kpc, got shape {r.shape}")
    return r


def _curves(x: Any, n_r: int, name: str) -> np.ndarray:
    v = np.asarray(x, dtype=np.float64)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[1] != n_r or v.shape[0] < 1:
        raise DataError(f"{name} must have shape (N, {n_r}) to match the radii, got {np.shape(x)}")
    if not np.all(np.isfinite(v)):
        raise DataError(f"{name} hold NaN or infinite values")
    return v


def _decode(decode: Decoder, z: np.ndarray, n_r: int) -> np.ndarray:
    return _curves(np.asarray(decode(z)), n_r, "decoded curves")


def _latent(z: Any, name: str) -> np.ndarray:
    a = np.asarray(z, dtype=np.float64)
    if a.ndim != 1 or a.size < 1 or not np.all(np.isfinite(a)):
        raise DataError(f"{name} must be a finite 1-D latent vector, got shape {a.shape}")
    return a


def interpolate_latents(z_start: np.ndarray, z_end: np.ndarray, *, steps: int) -> np.ndarray:
    """Evenly spaced points on the segment from ``z_start`` to ``z_end``.

    Parameters
    ----------
    z_start, z_end : (d,) array_like
        Latent vectors (e.g. the posterior means of two curves).
    steps : int, keyword-only
        Number of points (>= 2), both ends included.

    Returns
    -------
    numpy.ndarray
        Shape (steps, d): ``(1 - t) z_start + t z_end`` for ``t = 0 ... 1``.
    """
    a, b = _latent(z_start, "z_start"), _latent(z_end, "z_end")
    if a.shape != b.shape:
        raise DataError(f"z_start and z_end differ in dimension: {a.size} vs {b.size}")
    if not is_int(steps) or steps < 2:
        raise ConfigError(f"steps must be an integer >= 2, got {steps!r}")
    t = np.linspace(0.0, 1.0, int(steps))[:, None]
    return (1.0 - t) * a + t * b


def traverse_latents(
    z_base: np.ndarray, *, span: float = 2.0, steps: int = 7, scale: np.ndarray | float = 1.0
) -> np.ndarray:
    """Move one latent dimension at a time around a base point.

    Parameters
    ----------
    z_base : (d,) array_like
        Base point, e.g. the mean of the latent means.
    span : float, keyword-only
        Half-width of each sweep in units of ``scale``.
    steps : int, keyword-only
        Points per sweep (>= 2).
    scale : float or (d,) array_like, keyword-only
        Unit of each dimension (1 for the prior; the standard deviation of the
        latent means for an aggregate).

    Returns
    -------
    numpy.ndarray
        Shape (d, steps, d): sweep ``j`` varies dimension ``j`` from
        ``z_base[j] - span scale[j]`` to ``z_base[j] + span scale[j]``; the
        other dimensions stay at ``z_base``.
    """
    z0 = _latent(z_base, "z_base")
    d = z0.size
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), (d,))
    if not np.all(np.isfinite(s)) or np.any(s <= 0) or not (math.isfinite(span) and span > 0):
        raise ConfigError("span and scale must be positive and finite")
    if not is_int(steps) or steps < 2:
        raise ConfigError(f"steps must be an integer >= 2, got {steps!r}")
    offsets = np.linspace(-span, span, int(steps))
    out = np.repeat(np.repeat(z0[None, None, :], d, axis=0), int(steps), axis=1)
    for j in range(d):
        out[j, :, j] = z0[j] + offsets * s[j]
    return out


def _axes_style(ax: Any, *, log_radius: bool) -> None:
    if log_radius:
        ax.set_xscale("log")


def reconstruction_figure(
    radii: np.ndarray,
    true: np.ndarray,
    decoded: np.ndarray,
    *,
    n: int = 6,
    ncols: int = 3,
    log_radius: bool = True,
) -> Any:
    """True curves against their reconstructions, with the residuals below each.

    Parameters
    ----------
    radii : (n_r,) array_like
        Radii in kpc.
    true, decoded : (N, n_r) array_like
        Input curves and the model's reconstructions, km/s.
    n : int, keyword-only
        Curves shown (the first ``n``; choose which by slicing).
    ncols : int, keyword-only
        Panels per row.
    log_radius : bool, keyword-only
        Logarithmic radius axis.

    Returns
    -------
    matplotlib.figure.Figure
        ``2 min(n, N)`` axes: for each curve the velocities (true: black
        solid; reconstructed: orange dashed) above the residual
        ``decoded / true - 1`` in per cent.
    """
    r = _radii(radii)
    a = _curves(true, r.size, "true curves")
    b = _curves(decoded, r.size, "decoded curves")
    if a.shape != b.shape:
        raise DataError(f"true and decoded curves differ in shape: {a.shape} vs {b.shape}")
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n!r}")
    if np.any(a <= 0):
        raise DataError("true curves must be positive for fractional residuals")
    k = min(int(n), a.shape[0])
    cols = max(1, min(int(ncols), k))
    rows = math.ceil(k / cols)
    fig = new_figure(figsize=(3.4 * cols, 3.8 * rows))
    outer = fig.add_gridspec(rows, cols, hspace=0.35, wspace=0.35)
    for i in range(k):
        row, col = divmod(i, cols)
        inner = outer[row, col].subgridspec(2, 1, height_ratios=(3, 1), hspace=0.06)
        top = fig.add_subplot(inner[0])
        bottom = fig.add_subplot(inner[1], sharex=top)
        top.plot(r, a[i], color="black", lw=1.5, label="true")
        top.plot(r, b[i], color="tab:orange", lw=1.5, ls="--", label="reconstructed")
        bottom.plot(r, 100.0 * (b[i] / a[i] - 1.0), color="tab:orange", lw=1)
        bottom.axhline(0.0, color="grey", lw=0.8)
        top.tick_params(labelbottom=False)
        if col == 0:
            top.set_ylabel(VELOCITY_LABEL, fontsize="small")
            bottom.set_ylabel("resid. [%]", fontsize="small")
        bottom.set_xlabel(RADIUS_LABEL, fontsize="small")
        _axes_style(bottom, log_radius=log_radius)
        if i == 0:
            top.legend(fontsize="x-small")
    return fig


def sampled_curves_figure(
    radii: np.ndarray,
    curves: np.ndarray,
    *,
    n_max: int = 100,
    reference: np.ndarray | None = None,
    log_radius: bool = True,
    title: str | None = None,
) -> Any:
    """Generated curves as thin lines, optionally over the 5-95 % band of real ones.

    Parameters
    ----------
    radii : (n_r,) array_like
        Radii in kpc.
    curves : (N, n_r) array_like
        Generated curves in km/s; the first ``n_max`` are drawn.
    n_max : int, keyword-only
        Most curves drawn.
    reference : (M, n_r) array_like, optional, keyword-only
        Real curves whose 5-95 % band and median are drawn in grey.
    log_radius : bool, keyword-only
        Logarithmic radius axis.
    title : str, optional, keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        One axes.
    """
    r = _radii(radii)
    v = _curves(curves, r.size, "curves")
    if n_max < 1:
        raise ConfigError(f"n_max must be at least 1, got {n_max!r}")
    fig = new_figure()
    ax = fig.subplots()
    if reference is not None:
        ref = _curves(reference, r.size, "reference curves")
        lo, med, hi = np.quantile(ref, (0.05, 0.5, 0.95), axis=0)
        ax.fill_between(r, lo, hi, color="grey", alpha=0.3, lw=0, label="simulated 5-95%")
        ax.plot(r, med, color="grey", lw=2, label="simulated median")
    shown = v[: int(n_max)]
    for i, row in enumerate(shown):
        ax.plot(r, row, lw=0.7, alpha=0.6, color="tab:orange", label="generated" if i == 0 else None)
    ax.set_xlabel(RADIUS_LABEL)
    ax.set_ylabel(VELOCITY_LABEL)
    _axes_style(ax, log_radius=log_radius)
    ax.legend(fontsize="small")
    ax.set_title(title if title is not None else f"{shown.shape[0]} generated curves")
    return fig


def _colored_curves(fig: Any, ax: Any, r: np.ndarray, curves: np.ndarray, values: np.ndarray,
                    label: str) -> None:
    import matplotlib
    from matplotlib import cm, colors

    norm = colors.Normalize(vmin=float(values.min()), vmax=float(values.max()))
    cmap = matplotlib.colormaps["viridis"]
    for row, value in zip(curves, values):
        ax.plot(r, row, color=cmap(norm(value)), lw=1.2)
    mappable = cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=ax, label=label)


def interpolation_figure(
    z_start: np.ndarray,
    z_end: np.ndarray,
    decode: Decoder,
    radii: np.ndarray,
    *,
    steps: int = 9,
    curve_start: np.ndarray | None = None,
    curve_end: np.ndarray | None = None,
    log_radius: bool = True,
) -> Any:
    """Curves decoded along the straight line between two latent vectors.

    Parameters
    ----------
    z_start, z_end : (d,) array_like
        End points, e.g. the posterior means of two encoded curves.
    decode : callable
        ``(steps, d) -> (steps, n_r)`` km/s.
    radii : (n_r,) array_like
        Radii in kpc.
    steps : int, keyword-only
        Decoded points, ends included (>= 2).
    curve_start, curve_end : (n_r,) array_like, optional, keyword-only
        The original curves at the ends, drawn dashed in black.
    log_radius : bool, keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        The curves coloured by the interpolation weight ``t`` (one axes plus
        its colour bar).
    """
    r = _radii(radii)
    z = interpolate_latents(z_start, z_end, steps=steps)
    v = _decode(decode, z, r.size)
    if v.shape[0] != z.shape[0]:
        raise DataError(f"decode returned {v.shape[0]} curves for {z.shape[0]} latent vectors")
    fig = new_figure()
    ax = fig.subplots()
    _colored_curves(fig, ax, r, v, np.linspace(0.0, 1.0, z.shape[0]), "interpolation weight $t$")
    for curve, name in ((curve_start, "start curve"), (curve_end, "end curve")):
        if curve is not None:
            ax.plot(r, _curves(curve, r.size, name)[0], color="black", ls="--", lw=1.2,
                    label=f"{name} (input)")
    ax.set_xlabel(RADIUS_LABEL)
    ax.set_ylabel(VELOCITY_LABEL)
    _axes_style(ax, log_radius=log_radius)
    if curve_start is not None or curve_end is not None:
        ax.legend(fontsize="small")
    ax.set_title(r"decoded $(1-t)\,z_{\rm start} + t\,z_{\rm end}$")
    return fig


def traversal_figure(
    z_base: np.ndarray,
    decode: Decoder,
    radii: np.ndarray,
    *,
    span: float = 2.0,
    steps: int = 7,
    scale: np.ndarray | float = 1.0,
    ncols: int = 4,
    log_radius: bool = True,
) -> Any:
    """One panel per latent dimension: curves decoded while that dimension varies.

    Parameters
    ----------
    z_base : (d,) array_like
        The point the sweeps pass through.
    decode : callable
        ``(M, d) -> (M, n_r)`` km/s.
    radii : (n_r,) array_like
        Radii in kpc.
    span, steps, scale
        See :func:`traverse_latents`.
    ncols : int, keyword-only
        Panels per row.
    log_radius : bool, keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        ``d`` panels, each with its colour bar (``2 d`` axes); colour is the
        offset from the base in units of ``scale``.
    """
    r = _radii(radii)
    sweeps = traverse_latents(z_base, span=span, steps=steps, scale=scale)
    d, k, _ = sweeps.shape
    v = _decode(decode, sweeps.reshape(d * k, d), r.size)
    if v.shape[0] != d * k:
        raise DataError(f"decode returned {v.shape[0]} curves for {d * k} latent vectors")
    v = v.reshape(d, k, r.size)
    cols = max(1, min(int(ncols), d))
    rows = math.ceil(d / cols)
    fig = new_figure(figsize=(4.0 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    offsets = np.linspace(-span, span, k)
    for j in range(rows * cols):
        ax = axes.flat[j]
        if j >= d:
            ax.remove()
            continue
        _colored_curves(fig, ax, r, v[j], offsets, f"$\\Delta z_{{{j + 1}}}$ / scale")
        ax.set_title(f"vary $z_{{{j + 1}}}$", fontsize="small")
        ax.set_xlabel(RADIUS_LABEL, fontsize="small")
        ax.set_ylabel(VELOCITY_LABEL, fontsize="small")
        _axes_style(ax, log_radius=log_radius)
    fig.tight_layout()
    return fig
