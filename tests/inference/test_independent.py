"""The same posterior from an independent plain emcee loop (scalar scipy log-probability per walker).

Medians and widths (half the 16-84 % range) of every sampled coordinate must
agree within Monte-Carlo error: for a median the MC standard error is about
``1.25 sigma / sqrt(n_eff)`` per run, for a width about ``0.9 sigma / sqrt(n_eff)``
(normal approximation); the test allows 5 combined standard errors.
"""

from __future__ import annotations

import math

import numpy as np

from rotcurve.inference import fit_galaxy

from .plain_emcee import DiscNFWReference, SparcFlat, fit_plain


def compare(ours, theirs, n_eff_ours, n_eff_theirs):
    se = math.sqrt(1.0 / n_eff_ours + 1.0 / n_eff_theirs)
    for k in range(ours.shape[1]):
        a, b = ours[:, k], theirs[:, k]
        sigma = 0.5 * (np.percentile(b, 84.13) - np.percentile(b, 15.87))
        med_diff = abs(np.median(a) - np.median(b))
        assert med_diff < 5 * 1.25 * sigma * se, (k, med_diff / sigma)
        width = 0.5 * (np.percentile(a, 84.13) - np.percentile(a, 15.87))
        assert abs(width - sigma) < 5 * 0.9 * sigma * se, (k, width / sigma)


def test_disc_nfw_reference_posterior_matches(mocks):
    g = mocks[4]
    fit = fit_galaxy(g, model="disc-nfw", prior="reference", seed=1)
    assert fit.converged
    ours = np.log10(fit.samples)
    logp = DiscNFWReference(g.R, g.V, g.eV)
    start = np.log10([g.truth[k] for k in ("Md", "Rd", "Mh", "c")])
    theirs, tau, _, n_eff = fit_plain(logp, start, n_walkers=32, n_steps=1600, burn=300, seed=2)
    assert n_eff > 500
    compare(ours, theirs, fit.n_eff, n_eff)


def test_sparc_flat_posterior_matches(sparc):
    g = sparc["NGC3198"]
    fit = fit_galaxy(g, model="sparc", prior="flat", H0=73.0, seed=1)
    assert fit.converged
    ours = np.log10(fit.samples)
    logp = SparcFlat(g.R, g.V, g.eV, g.Vgas, g.Vdisk, g.Vbul, H0=73.0)
    theirs, tau, _, n_eff = fit_plain(logp, [math.log10(0.5), 11.5, 1.0], n_walkers=32, n_steps=1600, burn=300,
                                      seed=3)
    assert n_eff > 500
    compare(ours, theirs, fit.n_eff, n_eff)
