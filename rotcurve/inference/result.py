"""The result of fitting one galaxy: posterior samples, MAP, diagnostics, summary row.

:class:`GalaxyFit` holds everything a fit produced, in physical units, and
knows how to summarise itself (:meth:`GalaxyFit.summary_row`: the percentiles
16, 50, 84 and the MAP of every fitted and derived parameter, reduced chi^2,
tau, acceptance, convergence).  A failed galaxy is a :class:`GalaxyFit` with
``status = "failed"`` and a ``reason``; nothing is dropped.

Status values:

``ok``             converged
``not_converged``  samples exist but the convergence test did not pass
                   (see ``reason``); use with care
``failed``         no result (bad data, or an error), ``reason`` says why
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rotcurve.inference.galaxy import Galaxy
from rotcurve.inference.parameters import DERIVED, Parameter

__all__ = ["GalaxyFit", "STATUSES", "PERCENTILES"]

#: The possible values of :attr:`GalaxyFit.status`.
STATUSES: tuple[str, ...] = ("ok", "not_converged", "failed")

#: Percentiles reported in the summary, with their column suffixes.
PERCENTILES: tuple[tuple[str, float], ...] = (("p16", 15.865525393145708), ("p50", 50.0), ("p84", 84.13447460685429))


@dataclass(frozen=True, eq=False)
class GalaxyFit:
    """Posterior of one galaxy (or the reason there is none).

    Attributes
    ----------
    name : str
    status : {"ok", "not_converged", "failed"}
    reason : str
        Why the galaxy failed or did not converge (empty when ok).
    model, prior, method : str
        Names of the model, the prior kind and the method.
    parameters : tuple of Parameter
        Sampled parameters (model, then nuisance).
    samples : numpy.ndarray, shape (S, d), or None
        Posterior samples in physical units (not log10), columns as ``parameters``.
    derived : numpy.ndarray, shape (S, k), or None
        Derived quantities of each sample, columns as :data:`DERIVED`.
    log_prob : numpy.ndarray, shape (S,), or None
        ``ln p(theta | data)`` of each sample (up to a constant).
    map, map_derived : numpy.ndarray or None
        The MAP point (physical units) and its derived quantities.
    map_log_prob : float
    chi2 : float
        ``chi^2`` at the MAP.
    n_points : int
    tau : numpy.ndarray, shape (d,), or None
        Autocorrelation time per sampled coordinate [steps].
    acceptance : float
    converged : bool
    n_steps, n_walkers : int
    n_eff : float
        Effective number of independent samples.
    time_s : float
        Wall time of the fit [s].
    seed_key : int
        The spawn key of the galaxy's seed sequence.
    galaxy : Galaxy or None
        The data that were fitted.
    """

    name: str
    status: str
    reason: str = ""
    model: str = ""
    prior: str = ""
    method: str = ""
    parameters: tuple[Parameter, ...] = ()
    samples: np.ndarray | None = None
    derived: np.ndarray | None = None
    log_prob: np.ndarray | None = None
    map: np.ndarray | None = None
    map_derived: np.ndarray | None = None
    map_log_prob: float = math.nan
    chi2: float = math.nan
    n_points: int = 0
    tau: np.ndarray | None = None
    acceptance: float = math.nan
    converged: bool = False
    n_steps: int = 0
    n_walkers: int = 0
    n_eff: float = math.nan
    time_s: float = math.nan
    seed_key: int = 0
    galaxy: Galaxy | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Whether there are samples (converged or not)."""
        return self.status != "failed" and self.samples is not None

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        return len(self.parameters)

    @property
    def dof(self) -> int:
        """Degrees of freedom ``n_points - n_params``."""
        return self.n_points - self.n_params

    @property
    def chi2_red(self) -> float:
        """Reduced ``chi^2`` at the MAP (NaN without degrees of freedom)."""
        return self.chi2 / self.dof if self.dof > 0 else math.nan

    @property
    def names(self) -> list[str]:
        """Fitted then derived quantity names."""
        return [p.name for p in self.parameters] + [p.name for p in DERIVED]

    def column(self, name: str) -> np.ndarray:
        """Samples (S,) of a fitted or derived quantity in physical units."""
        if not self.ok:
            raise KeyError(f"galaxy {self.name} has no samples ({self.reason})")
        fitted = [p.name for p in self.parameters]
        if name in fitted:
            return self.samples[:, fitted.index(name)]
        derived = [p.name for p in DERIVED]
        if name in derived:
            return self.derived[:, derived.index(name)]
        raise KeyError(f"{name!r} is not a quantity of galaxy {self.name}; have {', '.join(self.names)}")

    def map_value(self, name: str) -> float:
        """MAP value of a fitted or derived quantity."""
        fitted = [p.name for p in self.parameters]
        if name in fitted:
            return float(self.map[fitted.index(name)])
        return float(self.map_derived[[p.name for p in DERIVED].index(name)])

    def quantiles(self, name: str, q: Any) -> np.ndarray:
        """Percentiles ``q`` (0-100) of a quantity's posterior."""
        x = self.column(name)
        x = x[np.isfinite(x)]
        if x.size == 0:
            return np.full(np.shape(q), np.nan)
        return np.percentile(x, q)

    def summary_row(self) -> dict[str, Any]:
        """One row of ``summary.csv``: identification, diagnostics, then per quantity p16, p50, p84, map."""
        row: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "model": self.model,
            "prior": self.prior,
            "n_points": int(self.n_points),
            "n_params": int(self.n_params),
            "chi2": float(self.chi2),
            "chi2_red": float(self.chi2_red),
            "converged": bool(self.converged),
            "tau": float(np.max(self.tau)) if self.tau is not None and np.all(np.isfinite(self.tau)) else math.nan,
            "acceptance": float(self.acceptance),
            "n_steps": int(self.n_steps),
            "n_eff": float(self.n_eff),
            "time_s": float(self.time_s),
        }
        if self.ok:
            for name in self.names:
                for suffix, q in PERCENTILES:
                    row[f"{name}_{suffix}"] = float(self.quantiles(name, q))
                row[f"{name}_map"] = self.map_value(name)
        return row
