"""An independent fitter for the checks: a plain emcee loop, one scalar scipy log-probability per walker.

Written from the formulas, sharing no code with :mod:`rotcurve.inference`
(nor with :mod:`rotcurve.physics`):

* exponential disc (Freeman 1970): ``v^2 = 2 G Md / Rd y^2 [I0 K0 - I1 K1](y)``,
  ``y = R / (2 Rd)``, with ``scipy.special.i0, i1, k0, k1``;
* NFW halo: ``v^2 = G Mh / R [ln(1+x) - x/(1+x)] / [ln(1+c) - c/(1+c)]``,
  ``x = c R / R200``, ``R200 = (G Mh / (100 H0^2))^(1/3)``;
* SPARC baryons: ``|Vgas| Vgas + Ups_d Vdisk^2 + Ups_b Vbul^2``;
* priors written out: the reference population (uniform + three normals in
  log10) and the flat prior (uniform in log10 V200, log10 C200; log-normal
  mass-to-light ratios).

``fit_plain`` optimises with Nelder-Mead (scipy), starts emcee's default
:class:`~emcee.EnsembleSampler` (stretch move, ``vectorize=False``) in a small
ball and runs a fixed number of steps.  Used by tests/inference/test_independent.py
and bench/bench_fit.py.
"""

from __future__ import annotations

import math
import time

import emcee
import numpy as np
from scipy import optimize, special

G = 4.30091e-6  # kpc (km/s)^2 / Msun
LN10 = math.log(10.0)


def _norm(x: float, mu: float, sigma: float) -> float:
    z = (x - mu) / sigma
    return -0.5 * z * z - math.log(sigma) - 0.5 * math.log(2 * math.pi)


class DiscNFWReference:
    """log posterior of disc-nfw + reference prior for one galaxy (scalar theta = log10 Md, Rd, Mh, c)."""

    ndim = 4

    def __init__(self, R, V, eV, *, H0=70.0):
        self.R, self.V, self.eV = (np.asarray(a, float) for a in (R, V, eV))
        self.h = H0 / 1000.0

    def log_prior(self, t):
        lmd, lrd, lmh, lc = t
        if not 9.0 <= lmd <= 12.0:
            return -math.inf
        lp = -math.log(3.0)
        lp += _norm(lrd, 0.3 * (lmd - 10.7) + 0.5, 0.4)
        lp += _norm(lmh, 0.75 * (lmd - 10.7) + 12.0, 0.25)
        lp += _norm(lc, 0.905 - 0.101 * (lmh + math.log10(0.7) - 12.0), 0.11)
        return lp

    def vmodel(self, t):
        md, rd, mh, c = (10.0**x for x in t)
        y = self.R / (2 * rd)
        vd2 = 2 * G * md / rd * y * y * (special.i0(y) * special.k0(y) - special.i1(y) * special.k1(y))
        r200 = (G * mh / (100 * self.h**2)) ** (1 / 3)
        x = c * self.R / r200
        vh2 = G * mh / self.R * (np.log1p(x) - x / (1 + x)) / (math.log1p(c) - c / (1 + c))
        return np.sqrt(vd2 + vh2)

    def __call__(self, t):
        lp = self.log_prior(t)
        if not math.isfinite(lp):
            return -math.inf
        r = (self.V - self.vmodel(t)) / self.eV
        return lp - 0.5 * float(np.dot(r, r))


class SparcFlat:
    """log posterior of the sparc model + flat prior (theta = log10 Ups_d[, Ups_b], Mh, c)."""

    def __init__(self, R, V, eV, Vgas, Vdisk, Vbul, *, H0=73.0):
        self.R, self.V, self.eV = (np.asarray(a, float) for a in (R, V, eV))
        self.gas = np.abs(Vgas) * np.asarray(Vgas, float)
        self.disk = np.asarray(Vdisk, float) ** 2
        self.bulge = np.asarray(Vbul, float) ** 2
        self.has_bulge = bool(np.any(self.bulge > 0))
        self.ndim = 4 if self.has_bulge else 3
        self.h = H0 / 1000.0
        # log10 M200 bounds from V200 = 10..500 km/s: M200 = V200^3 / (10 G H0)
        self.lm_lo = math.log10(10.0**3 / (10 * G * self.h))
        self.lm_hi = math.log10(500.0**3 / (10 * G * self.h))

    def log_prior(self, t):
        lud = t[0]
        lp = _norm(lud, math.log10(0.5), 0.1)
        if self.has_bulge:
            lp += _norm(t[1], math.log10(0.7), 0.1)
        lmh, lc = t[-2], t[-1]
        if not (self.lm_lo <= lmh <= self.lm_hi and 0.0 <= lc <= 2.0):
            return -math.inf
        return lp

    def vmodel(self, t):
        ud = 10.0 ** t[0]
        ub = 10.0 ** t[1] if self.has_bulge else 0.0
        mh, c = 10.0 ** t[-2], 10.0 ** t[-1]
        r200 = (G * mh / (100 * self.h**2)) ** (1 / 3)
        x = c * self.R / r200
        vh2 = G * mh / self.R * (np.log1p(x) - x / (1 + x)) / (math.log1p(c) - c / (1 + c))
        v2 = self.gas + ud * self.disk + ub * self.bulge + vh2
        return np.sign(v2) * np.sqrt(np.abs(v2))

    def __call__(self, t):
        lp = self.log_prior(t)
        if not math.isfinite(lp):
            return -math.inf
        r = (self.V - self.vmodel(t)) / self.eV
        return lp - 0.5 * float(np.dot(r, r))


def fit_plain(logp, start, *, n_walkers=32, n_steps=2000, burn=500, seed=0, moves=None):
    """Nelder-Mead from ``start`` then a plain emcee run; returns (flat samples, tau, seconds, n_eff)."""
    t0 = time.perf_counter()
    res = optimize.minimize(lambda t: -logp(t), np.asarray(start, float), method="Nelder-Mead",
                            options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-8})
    rng = np.random.default_rng(seed)
    p0 = res.x + 1e-4 * rng.standard_normal((n_walkers, len(start)))
    sampler = emcee.EnsembleSampler(n_walkers, len(start), logp, moves=moves)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(p0, n_steps, progress=False)
    seconds = time.perf_counter() - t0
    tau = emcee.autocorr.integrated_time(sampler.get_chain(discard=burn), tol=0)
    samples = sampler.get_chain(discard=burn, flat=True)
    n_eff = n_walkers * (n_steps - burn) / float(np.max(tau))
    return samples, tau, seconds, n_eff
