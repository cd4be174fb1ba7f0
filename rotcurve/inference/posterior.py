"""The posterior of one galaxy: model, prior and data, vectorised over walkers.

``ln p(theta | data) = ln p(theta) + ln L(theta) + const`` with the Gaussian
likelihood of the observed velocities::

    ln L = -1/2 sum_i ((V_i q - v_model(R_i s)) / (eV_i q))^2 - sum_i ln(eV_i q)

where ``s = D / D0`` is the distance factor and ``q = sin(i0) / sin(i)`` the
inclination factor (both 1 without nuisance parameters; the constant
``-n/2 ln 2 pi`` is left out).  ``v_model = sign(v2) sqrt(|v2|)``: in the
SPARC model the gas term ``|Vgas| Vgas`` can make ``v2`` negative near the
centre.

:class:`Posterior` is called with ``theta`` of shape (W, d) and returns (W,):
the log-probability that ``emcee.EnsembleSampler(..., vectorize=True)``
expects.  The model's ``v^2`` uses :mod:`rotcurve.physics` (the NFW halo's and
the exponential disc's block evaluation on the galaxy's fixed radii).
"""

from __future__ import annotations

import math

import numpy as np

from rotcurve.inference.galaxy import Galaxy
from rotcurve.inference.models import FitModel
from rotcurve.inference.parameters import Parameter
from rotcurve.inference.priors import FitPrior

__all__ = ["Posterior"]

#: |theta| above this (in log10 units) is rejected before any physics (no overflow).
_LOG10_LIMIT = 30.0


