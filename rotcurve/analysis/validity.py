"""Physical validity of generated rotation curves.

A generated curve is *physically valid* when some exponential disc plus NFW
halo reproduces it: each curve is fitted with the four-parameter model
(:func:`rotcurve.analysis.fitting.fit_rotation_curves`, least squares on
``ln v`` over ``log10`` parameters inside wide bounds) and its root-mean-square
fractional residual ``sqrt(mean((v_fit / v - 1)^2))`` is the distance from the
physical family.  The summary is the fraction of curves within 1 % and 2 %.

>>> res = physical_validity(v_generated, radii, seed=0)          # doctest: +SKIP
>>> res.fraction_within                                           # doctest: +SKIP
{0.01: 0.997, 0.02: 0.999}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rotcurve.analysis.fitting import fit_rotation_curves
from rotcurve.errors import ConfigError
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT

__all__ = ["ValidityResult", "physical_validity", "DEFAULT_THRESHOLDS"]

#: RMS fractional residuals at which the fraction of valid curves is reported.
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.01, 0.02)


@dataclass(frozen=True)
class ValidityResult:
    """How close each curve is to the disc-plus-halo family.

    Attributes
    ----------
    rms_frac : numpy.ndarray, shape (N,)
        RMS fractional residual of the best fit, ``sqrt(mean((v_fit/v - 1)^2))``.
    max_frac : numpy.ndarray, shape (N,)
        Largest absolute fractional residual of the best fit.
    params : pandas.DataFrame, shape (N, 4)
        Best-fit ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun], ``c`` [1].
    fraction_within : dict of float to float
        ``{threshold: fraction of curves with rms_frac <= threshold}``.
    at_bound : numpy.ndarray, shape (N, 4), bool
        Best-fit ``log10`` parameter on a bound of the fit (the curve wanted a
        value outside the physical range).
    """

    rms_frac: np.ndarray
    max_frac: np.ndarray
    params: pd.DataFrame
    fraction_within: dict[float, float]
    at_bound: np.ndarray

    @property
    def n(self) -> int:
        """Number of curves."""
        return int(self.rms_frac.size)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: counts, fractions within thresholds, residual quantiles.

        Returns
        -------
        dict
            ``n``, ``fraction_within`` (keys are the thresholds as strings),
            ``rms_frac_quantiles`` (keys ``"0.5"``, ``"0.9"``, ``"0.99"``,
            ``"1.0"``), ``fraction_at_bound``.
        """
        qs = (0.5, 0.9, 0.99, 1.0)
        values = np.quantile(self.rms_frac, qs)
        return {
            "n": self.n,
            "fraction_within": {repr(float(k)): float(v) for k, v in self.fraction_within.items()},
            "rms_frac_quantiles": {repr(q): float(v) for q, v in zip(qs, values)},
            "fraction_at_bound": float(self.at_bound.any(axis=1).mean()),
        }


def physical_validity(
    curves: np.ndarray,
    radii: np.ndarray,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    bank_size: int = 5000,
    seed: int = 0,
    n_jobs: int = 1,
    retry_above: float = 1.0e-4,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    prior: object | None = None,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
) -> ValidityResult:
    """Fit every curve with the disc-plus-halo model and measure the misfit.

    Parameters
    ----------
    curves : (N, n_r) array_like
        Circular velocities in km/s (e.g. decoded samples), finite and positive.
    radii : (n_r,) array_like
        Radii in kpc, positive.
    thresholds : sequence of float, keyword-only
        RMS fractional residuals at which :attr:`ValidityResult.fraction_within`
        is reported (each in (0, 1)).
    bank_size : int, keyword-only
        Simulated curves the fits start from (see
        :func:`~rotcurve.analysis.fitting.fit_rotation_curves`).
    seed : int, keyword-only
        Seed of the bank.
    n_jobs : int, keyword-only
        Threads; ``-1`` for every core.
    retry_above : float, keyword-only
        RMS log residual above which a fit is restarted from other starts.
    bounds : mapping, keyword-only
        ``log10`` bounds overriding
        :data:`~rotcurve.analysis.fitting.DEFAULT_LOG10_BOUNDS`.
    prior : object with ``sample(n, rng)``, keyword-only
        Distribution of the bank; default the reference prior.
    H0 : float, keyword-only
        Hubble constant in km/s/Mpc of the halo model.
    Delta : float, keyword-only
        Halo overdensity of the halo model.

    Returns
    -------
    ValidityResult

    Raises
    ------
    DataError
        Curves of the wrong shape, or with a non-finite or non-positive value.
    ConfigError
        A threshold outside (0, 1) or another invalid option.
    """
    levels = tuple(float(t) for t in thresholds)
    if not levels or not all(0.0 < t < 1.0 for t in levels):
        raise ConfigError(f"thresholds must be fractions in (0, 1), got {tuple(thresholds)!r}")
    fit = fit_rotation_curves(
        curves,
        radii,
        bank_size=bank_size,
        seed=seed,
        n_jobs=n_jobs,
        retry_above=retry_above,
        bounds=bounds,
        prior=prior,
        H0=H0,
        Delta=Delta,
    )
    within = {t: float(np.mean(fit.rms_frac <= t)) for t in levels}
    return ValidityResult(
        rms_frac=fit.rms_frac,
        max_frac=fit.max_frac,
        params=fit.params,
        fraction_within=within,
        at_bound=fit.at_bound,
    )
