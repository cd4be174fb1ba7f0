"""The vectorised log posterior against direct formulas, with and without nuisance parameters."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from rotcurve.inference import Galaxy, Posterior
from rotcurve.inference.models import DiscNFWModel, SparcModel
from rotcurve.inference.priors import DistancePrior, FlatPrior, InclinationPrior, ReferenceFitPrior
from rotcurve.physics import rotation_curves

G = 4.30091e-6


def nfw_v2(r, mh, c, H0):
    h = H0 / 1000.0
    r200 = (G * mh / (100 * h * h)) ** (1 / 3)
    x = r * c / r200
    return G * mh / r * (np.log1p(x) - x / (1 + x)) / (np.log1p(c) - c / (1 + c))


def galaxy(**kw):
    r = np.linspace(0.5, 15, 20)
    base = dict(R=r, V=120 * r / (r + 3), eV=np.full(20, 5.0), Vgas=10 * np.sqrt(r) - 8, Vdisk=60 * np.exp(-r / 10),
                Vbul=30 * np.exp(-r), distance=12.0, inclination=55.0)
    base.update(kw)
    return Galaxy("P", **base)


def direct_sparc(g, theta, H0, *, nuisance=False):
    ud, ub, mh, c = 10 ** theta[:4]
    s = theta[4] / g.distance if nuisance else 1.0
    q = math.sin(math.radians(g.inclination)) / math.sin(math.radians(theta[5])) if nuisance else 1.0
    v2 = s * (np.abs(g.Vgas) * g.Vgas + ud * g.Vdisk**2 + ub * g.Vbul**2) + nfw_v2(g.R * s, mh, c, H0)
    v = np.sign(v2) * np.sqrt(np.abs(v2))
    return -0.5 * np.sum(((g.V * q - v) / (g.eV * q)) ** 2) - np.sum(np.log(g.eV * q))


def test_sparc_likelihood_direct():
    g = galaxy()
    post = Posterior(g, SparcModel(H0=73.0), FlatPrior())
    rng = np.random.default_rng(0)
    theta = post.prior.draw(50, rng)
    ll = post.log_likelihood(theta)
    np.testing.assert_allclose(ll, [direct_sparc(g, t, 73.0) for t in theta], rtol=1e-10)
    np.testing.assert_allclose(post(theta), post.prior.log_density(theta) + ll, rtol=1e-12)
    assert post(theta[0]).shape == (1,)


def test_nuisance_likelihood_direct():
    g = galaxy()
    prior = FlatPrior(distance=DistancePrior(sigma_frac=0.2), inclination=InclinationPrior(sigma_deg=8.0))
    post = Posterior(g, SparcModel(H0=70.0), prior)
    assert [p.name for p in post.parameters] == ["Ups_disk", "Ups_bulge", "Mh", "c", "D", "inc"]
    theta = post.prior.draw(40, np.random.default_rng(1))
    np.testing.assert_allclose(post.log_likelihood(theta), [direct_sparc(g, t, 70.0, nuisance=True) for t in theta],
                               rtol=1e-10)
    np.testing.assert_allclose(post(theta), post.prior.log_density(theta) + post.log_likelihood(theta), rtol=1e-12)


def test_disc_nfw_likelihood_uses_the_physics():
    g = galaxy(Vgas=None, Vdisk=None, Vbul=None)
    post = Posterior(g, DiscNFWModel(), ReferenceFitPrior())
    theta = post.prior.draw(20, np.random.default_rng(2))
    rc = rotation_curves({k: 10 ** theta[:, i] for i, k in enumerate(("Md", "Rd", "Mh", "c"))}, g.R)
    chi2 = np.sum(((g.V - rc.v_circ) / g.eV) ** 2, axis=1)
    np.testing.assert_allclose(post.chi2(theta), chi2, rtol=1e-8)


def test_outside_the_prior_and_far_away_is_minus_inf_quietly():
    post = Posterior(galaxy(), SparcModel(), FlatPrior())
    theta = np.array([[-0.3, 0.0, 11.0, 1.0], [-0.3, 0.0, 11.0, 2.5], [-0.3, 0.0, 400.0, 1.0], [-0.3, 0.0, -400.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lp = post(theta)
    assert np.isfinite(lp[0]) and np.all(lp[1:] == -np.inf)
    with pytest.raises(Exception, match="needs"):
        Posterior(galaxy(Vgas=None), SparcModel(), FlatPrior())


def test_too_few_points_for_the_parameters():
    g = galaxy().replace(R=np.array([1.0, 2.0, 3.0]), V=np.ones(3), eV=np.ones(3), Vgas=np.ones(3),
                         Vdisk=np.ones(3), Vbul=np.ones(3))
    with pytest.raises(Exception, match="3 points but the model has 4 free parameters"):
        Posterior(g, SparcModel(), FlatPrior())
