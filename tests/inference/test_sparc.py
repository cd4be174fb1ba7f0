"""Real data: three well-known SPARC galaxies with the sparc model and the flat prior (H0 = 73).

SPARC: Lelli, McGaugh & Schombert 2016, AJ 152, 157 (CC-BY-4.0), read from
../shared/datasets/sparc/Rotmod_LTG.zip (skipped when absent).  The checks are
loose physical ones: NGC 3198's halo has V200 of order 110-150 km/s in
published NFW fits (e.g. Li et al. 2020, ApJS 247, 31; Katz et al. 2017), and
DDO 154 is dark-matter dominated with a low concentration.
"""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.inference import FitSetup, Posterior, fit_galaxy


@pytest.fixture(scope="module")
def fits(sparc):
    return {name: fit_galaxy(sparc[name], model="sparc", prior="flat", H0=73.0)
            for name in ("NGC2403", "NGC3198", "DDO154")}


def test_all_converge_with_sane_diagnostics(fits):
    for name, fit in fits.items():
        assert fit.status == "ok", (name, fit.reason)
        assert 0.15 < fit.acceptance < 0.6
        assert fit.n_eff > 1000


def test_ngc3198_halo(fits):
    row = fits["NGC3198"].summary_row()
    assert 100.0 < row["V200_p50"] < 160.0
    assert row["chi2_red"] < 3.0
    assert 0.3 < row["Ups_disk_p50"] < 0.7


def test_ddo154_is_dark_matter_dominated(fits, sparc):
    fit = fits["DDO154"]
    row = fit.summary_row()
    assert row["C200_p50"] < 10.0 and row["V200_p50"] < 100.0
    post = Posterior(sparc["DDO154"], FitSetup.create(model="sparc", H0=73.0).model, fit_prior())
    theta = np.log10(fit.map)[None, :]
    comps = post.components(theta)
    bary2 = comps["gas"][0, -1] ** 2 + comps["disc"][0, -1] ** 2
    assert comps["halo"][0, -1] ** 2 > 3 * bary2  # the halo dominates at the last radius


def fit_prior():
    from rotcurve.inference.priors import FlatPrior

    return FlatPrior()