class Posterior:
    """Log posterior of one galaxy under a model and a prior.

    Parameters
    ----------
    galaxy : Galaxy
        Validated here (DataError names the galaxy and row).
    model : FitModel
    prior : FitPrior

    Attributes
    ----------
    parameters : tuple of Parameter
        The sampled parameters in ``theta`` order (model, then nuisance).
    prior : BoundPrior
        The prior bound to this galaxy.
    """

    def __init__(self, galaxy: Galaxy, model: FitModel, prior: FitPrior) -> None:
        model.check(galaxy)
        self.prior = prior.bind(model, galaxy)
        self.parameters: tuple[Parameter, ...] = self.prior.parameters
        self.galaxy = galaxy.validate(min_points=len(self.parameters))
        self.model = model
        self.fit_prior = prior
        self.ctx = model.setup(galaxy)
        names = [p.name for p in self.parameters]
        self._log_cols = np.array([p.log10 for p in self.parameters])
        self._d_col = names.index("D") if "D" in names else None
        self._i_col = names.index("inc") if "inc" in names else None
        self._model_names = [p.name for p in model.parameters(galaxy)]
        self._model_cols = [names.index(n) for n in self._model_names]
        self._all_log = self._model_cols == list(range(len(self._model_cols))) and bool(
            np.all(self._log_cols[: len(self._model_cols)]))
        self._V = galaxy.V
        self._inv_eV = 1.0 / galaxy.eV
        self._V_w = galaxy.V * self._inv_eV
        self._log_eV_sum = float(np.sum(np.log(galaxy.eV)))
        self._sin_i0 = math.sin(math.radians(galaxy.inclination)) if galaxy.inclination else None
        self._nuisance = self._d_col is not None or self._i_col is not None
        # v2 can be negative only where the gas term is (SPARC's |Vgas| Vgas < 0)
        gas = getattr(galaxy, "Vgas", None)
        self._signed = bool(model.name == "sparc" and gas is not None and np.any(gas < 0))
        self._limit = np.where(self._log_cols, _LOG10_LIMIT, np.inf)

    @property
    def ndim(self) -> int:
        """Number of sampled coordinates ``d``."""
        return len(self.parameters)

    @property
    def n_points(self) -> int:
        """Number of data points."""
        return self.galaxy.n

    # -- pieces --------------------------------------------------------------------------
    def values(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Physical values of the model's parameters, each (W,)."""
        theta = np.atleast_2d(theta)
        if self._all_log:  # one power for all model columns
            p = 10.0 ** theta[:, : len(self._model_names)].T
            return dict(zip(self._model_names, p))
        return {n: (10.0 ** theta[:, i] if self._log_cols[i] else theta[:, i].copy())
                for n, i in zip(self._model_names, self._model_cols)}

    def factors(self, theta: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Distance factor ``s = D / D0`` and inclination factor ``q = sin i0 / sin i`` (W,) or None."""
        theta = np.atleast_2d(theta)
        s = theta[:, self._d_col] / self.galaxy.distance if self._d_col is not None else None
        q = self._sin_i0 / np.sin(np.radians(theta[:, self._i_col])) if self._i_col is not None else None
        return s, q

    def v_model(self, theta: np.ndarray) -> np.ndarray:
        """Model circular velocity at the data radii [km/s], (W, n)."""
        theta = np.atleast_2d(theta)
        s, _ = self.factors(theta)
        v2 = self.model.v2_total(self.ctx, self.values(theta), s)
        v = np.sqrt(np.abs(v2))
        if (v2 < 0).any():
            v = np.copysign(v, v2)
        return v

    def components(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Signed velocity of every component at the data radii [km/s], (W, n) each."""
        theta = np.atleast_2d(theta)
        s, _ = self.factors(theta)
        return {k: np.copysign(np.sqrt(np.abs(v2)), v2)
                for k, v2 in self.model.components(self.ctx, self.values(theta), s).items()}

    def observed(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Observed ``V`` and ``eV`` corrected to the walkers' inclination, (W, n) each (or (1, n))."""
        theta = np.atleast_2d(theta)
        _, q = self.factors(theta)
        if q is None:
            return self._V[None, :], self.galaxy.eV[None, :]
        return self._V[None, :] * q[:, None], self.galaxy.eV[None, :] * q[:, None]

    def chi2(self, theta: np.ndarray) -> np.ndarray:
        """``sum ((V q - v_model) / (eV q))^2`` (W,)."""
        theta = np.atleast_2d(theta)
        _, q = self.factors(theta)
        v = self.v_model(theta)
        if q is not None:
            v = v / q[:, None]
        r = self._V_w - v * self._inv_eV
        return np.einsum("ij,ij->i", r, r)

    def log_likelihood(self, theta: np.ndarray) -> np.ndarray:
        """Gaussian ``ln L`` (W,) without the ``-n/2 ln 2 pi`` constant."""
        theta = np.atleast_2d(theta)
        out = -0.5 * self.chi2(theta) - self._log_eV_sum
        if self._i_col is not None:
            _, q = self.factors(theta)
            out = out - self.n_points * np.log(q)
        return out

    def derived(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Derived quantities (V200, R200, C200, M200, Mstar), each (W,)."""
        theta = np.atleast_2d(theta)
        s, _ = self.factors(theta)
        return self.model.derived(self.ctx, self.values(theta), s)

    # -- the log posterior ----------------------------------------------------------------
    def _log_likelihood_fast(self, theta: np.ndarray) -> np.ndarray:
        """:meth:`log_likelihood` without re-checking shapes (the hot path)."""
        s, q = self.factors(theta) if self._nuisance else (None, None)
        v2 = self.model.v2_total(self.ctx, self.values(theta), s)
        if self._signed:
            v = np.sqrt(np.abs(v2))
            if (v2 < 0.0).any():
                v = np.copysign(v, v2)
        else:
            v = np.sqrt(v2)
        if q is not None:
            v /= q[:, None]
        v *= self._inv_eV
        np.subtract(self._V_w, v, out=v)
        out = np.einsum("ij,ij->i", v, v)
        out *= -0.5
        out -= self._log_eV_sum
        if q is not None:
            out -= self.n_points * np.log(q)
        return out

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        """``ln p(theta | data)`` up to a constant, (W,) for ``theta`` (W, d); ``-inf`` outside the prior."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.ndim != 2:
            theta = theta.reshape(-1, self.ndim)
        if not (np.abs(theta) < self._limit).all():  # far outside any prior, or NaN: no physics
            sane = np.all(np.abs(theta) < self._limit, axis=1)
            out = np.full(theta.shape[0], -np.inf)
            if sane.any():
                out[sane] = self(theta[sane])
            return out
        lp = self.prior.log_density(theta)
        ok = lp > -np.inf
        if ok.all():
            lp += self._log_likelihood_fast(theta)
        elif ok.any():
            lp[ok] += self._log_likelihood_fast(theta[ok])
        else:
            return lp
        if np.isnan(lp).any():
            lp[np.isnan(lp)] = -np.inf
        return lp
