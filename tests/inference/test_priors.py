"""Fit priors: TOML files = defaults, densities, supports, nuisance parameters, round trips."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from rotcurve.errors import ConfigError, DataError
from rotcurve.generator.priors import ReferencePrior
from rotcurve.inference.galaxy import Galaxy
from rotcurve.inference.models import DiscNFWModel, SparcModel
from rotcurve.inference.priors import (
    FIT_PRIORS,
    DistancePrior,
    FlatPrior,
    InclinationPrior,
    LCDMPrior,
    ReferenceFitPrior,
    fit_prior_from_dict,
    load_fit_prior,
    resolve_fit_prior,
)
from rotcurve.inference.reference import reference_log_density

ROOT = Path(__file__).resolve().parents[2]
SPARC_GAL = Galaxy("s", R=[1.0, 2, 3, 4, 5], V=[1.0] * 5, eV=[1.0] * 5, Vgas=[1.0] * 5, Vdisk=[1.0] * 5,
                   Vbul=[0.0] * 5, distance=10.0, inclination=60.0, e_inclination=4.0)


@pytest.mark.parametrize("kind", sorted(FIT_PRIORS))
def test_toml_files_hold_the_defaults(kind):
    assert load_fit_prior(ROOT / "data" / "fit_priors" / f"{kind}.toml") == FIT_PRIORS[kind]()
    assert fit_prior_from_dict(FIT_PRIORS[kind]().to_dict()) == FIT_PRIORS[kind]()


def test_generator_reference_toml_is_accepted():
    assert load_fit_prior(ROOT / "data" / "priors" / "reference.toml") == ReferenceFitPrior()


def test_reference_density_matches_its_definition():
    p = ReferencePrior()
    rng = np.random.default_rng(0)
    s = p.sample(500, rng)
    lmd, lrd, lmh, lc = (np.log10(s[k]) for k in ("Md", "Rd", "Mh", "c"))
    expected = (
        stats.uniform(9.0, 3.0).logpdf(lmd)
        + stats.norm(0.3 * (lmd - 10.7) + 0.5, 0.4).logpdf(lrd)
        + stats.norm(0.75 * (lmd - 10.7) + 12.0, 0.25).logpdf(lmh)
        + stats.norm(0.905 - 0.101 * (lmh + math.log10(0.7) - 12.0), 0.11).logpdf(lc)
    )
    np.testing.assert_allclose(reference_log_density(p, lmd, lrd, lmh, lc), expected, rtol=1e-12)
    assert reference_log_density(p, np.array([8.9]), np.array([0.0]), np.array([11.0]), np.array([1.0]))[0] == -np.inf
    with pytest.raises(ConfigError, match="scatter must be > 0"):
        ReferenceFitPrior(population=ReferencePrior(c_scatter=0.0))


def test_flat_prior_is_normalised_and_bounded():
    bound = FlatPrior().bind(SparcModel(H0=73.0), SPARC_GAL)
    assert [p.name for p in bound.parameters] == ["Ups_disk", "Mh", "c"]
    box = bound.box()
    # integrate the halo part over (log Mh, log c): 1
    halo_term = bound.terms[1]
    lm = np.linspace(box[1, 0] - 0.1, box[1, 1] + 0.1, 801)
    lc = np.linspace(box[2, 0] - 0.1, box[2, 1] + 0.1, 801)
    gm, gc = (a.ravel() for a in np.meshgrid(lm, lc))
    density = np.exp(halo_term.log_density([gm, gc])).reshape(lc.size, lm.size)
    val = integrate.trapezoid(integrate.trapezoid(density, lm, axis=1), lc)
    assert val == pytest.approx(1.0, abs=0.01)
    theta = bound.draw(1000, np.random.default_rng(1))
    assert np.all(np.isfinite(bound.log_density(theta)))
    out = theta.copy()
    out[:, 2] = 2.1  # C200 > 100
    assert np.all(bound.log_density(out) == -np.inf)
    # the fast BoundPrior path equals the sum of the full term densities
    full = sum(t.log_density([theta[:, i] for i in idx]) for t, idx in zip(bound.terms, bound._index))
    np.testing.assert_allclose(bound.log_density(theta), full, rtol=1e-12, atol=1e-12)


def test_lcdm_prior_concentration_relation():
    bound = LCDMPrior().bind(SparcModel(H0=70.0), SPARC_GAL)
    theta = bound.draw(20000, np.random.default_rng(2))
    lm, lc = theta[:, 1], theta[:, 2]
    resid = lc - (0.905 - 0.101 * (lm + math.log10(0.7) - 12.0))
    assert abs(resid.mean()) < 0.005 and resid.std() == pytest.approx(0.11, rel=0.03)
    full = sum(t.log_density([theta[:, i] for i in idx]) for t, idx in zip(bound.terms, bound._index))
    np.testing.assert_allclose(bound.log_density(theta), full, rtol=1e-12, atol=1e-12)


def test_other_delta_uses_the_exact_support_and_jacobian():
    model = SparcModel(H0=70.0, Delta=100.0)
    bound = FlatPrior().bind(model, SPARC_GAL)
    theta = bound.draw(2000, np.random.default_rng(3))
    lp = bound.log_density(theta)
    assert np.all(np.isfinite(lp))
    d = model.halo.derived({"Mh": 10 ** theta[:, 1], "c": 10 ** theta[:, 2]})
    assert d["V200"].min() >= 10.0 - 1e-9 and d["C200"].max() <= 100.0 + 1e-9


def test_nuisance_parameters():
    prior = FlatPrior(distance=DistancePrior(sigma_frac=0.1), inclination=InclinationPrior(sigma_deg=5.0))
    bound = prior.bind(SparcModel(), SPARC_GAL)
    assert [p.name for p in bound.parameters] == ["Ups_disk", "Mh", "c", "D", "inc"]
    d_term, i_term = bound.terms[-2:]
    assert d_term.mean == 10.0 and d_term.sigma == pytest.approx(1.0)
    assert i_term.mean == 60.0 and i_term.sigma == 4.0  # the galaxy's own error wins
    theta = bound.draw(5000, np.random.default_rng(4))
    assert theta[:, 4].max() <= 90.0 and theta[:, 3].min() > 0
    with pytest.raises(DataError, match="has no inclination"):
        prior.bind(SparcModel(), SPARC_GAL.replace(inclination=None))
    with pytest.raises(DataError, match="no distance error"):
        FlatPrior(distance=DistancePrior()).bind(SparcModel(), SPARC_GAL)


def test_resolve_and_errors(tmp_path):
    assert isinstance(resolve_fit_prior(None, model=SparcModel()), FlatPrior)
    assert isinstance(resolve_fit_prior(None, model=DiscNFWModel()), ReferenceFitPrior)
    with pytest.raises(ConfigError, match="reference prior is for the disc-nfw model"):
        resolve_fit_prior("reference", model=SparcModel())
    with pytest.raises(ConfigError, match="neither a known kind"):
        resolve_fit_prior("nope", model=SparcModel())
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "flat"\nV200 = [10.0, 500.0]\nC2OO = [1, 2]\n')
    with pytest.raises(ConfigError, match=r"bad.toml: unknown setting C2OO"):
        resolve_fit_prior(bad, model=SparcModel())
    bad.write_text('kind = "flat"\nV200 = [500.0, 10.0]\n')
    with pytest.raises(ConfigError, match="low < high"):
        resolve_fit_prior(bad, model=SparcModel())
