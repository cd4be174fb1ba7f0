"""The log density of the generator's reference prior (:class:`rotcurve.generator.priors.ReferencePrior`).

The generator's priors only sample; a posterior needs the density.  The
reference population is defined generatively in ``log10`` space (see
:class:`~rotcurve.generator.priors.ReferencePrior`)::

    log Md ~ U(log10_Md_min, log10_Md_max)
    log Rd | log Md ~ N(Rd_slope (log Md - pivot) + Rd_intercept, Rd_scatter)
    log Mh | log Md ~ N(Mh_slope (log Md - pivot) + Mh_intercept, Mh_scatter)
    log c  | log Mh ~ N(c_intercept + c_slope (log Mh + log h - c_pivot), c_scatter)

so its density over ``theta = (log10 Md, log10 Rd, log10 Mh, log10 c)`` is the
product of one uniform and three Gaussian densities, implemented here from
that definition (normalised).  A curve drawn from the prior and fitted with
this density has an exactly calibrated posterior.
"""

from __future__ import annotations

import math

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.generator.priors import ReferencePrior

__all__ = ["reference_log_density", "reference_box"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _normal_logpdf(x: np.ndarray, mean: np.ndarray, sigma: float) -> np.ndarray:
    z = (x - mean) / sigma
    return -0.5 * z * z - math.log(sigma) - _LOG_SQRT_2PI


def _check(prior: ReferencePrior) -> None:
    for name in ("Rd_scatter", "Mh_scatter", "c_scatter"):
        if getattr(prior, name) <= 0.0:
            raise ConfigError(
                f"the reference prior's {name} is {getattr(prior, name)}; a fit needs a density, "
                "so every scatter must be > 0 dex"
            )


def reference_log_density(
    prior: ReferencePrior,
    log_md: np.ndarray,
    log_rd: np.ndarray,
    log_mh: np.ndarray,
    log_c: np.ndarray,
) -> np.ndarray:
    """Log density of the reference prior over ``log10`` parameters.

    Parameters
    ----------
    prior : ReferencePrior
        The population (scatters must be > 0).
    log_md, log_rd, log_mh, log_c : numpy.ndarray, shape (W,)
        ``log10`` of Md [Msun], Rd [kpc], Mh [Msun] and c.

    Returns
    -------
    numpy.ndarray, shape (W,)
        ``ln p(theta)`` (normalised; ``-inf`` outside the ``log Md`` range).
    """
    _check(prior)
    log_md = np.asarray(log_md, dtype=np.float64)
    dm = log_md - prior.log10_Md_pivot
    out = _normal_logpdf(np.asarray(log_rd, dtype=np.float64), prior.Rd_slope * dm + prior.Rd_intercept, prior.Rd_scatter)
    out += _normal_logpdf(np.asarray(log_mh, dtype=np.float64), prior.Mh_slope * dm + prior.Mh_intercept, prior.Mh_scatter)
    mean_c = prior.c_intercept + prior.c_slope * (np.asarray(log_mh) + math.log10(prior.h) - prior.c_pivot)
    out += _normal_logpdf(np.asarray(log_c, dtype=np.float64), mean_c, prior.c_scatter)
    inside = (log_md >= prior.log10_Md_min) & (log_md <= prior.log10_Md_max)
    out += -math.log(prior.log10_Md_max - prior.log10_Md_min)
    return np.where(inside, out, -np.inf)


def reference_box(prior: ReferencePrior, *, width: float = 8.0) -> np.ndarray:
    """A box (4, 2) in ``log10`` (Md, Rd, Mh, c) holding all but ~1e-15 of the prior mass.

    Bounds for optimisers: the ``log Md`` range, and ``width`` scatters around
    the relations over that range.
    """
    _check(prior)
    md = np.array([prior.log10_Md_min, prior.log10_Md_max])
    dm = md - prior.log10_Md_pivot
    rd = prior.Rd_slope * dm + prior.Rd_intercept
    mh = prior.Mh_slope * dm + prior.Mh_intercept
    mh_lo, mh_hi = mh.min() - width * prior.Mh_scatter, mh.max() + width * prior.Mh_scatter
    c = prior.c_intercept + prior.c_slope * (np.array([mh_lo, mh_hi]) + math.log10(prior.h) - prior.c_pivot)
    return np.array([
        [md[0], md[1]],
        [rd.min() - width * prior.Rd_scatter, rd.max() + width * prior.Rd_scatter],
        [mh_lo, mh_hi],
        [c.min() - width * prior.c_scatter, c.max() + width * prior.c_scatter],
    ])
