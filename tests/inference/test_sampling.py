"""The autocorrelation estimator, the MAP, the emcee method: reproducibility and convergence flags."""

from __future__ import annotations

import emcee
import numpy as np
import pytest

from rotcurve.errors import ConfigError
from rotcurve.inference import MCMCSettings, Posterior, fit_galaxy, galaxy_seed
from rotcurve.inference.autocorr import integrated_time
from rotcurve.inference.models import DiscNFWModel
from rotcurve.inference.optimize import find_map
from rotcurve.inference.priors import ReferenceFitPrior

from .conftest import FAST


def test_autocorr_equals_emcee():
    rng = np.random.default_rng(0)
    x = np.zeros((600, 20, 3))
    for t in range(1, 600):
        x[t] = 0.8 * x[t - 1] + rng.standard_normal((20, 3)) * [1.0, 10.0, 0.01]
    x += [3.0, -200.0, 11.0]
    np.testing.assert_allclose(integrated_time(x), emcee.autocorr.integrated_time(x, tol=0), rtol=1e-4)
    x[:, 5, 1] = 1.0  # a stuck walker
    tau = integrated_time(x)
    assert np.isnan(tau[1]) and np.isfinite(tau[[0, 2]]).all()


def test_map_finds_the_optimum(mocks):
    g = mocks[0]
    post = Posterior(g, DiscNFWModel(), ReferenceFitPrior())
    m = find_map(post, np.random.default_rng(0))
    assert m.success and np.isfinite(m.log_prob)
    # no better point in a cloud around it
    cloud = m.theta + 0.002 * np.random.default_rng(1).standard_normal((400, 4))
    assert post(cloud).max() <= m.log_prob + 1e-6


def test_same_seed_same_samples_other_seed_other(mocks):
    g = mocks[1]
    a = fit_galaxy(g, model="disc-nfw", settings=FAST, seed=3)
    b = fit_galaxy(g, model="disc-nfw", settings=FAST, seed=3)
    c = fit_galaxy(g, model="disc-nfw", settings=FAST, seed=4)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)
    assert galaxy_seed(3, "A").entropy == galaxy_seed(3, "B").entropy
    assert galaxy_seed(3, "A").spawn_key != galaxy_seed(3, "B").spawn_key


def test_a_short_chain_is_flagged_not_converged(mocks):
    fit = fit_galaxy(mocks[2], model="disc-nfw", settings=FAST)
    assert fit.status == "not_converged" and not fit.converged
    assert "not converged after 150 steps" in fit.reason
    assert fit.n_steps == 150 and fit.samples.shape[1] == 4 and fit.derived.shape[1] == 5
    row = fit.summary_row()
    assert row["converged"] is False and row["status"] == "not_converged"


def test_converged_fit_covers_the_truth(mocks):
    g = mocks[3]
    fit = fit_galaxy(g, model="disc-nfw", settings={"n_walkers": 32})
    assert fit.status == "ok" and fit.converged and fit.reason == ""
    st = MCMCSettings()
    assert fit.n_steps > st.tau_factor * np.max(fit.tau)
    assert 0.15 < fit.acceptance < 0.8
    assert fit.n_eff >= st.min_n_eff
    for name in ("Md", "Mh", "V200"):
        lo, hi = fit.quantiles(name, [0.05, 99.95])
        assert lo < g.truth[name] < hi
    # derived V200 of each sample is the halo's
    i = [p.name for p in fit.parameters].index("Mh")
    np.testing.assert_allclose(fit.column("M200"), fit.samples[:, i])


def test_settings_are_strict():
    with pytest.raises(ConfigError, match="unknown setting mcmc.n_walker"):
        fit_galaxy({"R": [1, 2, 3, 4, 5], "V": [1, 2, 3, 4, 5], "eV": [1] * 5}, settings={"n_walker": 3})
    with pytest.raises(ConfigError, match="moves"):
        MCMCSettings(moves="gibbs")


def test_nuisance_parameters_end_to_end(sparc):
    from rotcurve.inference.priors import DistancePrior, FlatPrior, InclinationPrior

    g = sparc["NGC3198"].replace(inclination=70.0, e_inclination=5.0)
    prior = FlatPrior(distance=DistancePrior(sigma_frac=0.1), inclination=InclinationPrior())
    fit = fit_galaxy(g, model="sparc", prior=prior, H0=73.0, settings=FAST)
    assert [p.name for p in fit.parameters] == ["Ups_disk", "Mh", "c", "D", "inc"]
    row = fit.summary_row()
    assert 9.0 < row["D_p50"] < 19.0 and 55.0 < row["inc_p50"] <= 90.0
    assert np.isfinite(row["Mstar_p50"]) and row["Mstar_p50"] > 1e9


def test_next_check_skips_checks_that_cannot_pass():
    from rotcurve.inference.mcmc import _n_eff, _next_check

    st = MCMCSettings()
    for tau in (4.0, 10.0, 30.0, 140.0):
        t = np.array([0.5 * tau, tau])
        nxt = _next_check(200, t, 96, st)
        chunk = min(st.check_every, max(10, int(np.ceil(2.5 * tau))))
        assert nxt > 200 and (nxt - 200) % chunk == 0
        # the first check where the chain can be tau_factor tau long and hold min_n_eff samples
        assert nxt >= st.tau_factor * tau and _n_eff(96, nxt, t) >= st.min_n_eff
        assert nxt - chunk <= 200 or _n_eff(96, nxt - chunk, t) < st.min_n_eff or nxt - chunk < st.tau_factor * tau
    # without a tau estimate: the next chunk
    assert _next_check(200, np.array([np.nan, 3.0]), 96, st) == 200 + st.check_every
