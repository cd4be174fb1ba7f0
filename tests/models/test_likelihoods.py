"""Decoder likelihoods against scipy and direct formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from rotcurve.models.likelihoods import (
    LIKELIHOODS,
    MIN_SIGMA,
    NOISE_MODES,
    BernoulliLikelihood,
    GaussianLikelihood,
)


def _data(b=6, n=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(b, n)), rng.normal(size=(b, n))


@pytest.mark.parametrize("noise", NOISE_MODES)
def test_gaussian_nll_matches_scipy(noise):
    x, mu = _data()
    lik = GaussianLikelihood(7, noise=noise, sigma=0.3).double()
    sigma = np.full(7, 0.3)
    if noise == "learned":  # a different scale per feature
        sigma = np.linspace(0.05, 2.0, 7)
        with torch.no_grad():
            lik.log_sigma.copy_(torch.from_numpy(np.log(sigma)))
    if noise == "shared":  # one trained scale, used for every feature
        sigma = np.full(7, 0.7)
        with torch.no_grad():
            lik.log_sigma.fill_(math.log(0.7))
    expected = -stats.norm.logpdf(x, loc=mu, scale=sigma).sum(-1)
    got = lik.nll(torch.from_numpy(x), torch.from_numpy(mu))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(lik.sigma.detach().numpy(), sigma, rtol=1e-12)
    assert torch.equal(lik.mean(torch.from_numpy(mu)), torch.from_numpy(mu))


def test_learned_noise_is_a_parameter_and_fixed_is_a_constant():
    learned = GaussianLikelihood(5, noise="learned", sigma=0.2)
    shared = GaussianLikelihood(5, noise="shared", sigma=0.2)
    fixed = GaussianLikelihood(5, noise="fixed", sigma=0.2)
    assert [n for n, _ in learned.named_parameters()] == ["log_sigma"]
    assert learned.log_sigma.shape == (5,) and shared.log_sigma.shape == (1,)
    torch.testing.assert_close(shared.sigma, torch.full((5,), 0.2))
    assert list(fixed.parameters()) == [] and fixed.state_dict() == {}
    torch.testing.assert_close(fixed.sigma, torch.full((5,), 0.2, dtype=torch.float64))


def test_learned_noise_gradient_points_to_the_residual_scale():
    """d nll / d log sigma_j = 1 - r_j^2 / sigma_j^2 per example: zero at sigma = |r|."""
    lik = GaussianLikelihood(3, noise="learned", sigma=1.0).double()
    x = torch.tensor([[0.5, -2.0, 0.0]], dtype=torch.float64)
    lik.nll(x, torch.zeros_like(x)).sum().backward()
    torch.testing.assert_close(lik.log_sigma.grad, 1 - x[0] ** 2)


def test_shared_noise_gradient_is_the_sum_over_features():
    """d nll / d log sigma = sum_j (1 - r_j^2 / sigma^2): zero at sigma^2 = mean_j r_j^2."""
    lik = GaussianLikelihood(3, noise="shared", sigma=1.0).double()
    x = torch.tensor([[0.5, -2.0, 0.0]], dtype=torch.float64)
    lik.nll(x, torch.zeros_like(x)).sum().backward()
    torch.testing.assert_close(lik.log_sigma.grad, (1 - x[0] ** 2).sum().reshape(1))


@pytest.mark.parametrize("noise", NOISE_MODES)
def test_gaussian_max_residual_is_the_worst_feature(noise):
    x, mu = _data(seed=3)
    lik = GaussianLikelihood(7, noise=noise, sigma=0.3).double()
    if noise == "learned":
        with torch.no_grad():
            lik.log_sigma.copy_(torch.from_numpy(np.log(np.linspace(0.05, 2.0, 7))))
    sigma = lik.sigma.detach().numpy()
    expected = (0.5 * ((x - mu) / sigma) ** 2).max(-1)
    got = lik.max_residual(torch.from_numpy(x), torch.from_numpy(mu))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_bernoulli_max_residual_is_the_worst_pixel():
    rng = np.random.default_rng(4)
    x, logits = rng.uniform(size=(5, 9)), rng.normal(scale=3, size=(5, 9))
    p = 1 / (1 + np.exp(-logits))
    expected = (-(x * np.log(p) + (1 - x) * np.log1p(-p))).max(-1)
    got = BernoulliLikelihood(9).max_residual(torch.from_numpy(x), torch.from_numpy(logits))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_learned_noise_floor():
    lik = GaussianLikelihood(4, noise="learned", sigma=0.1)
    with torch.no_grad():
        lik.log_sigma.fill_(-60.0)
    torch.testing.assert_close(lik.sigma, torch.full((4,), MIN_SIGMA))
    x = torch.zeros(2, 4)
    nll = lik.nll(x, x + 1e-3)
    assert torch.isfinite(nll).all()
    expected = 4 * (0.5 * (1e-3 / MIN_SIGMA) ** 2 + math.log(MIN_SIGMA) + 0.5 * math.log(2 * math.pi))
    torch.testing.assert_close(nll, torch.full((2,), expected), rtol=1e-5, atol=0)


def test_bernoulli_nll_matches_direct_formula():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(5, 9))
    x[:, :3] = np.round(x[:, :3])  # binary and grey pixels
    logits = rng.normal(scale=3.0, size=(5, 9))
    p = 1.0 / (1.0 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(-1)
    lik = BernoulliLikelihood(9)
    got = lik.nll(torch.from_numpy(x), torch.from_numpy(logits))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(lik.mean(torch.from_numpy(logits)).numpy(), p, rtol=1e-12)


def test_bernoulli_is_stable_for_huge_logits():
    lik = BernoulliLikelihood(2)
    x = torch.tensor([[1.0, 0.0]])
    logits = torch.tensor([[-200.0, 300.0]], requires_grad=True)
    nll = lik.nll(x, logits)
    # -log sigmoid(-200) = 200 (+ e^-200), -log(1 - sigmoid(300)) = 300
    torch.testing.assert_close(nll, torch.tensor([500.0]))
    nll.sum().backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", sorted(LIKELIHOODS))
def test_broadcasts_over_leading_sample_axis(name):
    lik = LIKELIHOODS[name](4, noise="fixed", sigma=0.5)
    x = torch.rand(3, 4)
    out = torch.randn(5, 3, 4)
    nll = lik.nll(x, out)
    assert nll.shape == (5, 3)
    torch.testing.assert_close(nll[2], lik.nll(x, out[2]))


@pytest.mark.parametrize("name", sorted(LIKELIHOODS))
def test_half_precision_outputs_are_scored_in_float32(name):
    lik = LIKELIHOODS[name](4, noise="learned", sigma=0.5)
    x = torch.rand(3, 4)
    out = torch.randn(3, 4)
    nll = lik.nll(x, out.to(torch.bfloat16))
    assert nll.dtype == torch.float32
    torch.testing.assert_close(nll, lik.nll(x, out.to(torch.bfloat16).float()))
