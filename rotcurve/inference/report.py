"""The catalogue report: one self-contained HTML page (figures embedded as PNG).

Sections: the settings and counts (converged, not converged, failed); the
reduced chi^2 distribution (median, 90th percentile, worst, histogram); the
galaxies that fit badly (``chi2_red`` above :data:`BAD_CHI2_RED`), did not
converge, or failed, with their reasons (and the curve figures of the worst
fits, when per-galaxy figures were made); the fitted concentration-mass
relation against Dutton & Maccio (2014, MNRAS 441, 3359); the stellar-to-halo
mass relation against the abundance-matching relation of Moster, Naab & White
(2013, MNRAS 428, 3121, z = 0).  Built with rotcurve's HTML helpers
(:mod:`rotcurve.reports.html`).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.analysis.figures import new_figure
from rotcurve.io.atomic import atomic_write_text

__all__ = ["BAD_CHI2_RED", "chi2_statistics", "write_report", "moster2013_mstar"]

#: Reduced chi^2 above which a fit is listed as bad.
BAD_CHI2_RED = 3.0


def moster2013_mstar(m200: np.ndarray) -> np.ndarray:
    """Stellar mass [Msun] of a halo of mass ``m200`` [Msun], Moster et al. (2013) at z = 0.

    ``M* / M = 2 N [(M / M1)^-beta + (M / M1)^gamma]^-1`` with ``log10 M1 = 11.590``,
    ``N = 0.0351``, ``beta = 1.376``, ``gamma = 0.608`` (their Table 1, z = 0; halo
    masses M200c, h = 0.704).
    """
    m = np.asarray(m200, dtype=np.float64)
    x = m / 10.0**11.590
    return m * 2.0 * 0.0351 / (x**-1.376 + x**0.608)


def chi2_statistics(table: Any) -> dict[str, Any]:
    """Median, 90th percentile and worst reduced chi^2 of the galaxies with a result."""
    ok = np.array([s != "failed" for s in table["status"]])
    chi = np.asarray(table["chi2_red"], dtype=np.float64)[ok]
    names = np.asarray(table["name"])[ok]
    finite = np.isfinite(chi)
    if not finite.any():
        return {"n": 0, "median": math.nan, "p90": math.nan, "worst": math.nan, "worst_name": ""}
    chi, names = chi[finite], names[finite]
    i = int(np.argmax(chi))
    return {"n": int(chi.size), "median": float(np.median(chi)), "p90": float(np.percentile(chi, 90)),
            "worst": float(chi[i]), "worst_name": str(names[i])}


def _html() -> Any:
    """rotcurve's self-contained HTML helpers (``rotcurve.reports.html``; formerly in analysis)."""
    try:
        from rotcurve.reports import html
    except ImportError:  # pragma: no cover - older layout
        from rotcurve.analysis import html  # type: ignore[no-redef]
    return html


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def _chi2_figure(table: Any) -> Any:
    ok = np.array([s != "failed" for s in table["status"]])
    chi = np.asarray(table["chi2_red"], dtype=np.float64)[ok]
    chi = chi[np.isfinite(chi) & (chi > 0)]
    fig = new_figure(figsize=(6.0, 3.6))
    ax = fig.add_subplot(111)
    if chi.size:
        bins = np.logspace(math.log10(max(chi.min(), 1e-2)) - 0.05, math.log10(chi.max()) + 0.05, 30)
        ax.hist(chi, bins=bins, color="tab:blue", alpha=0.8)
        ax.axvline(1.0, color="k", ls="--", lw=1)
        ax.axvline(float(np.median(chi)), color="tab:red", lw=1, label=f"median {np.median(chi):.2f}")
        ax.legend(frameon=False, fontsize="small")
    ax.set_xscale("log")
    ax.set_xlabel(r"reduced $\chi^2$ at the MAP")
    ax.set_ylabel("galaxies")
    return fig


def _errorbar_points(table: Any, x: str, y: str) -> tuple[np.ndarray, ...]:
    ok = np.array([s != "failed" for s in table["status"]])
    conv = np.asarray(table["converged"], dtype=bool)
    cols = [np.asarray(table[f"{q}_{s}"], dtype=np.float64) for q in (x, y) for s in ("p16", "p50", "p84")]
    good = ok & np.all([np.isfinite(c) & (c > 0) for c in cols], axis=0)
    return tuple(c[good] for c in cols) + (conv[good],)


