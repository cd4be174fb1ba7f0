"""Figures of one galaxy's fit (matplotlib Agg, no pyplot): corner plot and rotation curve.

* :func:`corner_figure` -- the posterior of the sampled coordinates
  (``log10`` of masses, concentrations and mass-to-light ratios; distance and
  inclination linear) with the ``corner`` package; the MAP in blue, the true
  values (simulated data) in red.
* :func:`curve_figure` -- the data with error bars, the 68 % and 95 % bands
  of the model curve over posterior draws, the MAP curve and each component
  (gas, disc, bulge, halo) at the MAP.  For the ``sparc`` model the curves are
  drawn at the observed radii (the baryons are known only there); for
  ``disc-nfw`` on a fine grid.

Both return a :class:`matplotlib.figure.Figure`; :func:`save_galaxy_figures`
writes ``<key>_corner.png`` and ``<key>_curve.png`` atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.analysis.figures import RADIUS_LABEL, VELOCITY_LABEL, new_figure, save_figure
from rotcurve.errors import DataError
from rotcurve.inference.galaxy import Galaxy
from rotcurve.inference.posterior import Posterior
from rotcurve.inference.result import GalaxyFit

__all__ = ["corner_figure", "curve_figure", "save_galaxy_figures"]

_COMPONENT_STYLE = {
    "gas": dict(color="tab:green", ls="--"),
    "disc": dict(color="tab:orange", ls="-."),
    "bulge": dict(color="tab:purple", ls=":"),
    "halo": dict(color="tab:gray", ls="--"),
}


def _require(fit: GalaxyFit) -> None:
    if not fit.ok:
        raise DataError(f"galaxy {fit.name} has no posterior samples ({fit.reason})")


def corner_figure(fit: GalaxyFit) -> Any:
    """Corner plot of the sampled coordinates of one galaxy (MAP blue, truth red)."""
    import corner

    _require(fit)
    params = fit.parameters
    data = np.column_stack([p.theta(fit.samples[:, i]) for i, p in enumerate(params)])
    k = len(params)
    fig = new_figure(figsize=(2.0 * k + 1.2, 2.0 * k + 1.2))
    map_theta = [float(p.theta(fit.map[i])) for i, p in enumerate(params)]
    corner.corner(
        data,
        fig=fig,
        labels=[p.label for p in params],
        truths=map_theta,
        truth_color="tab:blue",
        quantiles=[0.16, 0.5, 0.84],
        plot_datapoints=False,
        fill_contours=False,
        bins=30,
        smooth=1.0,
        label_kwargs={"fontsize": "small"},
    )
    truth = fit.galaxy.truth if fit.galaxy is not None else None
    if truth:
        values = [float(p.theta(truth[p.name])) if p.name in truth else None for p in params]
        corner.overplot_lines(fig, values, color="tab:red")
        if all(v is not None for v in values):
            corner.overplot_points(fig, [values], marker="s", color="tab:red")
    title = f"{fit.name}: {fit.model}, prior {fit.prior}"
    if not fit.converged:
        title += " (NOT CONVERGED)"
    fig.suptitle(title + "   blue: MAP" + ("   red: truth" if truth else ""), fontsize="medium")
    return fig


def _grid_posterior(fit: GalaxyFit, setup: Any) -> tuple[Posterior, np.ndarray]:
    """The posterior on the radii to draw: data radii (observed baryons) or a fine grid."""
    g = fit.galaxy
    if setup.model.name == "sparc" or g is None:
        return Posterior(g, setup.model, setup.prior), g.R
    r = np.linspace(0.02, 1.08, 160) * float(g.R.max())
    fine = Galaxy(g.name, R=r, V=np.zeros_like(r), eV=np.ones_like(r), distance=g.distance,
                  e_distance=g.e_distance, inclination=g.inclination, e_inclination=g.e_inclination)
    return Posterior(fine, setup.model, setup.prior), r


def curve_figure(fit: GalaxyFit, setup: Any, *, n_draws: int = 200, seed: int = 0) -> Any:
    """The rotation curve: data, 68/95 % model bands, MAP model and its components.

    Parameters
    ----------
    fit : GalaxyFit
        With samples and data.
    setup : FitSetup
        The settings it was fitted with (the model evaluates the curves).
    n_draws : int, keyword-only
        Posterior samples drawn for the bands.
    seed : int, keyword-only
        Which samples are drawn.
    """
    _require(fit)
    g = fit.galaxy
    post, r = _grid_posterior(fit, setup)
    params = fit.parameters
    rng = np.random.default_rng(seed)
    idx = rng.choice(fit.samples.shape[0], size=min(n_draws, fit.samples.shape[0]), replace=False)
    theta = np.column_stack([p.theta(fit.samples[idx, i]) for i, p in enumerate(params)])
    curves = post.v_model(theta)
    map_theta = np.array([[float(p.theta(fit.map[i])) for i, p in enumerate(params)]])
    v_map = post.v_model(map_theta)[0]
    comps = post.components(map_theta)
    fig = new_figure(figsize=(7.0, 4.8))
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.11, top=0.92)
    ax = fig.add_subplot(111)
    lo95, lo68, hi68, hi95 = np.percentile(curves, [2.5, 16, 84, 97.5], axis=0)
    ax.fill_between(r, lo95, hi95, color="tab:blue", alpha=0.15, lw=0, label="model 95 %")
    ax.fill_between(r, lo68, hi68, color="tab:blue", alpha=0.3, lw=0, label="model 68 %")
    ax.plot(r, v_map, color="tab:blue", lw=1.8, label="MAP model")
    for name, v in comps.items():
        style = _COMPONENT_STYLE.get(name, dict(color="k", ls=":"))
        ax.plot(r, v[0], lw=1.2, label=name, **style)
    _, q = post.factors(map_theta)  # observed velocities at the MAP inclination
    scale = float(q[0]) if q is not None else 1.0
    V, eV = g.V[None, :] * scale, g.eV[None, :] * scale
    ax.errorbar(g.R, V[0], yerr=eV[0], fmt="o", ms=3.5, color="k", ecolor="0.3", elinewidth=1, capsize=0,
                label="data", zorder=5)
    if g.truth and setup.model.name == "disc-nfw":
        from rotcurve.physics import rotation_curves

        true = rotation_curves({k: g.truth[k] for k in ("Md", "Rd", "Mh", "c")}, r,
                               H0=setup.model.H0, Delta=setup.model.Delta).v_circ[0]
        ax.plot(r, true, color="tab:red", lw=1.0, ls="-", label="truth")
    ax.set_xlabel(RADIUS_LABEL)
    ax.set_ylabel(VELOCITY_LABEL)
    ax.set_xlim(0, float(r.max()) * 1.03)
    ax.set_ylim(min(0.0, float(np.min(V - eV))) , float(max(np.max(V + eV), np.max(hi95))) * 1.1)
    status = "" if fit.converged else ", NOT CONVERGED"
    ax.set_title(f"{fit.name}: {fit.model} ({fit.prior} prior), "
                 f"$\\chi^2_\\nu$ = {fit.chi2_red:.2f}{status}", fontsize="medium")
    ax.legend(fontsize="small", ncol=2, loc="lower right", frameon=False)
    return fig


def save_galaxy_figures(fit: GalaxyFit, setup: Any, folder: str | Path, key: str) -> list[Path]:
    """Write ``<key>_corner.png`` and ``<key>_curve.png`` into ``folder`` (atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    # corner lays out its own axes and the curve figure has fixed margins: no
    # "tight" bounding box, which would draw each figure twice
    fig = corner_figure(fit)
    out.append(save_figure(fig, folder / f"{key}_corner.png", dpi=80, bbox_inches=None))
    fig = curve_figure(fit, setup)
    out.append(save_figure(fig, folder / f"{key}_curve.png", dpi=100, bbox_inches=None))
    return out
