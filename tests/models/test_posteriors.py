"""Gaussian posteriors: KL, sampling, densities and gradients against independent references."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from rotcurve.models.posteriors import (
    MIN_SCALE,
    POSTERIORS,
    CholeskyGaussian,
    DiagonalGaussian,
    EigenGaussian,
    PointMass,
    working_dtype,
)

GAUSSIANS = sorted(POSTERIORS)


def _softplus_inv(y: float) -> float:
    return math.log(math.expm1(y))


def _params(name: str, b: int, d: int, *, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = POSTERIORS[name].n_params(d)
    return scale * torch.randn(b, n, generator=g, dtype=torch.float64)


def _standard_normal(d: int, dtype=torch.float64) -> MultivariateNormal:
    return MultivariateNormal(torch.zeros(d, dtype=dtype), torch.eye(d, dtype=dtype))


@pytest.mark.parametrize("name", GAUSSIANS)
@pytest.mark.parametrize("d", [1, 2, 5])
def test_kl_matches_torch_distributions(name, d):
    post = POSTERIORS[name].from_params(_params(name, 16, d, seed=d), d)
    q = MultivariateNormal(post.mean, covariance_matrix=post.covariance)
    expected = kl_divergence(q, _standard_normal(d))
    assert post.kl().shape == (16,)
    torch.testing.assert_close(post.kl(), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", GAUSSIANS)
def test_log_prob_matches_torch_distributions(name):
    d = 3
    post = POSTERIORS[name].from_params(_params(name, 8, d, seed=1), d)
    q = MultivariateNormal(post.mean, covariance_matrix=post.covariance)
    z = torch.randn(5, 8, d, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    torch.testing.assert_close(post.log_prob(z), q.log_prob(z), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", GAUSSIANS)
def test_kl_matches_monte_carlo(name):
    d, n = 3, 200_000
    post = POSTERIORS[name].from_params(_params(name, 4, d, seed=3, scale=0.7), d)
    z = post.sample(torch.Generator().manual_seed(4), n_samples=n)  # (n, B, d)
    q = MultivariateNormal(post.mean, covariance_matrix=post.covariance)
    log_ratio = q.log_prob(z) - _standard_normal(d).log_prob(z)  # (n, B)
    estimate = log_ratio.mean(0)
    stderr = log_ratio.std(0) / math.sqrt(n)
    assert torch.all((estimate - post.kl()).abs() < 5 * stderr), (estimate, post.kl(), stderr)


@pytest.mark.parametrize("name", GAUSSIANS)
def test_sample_moments_match_mean_and_covariance(name):
    d, n = 3, 100_000
    post = POSTERIORS[name].from_params(_params(name, 2, d, seed=5), d)
    z = post.rsample(torch.Generator().manual_seed(6), n_samples=n)
    cov = post.covariance
    var = torch.diagonal(cov, dim1=-2, dim2=-1)
    # mean: standard error sqrt(var / n)
    assert torch.all((z.mean(0) - post.mean).abs() < 5 * torch.sqrt(var / n))
    centred = z - post.mean
    sample_cov = torch.einsum("nbi,nbj->bij", centred, centred) / n
    # Var of a Gaussian sample covariance entry: (S_ii S_jj + S_ij^2) / n
    tol = 5 * torch.sqrt((var.unsqueeze(-1) * var.unsqueeze(-2) + cov.square()) / n)
    assert torch.all((sample_cov - cov).abs() < tol)


@pytest.mark.parametrize("name", GAUSSIANS)
def test_scale_tril_is_the_cholesky_factor(name):
    d = 4
    post = POSTERIORS[name].from_params(_params(name, 6, d, seed=7), d)
    tril = post.scale_tril
    assert torch.equal(tril, torch.tril(tril))
    assert torch.all(torch.diagonal(tril, dim1=-2, dim2=-1) > 0)
    torch.testing.assert_close(tril, torch.linalg.cholesky(post.covariance), rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(post.scale @ post.scale.mT, post.covariance)


def test_eigen_posterior_structure():
    """U is a rotation and the eigenvalues of Sigma are exactly s^2."""
    d = 5
    post = EigenGaussian.from_params(_params("full-svd", 6, d, seed=8, scale=2.0), d)
    eye = torch.eye(d, dtype=torch.float64).expand(6, d, d)
    torch.testing.assert_close(post.rotation.mT @ post.rotation, eye, rtol=0, atol=1e-12)
    assert torch.allclose(torch.linalg.det(post.rotation), torch.ones(6, dtype=torch.float64))
    eig = torch.linalg.eigvalsh(post.covariance)
    torch.testing.assert_close(eig, torch.sort(post.stddev.square(), dim=-1).values)


def test_full_and_full_svd_agree_for_the_same_covariance():
    d = 4
    eigen = EigenGaussian.from_params(_params("full-svd", 10, d, seed=9), d)
    tril = torch.linalg.cholesky(eigen.covariance)
    # rebuild the Cholesky posterior through its own parameterisation
    diag = torch.diagonal(tril, dim1=-2, dim2=-1) - MIN_SCALE
    raw_diag = diag + torch.log(-torch.expm1(-diag))  # softplus^{-1}
    rows, cols = torch.tril_indices(d, d, offset=-1)
    below = tril[:, rows, cols] / torch.diagonal(tril, dim1=-2, dim2=-1)[:, cols]  # M = L / s_j
    params = torch.cat([eigen.mean, raw_diag, below], dim=1)
    chol = CholeskyGaussian.from_params(params, d)
    torch.testing.assert_close(chol.covariance, eigen.covariance, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(chol.kl(), eigen.kl(), rtol=1e-9, atol=1e-12)
    z = torch.randn(3, 10, d, dtype=torch.float64)
    torch.testing.assert_close(chol.log_prob(z), eigen.log_prob(z), rtol=1e-9, atol=1e-9)


def test_diag_is_full_with_no_correlation():
    d = 3
    p = _params("diag", 5, d, seed=10)
    diag = DiagonalGaussian.from_params(p, d)
    full = CholeskyGaussian.from_params(torch.cat([p, torch.zeros(5, 3, dtype=p.dtype)], 1), d)
    torch.testing.assert_close(diag.kl(), full.kl())
    torch.testing.assert_close(diag.covariance, full.covariance)


def _identity_params(name: str, b: int, d: int, *, value: float = 1.0) -> torch.Tensor:
    """Parameters that give Sigma = value^2 I exactly-coinciding eigenvalues."""
    raw = _softplus_inv(value - MIN_SCALE)
    p = torch.zeros(b, POSTERIORS[name].n_params(d), dtype=torch.float64)
    p[:, d : 2 * d] = raw
    return p


@pytest.mark.parametrize("name", GAUSSIANS)
@pytest.mark.parametrize("value", [1.0, 0.3])
def test_gradients_finite_at_coinciding_eigenvalues(name, value):
    d = 4
    params = _identity_params(name, 3, d, value=value).requires_grad_(True)
    post = POSTERIORS[name].from_params(params, d)
    torch.testing.assert_close(
        post.covariance, value**2 * torch.eye(d, dtype=torch.float64).expand(3, d, d)
    )
    z = post.rsample(torch.Generator().manual_seed(0))
    loss = (post.kl() + z.square().sum(-1) - post.log_prob(z)).sum()
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(params.grad).all()
    # at the prior (value = 1, mean 0) the KL is zero and stationary in every parameter
    if value == 1.0:
        kl_params = _identity_params(name, 3, d).requires_grad_(True)
        kl = POSTERIORS[name].from_params(kl_params, d).kl().sum()
        kl.backward()
        assert abs(kl.item()) < 1e-9
        assert kl_params.grad.abs().max() < 1e-9


@pytest.mark.parametrize("name", GAUSSIANS)
def test_gradcheck_through_sample_kl_and_density(name):
    d = 3
    params = _params(name, 2, d, seed=11, scale=0.5).requires_grad_(True)
    eps = torch.randn(2, d, dtype=torch.float64, generator=torch.Generator().manual_seed(12))

    def fn(p):
        post = POSTERIORS[name].from_params(p, d)
        z = post.mean + post._scale_eps(eps)
        return post.kl() + post.log_prob(z) + torch.sin(z).sum(-1)

    assert torch.autograd.gradcheck(fn, (params,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", GAUSSIANS)
@pytest.mark.parametrize("extreme", [-50.0, 50.0])
def test_positive_definite_for_extreme_outputs(name, extreme):
    d = 4
    g = torch.Generator().manual_seed(13)
    params = extreme * torch.sign(torch.randn(8, POSTERIORS[name].n_params(d), generator=g)).double()
    params[0] = extreme  # every output at the extreme
    params.requires_grad_(True)
    post = POSTERIORS[name].from_params(params, d)
    # Positive definite by construction: Sigma = S S^T with S invertible.  Check the
    # factor (no LAPACK decision): scale_tril is lower triangular with a positive diagonal.
    tril = post.scale_tril
    assert torch.equal(tril, torch.tril(tril))
    assert torch.all(torch.diagonal(tril, dim1=-2, dim2=-1) > 0)
    # A Cholesky of Sigma itself only where float64 rounding cannot decide it: a
    # Cholesky succeeds whenever 20 d^1.5 eps cond(Sigma) < 1 (Demmel 1989).  With
    # extreme 'full' outputs cond(Sigma) reaches ~1e27 and LAPACK's answer would
    # depend on the CPU and library (it raises on some, not on others).
    singular = torch.linalg.svdvals(post.scale)
    condition = (singular[:, 0] / singular[:, -1]).square()
    safe = 20 * d**1.5 * torch.finfo(torch.float64).eps * condition < 1
    if name != "full":
        assert torch.all(safe)  # principal scales are bounded: cond <= 2.5e13
    torch.linalg.cholesky(post.covariance[safe].detach())  # raises if not positive definite
    assert torch.all(torch.isfinite(post.log_det_covariance()))
    loss = (post.kl() + post.rsample(torch.Generator().manual_seed(1)).sum(-1)).sum()
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(params.grad).all()


@pytest.mark.parametrize("name", GAUSSIANS)
def test_float32_random_outputs_finite(name):
    d = 4
    params = torch.randn(64, POSTERIORS[name].n_params(d), requires_grad=True)
    post = POSTERIORS[name].from_params(params, d)
    assert post.mean.dtype == torch.float32
    loss = (post.kl() + post.rsample().square().sum(-1)).mean()
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(params.grad).all()
    ref = POSTERIORS[name].from_params(params.detach().double(), d)
    torch.testing.assert_close(post.kl().double(), ref.kl(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", GAUSSIANS)
def test_half_precision_parameters_are_promoted(name):
    d = 2
    params = torch.randn(4, POSTERIORS[name].n_params(d)).to(torch.bfloat16)
    post = POSTERIORS[name].from_params(params, d)
    assert post.mean.dtype == torch.float32
    assert post.kl().dtype == torch.float32
    assert working_dtype(torch.float64) == torch.float64


def test_sample_is_reproducible_and_detached():
    d = 3
    params = _params("full", 4, d).requires_grad_(True)
    post = CholeskyGaussian.from_params(params, d)
    a = post.sample(torch.Generator().manual_seed(5))
    b = post.sample(torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not a.requires_grad
    assert post.rsample(torch.Generator().manual_seed(5)).requires_grad
    torch.testing.assert_close(post.rsample(torch.Generator().manual_seed(5)), a)


def test_point_mass():
    code = torch.randn(5, 3, requires_grad=True)
    post = PointMass(code)
    assert torch.equal(post.kl(), torch.zeros(5))
    assert torch.equal(post.covariance, torch.zeros(5, 3, 3))
    assert post.rsample() is code
    assert post.sample(n_samples=4).shape == (4, 5, 3)
    with pytest.raises(NotImplementedError):
        post.log_prob(code)


def test_cayley_is_a_rotation_with_the_closed_form_in_two_dimensions():
    """For K = [[0, -t], [t, 0]] the Cayley transform is the rotation by 2 atan(t)."""
    from rotcurve.models.posteriors import cayley

    t = torch.tensor([0.0, 0.3, -2.0, 40.0], dtype=torch.float64)
    k = torch.zeros(4, 2, 2, dtype=torch.float64)
    k[:, 0, 1], k[:, 1, 0] = -t, t
    angle = 2 * torch.atan(t)
    expected = torch.stack(
        [torch.stack([angle.cos(), -angle.sin()], -1), torch.stack([angle.sin(), angle.cos()], -1)],
        dim=-2,
    )
    torch.testing.assert_close(cayley(k), expected)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@settings(max_examples=60, deadline=None, database=None)
@given(
    name=st.sampled_from(GAUSSIANS),
    d=st.integers(1, 5),
    data=st.data(),
)
def test_property_kl_nonnegative_and_covariance_positive_definite(name, d, data):
    n = POSTERIORS[name].n_params(d)
    values = data.draw(
        arrays("float64", (3, n), elements=st.floats(-20, 20, allow_nan=False, width=64))
    )
    post = POSTERIORS[name].from_params(torch.from_numpy(values), d)
    kl = post.kl()
    assert torch.all(torch.isfinite(kl)) and torch.all(kl >= -1e-9 * (1 + kl.abs()))
    cov = post.covariance
    torch.testing.assert_close(cov, cov.mT, rtol=1e-12, atol=0)
    tril = post.scale_tril  # an exact factor: lower triangular, positive diagonal
    assert torch.equal(tril, torch.tril(tril))
    assert torch.all(torch.diagonal(tril, dim1=-2, dim2=-1) > 0)
    singular = torch.linalg.svdvals(post.scale)
    condition = (singular[:, 0] / singular[:, -1]).square()
    if name != "full":
        # principal scales in [MIN_SCALE, softplus(20)]: cond(Sigma) <= (20 / 1e-5)^2
        assert torch.all(condition < 1e13)
    well_conditioned = condition < 1e12
    _, info = torch.linalg.cholesky_ex(cov[well_conditioned])
    assert torch.all(info == 0)
    # zero mean and unit covariance is the only zero of the KL
    if torch.all(kl.abs() < 1e-12):
        torch.testing.assert_close(cov, torch.eye(d, dtype=cov.dtype).expand_as(cov))


def test_cholesky_factor_is_unit_lower_times_scales():
    """L = (I + M) diag(s): diagonal s, below it M_ij * s_j (the LDL^T form)."""
    d = 3
    params = _params("full", 2, d, seed=14)
    post = CholeskyGaussian.from_params(params, d)
    s = torch.nn.functional.softplus(params[:, d : 2 * d]) + MIN_SCALE
    m = params[:, 2 * d :]
    expected = torch.zeros(2, d, d, dtype=torch.float64)
    expected[:, 0, 0], expected[:, 1, 1], expected[:, 2, 2] = s[:, 0], s[:, 1], s[:, 2]
    expected[:, 1, 0] = m[:, 0] * s[:, 0]  # tril_indices order: (1,0), (2,0), (2,1)
    expected[:, 2, 0] = m[:, 1] * s[:, 0]
    expected[:, 2, 1] = m[:, 2] * s[:, 1]
    torch.testing.assert_close(post.scale_tril, expected)
