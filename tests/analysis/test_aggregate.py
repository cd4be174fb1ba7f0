"""Latent samplers: moments, mixture recovery, densities, JSON round trips, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from rotcurve.analysis.aggregate import (
    AGGREGATES,
    FORMAT_VERSION,
    GaussianAggregate,
    GMMAggregate,
    StandardNormalAggregate,
    aggregate_from_dict,
    fit_aggregate,
)
from rotcurve.errors import ConfigError, DataError

MEAN = np.array([1.0, -2.0, 0.5])
COV = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])


def _gaussian_latents(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).multivariate_normal(MEAN, COV, size=n)


def _two_clusters(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = rng.random(n) < 0.7
    a = rng.multivariate_normal([-3.0, 0.0], [[0.5, 0.2], [0.2, 0.4]], size=n)
    b = rng.multivariate_normal([3.0, 2.0], [[0.3, -0.1], [-0.1, 0.6]], size=n)
    return np.where(k[:, None], a, b)


def test_registry() -> None:
    expected = {"prior": StandardNormalAggregate, "gaussian": GaussianAggregate, "gmm": GMMAggregate}
    assert AGGREGATES == expected


def test_gaussian_fit_recovers_moments_and_samples_match() -> None:
    agg = fit_aggregate(_gaussian_latents(20000, 0), kind="gaussian")
    assert agg.dim == 3
    # sampling error of the mean: sqrt(2 / 20000) ~ 0.01
    np.testing.assert_allclose(agg.mean, MEAN, atol=0.05)
    np.testing.assert_allclose(agg.covariance, COV, atol=0.06)
    z = agg.sample(200000, seed=1)
    assert z.shape == (200000, 3)
    np.testing.assert_allclose(z.mean(axis=0), agg.mean, atol=0.02)
    np.testing.assert_allclose(np.cov(z, rowvar=False), agg.covariance, atol=0.03)


def test_gaussian_log_density_matches_scipy() -> None:
    agg = GaussianAggregate(MEAN, COV)
    z = _gaussian_latents(50, 2)
    np.testing.assert_allclose(agg.log_density(z), stats.multivariate_normal(MEAN, COV).logpdf(z), rtol=1e-12)


def test_prior_samples_and_density() -> None:
    agg = fit_aggregate(np.zeros((5, 4)), kind="prior")
    assert agg.dim == 4
    z = agg.sample(100000, seed=3)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(4), atol=0.02)
    np.testing.assert_allclose(
        agg.log_density(z[:20]), stats.multivariate_normal(np.zeros(4), np.eye(4)).logpdf(z[:20]), rtol=1e-12
    )


def test_gmm_recovers_two_clusters() -> None:
    agg = fit_aggregate(_two_clusters(6000, 4), kind="gmm", seed=0)
    assert isinstance(agg, GMMAggregate)
    assert agg.n_components == 2  # chosen by BIC among 1-8
    order = np.argsort(agg.means[:, 0])
    np.testing.assert_allclose(agg.weights[order], [0.7, 0.3], atol=0.02)
    np.testing.assert_allclose(agg.means[order], [[-3.0, 0.0], [3.0, 2.0]], atol=0.05)
    np.testing.assert_allclose(agg.covariances[order[0]], [[0.5, 0.2], [0.2, 0.4]], atol=0.05)
    # samples land in each cluster with the mixture weights
    z = agg.sample(50000, seed=5)
    np.testing.assert_allclose(np.mean(z[:, 0] < 0), 0.7, atol=0.01)


def test_gmm_log_density_is_the_weighted_sum_of_gaussians() -> None:
    agg = fit_aggregate(_two_clusters(2000, 6), kind="gmm", n_components=3, seed=1)
    assert agg.n_components == 3
    z = _two_clusters(30, 7)
    density = sum(
        w * stats.multivariate_normal(m, c).pdf(z) for w, m, c in zip(agg.weights, agg.means, agg.covariances)
    )
    np.testing.assert_allclose(agg.log_density(z), np.log(density), rtol=1e-10)


@pytest.mark.parametrize("kind", ["prior", "gaussian", "gmm"])
def test_json_round_trip_gives_identical_samples(kind: str) -> None:
    agg = fit_aggregate(_two_clusters(1500, 8), kind=kind, n_components=2 if kind == "gmm" else None, seed=2)
    data = json.loads(json.dumps(agg.to_dict()))
    assert data["kind"] == kind and data["format_version"] == FORMAT_VERSION and data["dim"] == 2
    back = aggregate_from_dict(data)
    assert type(back) is type(agg)
    np.testing.assert_array_equal(back.sample(100, seed=9), agg.sample(100, seed=9))
    z = agg.sample(10, seed=10)
    np.testing.assert_array_equal(back.log_density(z), agg.log_density(z))
    # the seed decides the stream
    assert not np.array_equal(agg.sample(10, seed=11), agg.sample(10, seed=12))


def test_fit_is_reproducible() -> None:
    z = _two_clusters(1000, 9)
    a = fit_aggregate(z, kind="gmm", seed=3).to_dict()
    b = fit_aggregate(z, kind="gmm", seed=3).to_dict()
    assert a == b


def test_bad_input() -> None:
    z = _gaussian_latents(100, 0)
    with pytest.raises(ConfigError, match="unknown aggregate kind"):
        fit_aggregate(z, kind="flow")
    with pytest.raises(DataError, match="NaN"):
        fit_aggregate(np.full((10, 2), np.nan))
    with pytest.raises(DataError, match="more than 3"):
        fit_aggregate(z[:3], kind="gaussian")
    with pytest.raises(DataError, match="positive definite"):
        fit_aggregate(np.column_stack([z[:, 0], z[:, 0]]), kind="gaussian")
    with pytest.raises(ConfigError, match="n_components"):
        fit_aggregate(z, kind="gmm", n_components=0)
    with pytest.raises(ConfigError, match="seed"):
        fit_aggregate(z, kind="gaussian").sample(3, seed=-1)
    agg = fit_aggregate(z, kind="gaussian")
    with pytest.raises(DataError, match="dimensions"):
        agg.log_density(np.zeros((2, 2)))
    good = agg.to_dict()
    with pytest.raises(DataError, match="not supported"):
        aggregate_from_dict({**good, "format_version": FORMAT_VERSION + 1})
    with pytest.raises(DataError, match="unknown latent aggregate kind"):
        aggregate_from_dict({**good, "kind": "flow"})
    with pytest.raises(DataError, match="missing covariance"):
        aggregate_from_dict({k: v for k, v in good.items() if k != "covariance"})
    with pytest.raises(DataError, match="unknown extra"):
        aggregate_from_dict({**good, "extra": 1})
    with pytest.raises(DataError, match="malformed|covariance"):
        aggregate_from_dict({**good, "covariance": [[1.0, 0.0], [0.0]]})
    with pytest.raises(DataError, match="dim is 5"):
        aggregate_from_dict({**good, "dim": 5})


def test_degenerate_covariance_is_decided_by_eigenvalues_not_by_lapack(monkeypatch) -> None:
    """An exactly singular covariance is refused even where LAPACK's Cholesky does not raise.

    Intel's LAPACK factorises ``[[a, a], [a, a]]`` "successfully" with a tiny
    pivot (L[1, 1] ~ 2e-8); here a Cholesky that never raises stands in for it.
    """
    z = _gaussian_latents(100, 0)
    duplicated = np.column_stack([z[:, 0], z[:, 0]])
    real = np.linalg.cholesky

    def lenient(a):  # what MKL gives for a singular 2x2 matrix
        a = np.asarray(a, dtype=np.float64)
        out = np.zeros_like(a)
        out[:, 0] = a[:, 0] / np.sqrt(a[0, 0])
        for i in range(1, a.shape[0]):
            out[i, i] = max(a[i, i] - np.sum(out[i, :i] ** 2), 0.0) ** 0.5 + 2.1e-8
        return out

    monkeypatch.setattr(np.linalg, "cholesky", lenient)
    with pytest.raises(DataError, match="positive definite.*smallest eigenvalue"):
        fit_aggregate(duplicated, kind="gaussian")
    with pytest.raises(DataError, match="zero variance in dimension 2"):
        fit_aggregate(np.column_stack([z[:, 0], np.full(100, 3.0)]), kind="gaussian")
    with pytest.raises(DataError, match="positive definite"):
        GaussianAggregate([0.0, 0.0], [[1.0, 1.0], [1.0, 1.0]])
    monkeypatch.setattr(np.linalg, "cholesky", real)


@pytest.mark.parametrize("eps, ok", [(1e-12, False), (1e-6, True)])
def test_near_singular_covariance_uses_the_stated_tolerance(eps: float, ok: bool) -> None:
    # eigenvalues ~ eps / 2 and ~ 2: LAPACK factorises both without complaint,
    # the rule (smallest <= 1e-10 x largest) refuses the first
    cov = [[1.0, 1.0], [1.0, 1.0 + eps]]
    if ok:
        assert GaussianAggregate([0.0, 0.0], cov).dim == 2
    else:
        with pytest.raises(DataError, match=r"smallest eigenvalue .* <= 1e-10 x largest"):
            GaussianAggregate([0.0, 0.0], cov)
        with pytest.raises(DataError, match="positive definite"):
            GMMAggregate([1.0], [[0.0, 0.0]], [cov])