def _cm_figure(table: Any, H0: float) -> Any:
    x16, x50, x84, y16, y50, y84, conv = _errorbar_points(table, "M200", "C200")
    fig = new_figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot(111)
    for mask, color, label in ((conv, "tab:blue", "converged"), (~conv, "tab:orange", "not converged")):
        if mask.any():
            ax.errorbar(x50[mask], y50[mask], xerr=[x50[mask] - x16[mask], x84[mask] - x50[mask]],
                        yerr=[y50[mask] - y16[mask], y84[mask] - y50[mask]], fmt="o", ms=3, color=color,
                        elinewidth=0.6, alpha=0.7, label=label)
    m = np.logspace(8.5, 13.5, 100)
    h = H0 / 100.0
    lc = 0.905 - 0.101 * (np.log10(m * h) - 12.0)
    ax.plot(m, 10**lc, color="k", lw=1.5, label="Dutton & Maccio 2014")
    ax.fill_between(m, 10 ** (lc - 0.11), 10 ** (lc + 0.11), color="k", alpha=0.12, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$M_{200}$ [M$_\odot$]")
    ax.set_ylabel(r"$C_{200}$")
    ax.legend(frameon=False, fontsize="small")
    return fig


def _shm_figure(table: Any) -> Any:
    x16, x50, x84, y16, y50, y84, conv = _errorbar_points(table, "M200", "Mstar")
    fig = new_figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot(111)
    for mask, color, label in ((conv, "tab:blue", "converged"), (~conv, "tab:orange", "not converged")):
        if mask.any():
            ax.errorbar(x50[mask], y50[mask], xerr=[x50[mask] - x16[mask], x84[mask] - x50[mask]],
                        yerr=[y50[mask] - y16[mask], y84[mask] - y50[mask]], fmt="o", ms=3, color=color,
                        elinewidth=0.6, alpha=0.7, label=label)
    m = np.logspace(9.5, 14, 100)
    ax.plot(m, moster2013_mstar(m), color="k", lw=1.5, label="Moster et al. 2013 (z = 0)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$M_{200}$ [M$_\odot$]")
    ax.set_ylabel(r"$M_\star$ [M$_\odot$]")
    ax.legend(frameon=False, fontsize="small")
    return fig


def write_report(table: Any, path: str | Path, *, settings: dict[str, Any], figures_dir: str | Path | None = None,
                 keys: dict[str, str] | None = None, max_curves: int = 6) -> Path:
    """Write the catalogue report to ``path`` (HTML, atomically).

    Parameters
    ----------
    table : astropy.table.Table
        The summary (:func:`rotcurve.inference.summary.summary_table`).
    path : str or Path
    settings : dict, keyword-only
        The run's settings (shown, and ``H0`` for the c-M relation).
    figures_dir : path, keyword-only
        Folder of the per-galaxy figures; the curves of the worst fits are embedded.
    keys : dict, keyword-only
        Galaxy name -> file key of its figures.
    max_curves : int, keyword-only
        Curve figures embedded.
    """
    H = _html()
    path = Path(path)
    status = np.asarray(table["status"]).astype(str)
    n = len(table)
    n_ok, n_nc, n_fail = int((status == "ok").sum()), int((status == "not_converged").sum()), int((status == "failed").sum())
    stats = chi2_statistics(table)
    body = [
        H.section("Run", [
            H.definition_list([
                ("galaxies", n), ("converged", n_ok), ("not converged", n_nc), ("failed", n_fail),
                ("model", settings.get("model")), ("prior", settings.get("prior", {}).get("kind")),
                ("H0 [km/s/Mpc]", settings.get("H0")), ("Delta", settings.get("Delta")),
                ("method", settings.get("method", {}).get("name")), ("seed", settings.get("seed")),
            ]),
        ]),
        H.section("Reduced chi-squared", [
            H.paragraph(f"Over the {stats['n']} galaxies with a result: median {H.format_number(stats['median'])}, "
                        f"90th percentile {H.format_number(stats['p90'])}, worst {H.format_number(stats['worst'])} "
                        f"({stats['worst_name']})."),
            H.image(_png(_chi2_figure(table)), caption="Reduced chi-squared at the MAP."),
        ]),
    ]
    chi = np.asarray(table["chi2_red"], dtype=np.float64)
    bad = [i for i in np.argsort(-np.nan_to_num(chi, nan=-1.0)) if status[i] != "failed" and chi[i] > BAD_CHI2_RED]
    rows = [[str(table["name"][i]), H.format_number(float(chi[i])), int(table["n_points"][i]), str(status[i]),
             H.format_number(float(table["V200_p50"][i])), H.format_number(float(table["C200_p50"][i]))] for i in bad]
    parts = [H.paragraph(f"{len(bad)} galaxies have a reduced chi-squared above {BAD_CHI2_RED:g}.")]
    if rows:
        parts.append(H.table(["name", "chi2_red", "points", "status", "V200 p50", "C200 p50"], rows))
    if figures_dir is not None and keys:
        for i in bad[:max_curves]:
            png = Path(figures_dir) / f"{keys.get(str(table['name'][i]), '')}_curve.png"
            if png.is_file():
                parts.append(H.image(png.read_bytes(), caption=f"{table['name'][i]}"))
    body.append(H.section("Bad fits", parts))
    nc = [i for i in range(n) if status[i] == "not_converged"]
    body.append(H.section("Not converged", [
        H.paragraph(f"{len(nc)} galaxies did not pass the convergence test; their percentiles are reported "
                    "but flagged (converged = False)."),
        *([H.table(["name", "steps", "tau", "reason"],
                   [[str(table["name"][i]), int(table["n_steps"][i]), H.format_number(float(table["tau"][i])),
                     str(table["reason"][i])] for i in nc])] if nc else []),
    ]))
    fails = [i for i in range(n) if status[i] == "failed"]
    body.append(H.section("Failed", [
        H.paragraph(f"{len(fails)} galaxies have no result."),
        *([H.table(["name", "reason"], [[str(table["name"][i]), str(table["reason"][i])] for i in fails])] if fails else []),
    ]))
    body.append(H.section("Concentration-mass relation", [
        H.image(_png(_cm_figure(table, float(settings.get("H0", 70.0)))),
                caption="C200 against M200 (16-50-84 percentiles) and the Dutton & Maccio (2014) relation, "
                        "0.11 dex scatter shaded."),
    ]))
    body.append(H.section("Stellar-to-halo mass relation", [
        H.image(_png(_shm_figure(table)),
                caption="Stellar mass against M200 and the Moster et al. (2013) abundance-matching relation."),
    ]))
    text = H.page("rotcurve fit report", body,
                  subtitle="Posterior fits of disc and halo parameters. Observed SPARC data: Lelli, McGaugh & "
                           "Schombert 2016, AJ 152, 157 (CC-BY-4.0), when used.")
    atomic_write_text(path, text)
    return path
