"""Calibration: galaxies drawn from the reference prior, fitted with the same model and prior.

The true values must fall inside the central 68 % and 95 % posterior
intervals at those rates, within binomial Monte-Carlo error, for every
parameter.  This is the small, fast version (40 galaxies, 400-step chains of
32 walkers, about 25 autocorrelation times, bounds at the 0.1 % binomial
tails); bench/bench_fit.py runs 200 galaxies with converged chains.  It takes
about 9 s (15-30 s on two busy cores), well under the 60 s above which a test
is marked slow, so it runs with the others.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rotcurve.inference import fit_catalogue
from rotcurve.inference.simulate import simulate_reference

N = 40
SHORT = {"n_walkers": 32, "max_steps": 400, "check_every": 400, "min_steps": 400, "map_draws": 128, "map_starts": 2}
QUANTITIES = ("Md", "Rd", "Mh", "c", "V200", "C200")


def coverage(fits, galaxies, level):
    lo_q, hi_q = 50 - level / 2, 50 + level / 2
    out = {}
    for q in QUANTITIES:
        hits = 0
        for f, g in zip(fits, galaxies):
            lo, hi = f.quantiles(q, [lo_q, hi_q])
            hits += bool(lo <= g.truth[q] <= hi)
        out[q] = hits
    return out


def test_posteriors_are_calibrated():
    galaxies = simulate_reference(N, seed=2024)
    res = fit_catalogue(galaxies, model="disc-nfw", prior="reference", settings=SHORT, progress=False)
    assert all(f.ok for f in res.fits)
    for level in (68.27, 95.45):
        p = level / 100
        lo, hi = stats.binom.ppf([0.0005, 0.9995], N, p)
        hits = coverage(res.fits, galaxies, level)
        for q, k in hits.items():
            assert lo <= k <= hi, f"{q}: {k}/{N} true values inside the central {level} % interval (allowed {lo:g}-{hi:g})"
    # and the fraction over all quantities is close to nominal (tighter, pooled)
    pooled = sum(coverage(res.fits, galaxies, 68.27).values()) / (N * len(QUANTITIES))
    assert pooled == pytest.approx(0.6827, abs=0.12)
