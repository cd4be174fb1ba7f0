"""Distributions to draw new latent vectors from ("aggregate posteriors").

A VAE decodes new curves from latent vectors ``z``.  Drawing ``z`` from the
standard normal prior ignores how the encoder actually fills the latent space;
fitting a distribution to the latent means of the training curves (their
*aggregate*) and sampling from it usually gives more realistic curves.

Three kinds, registered in :data:`AGGREGATES`:

``prior``     standard normal ``N(0, I)`` (nothing is fitted);
``gaussian``  one full-covariance Gaussian (mean and covariance of the means);
``gmm``       a Gaussian mixture with full covariances (scikit-learn), its
              number of components fixed or chosen by BIC.

Every fitted aggregate is plain numbers: :meth:`~LatentAggregate.to_dict`
gives JSON-ready lists and :func:`aggregate_from_dict` rebuilds it exactly, so
it is saved in a run folder without pickle, and the same seed gives the same
samples before and after the round trip.

>>> agg = fit_aggregate(latent_means, kind="gmm", seed=0)    # doctest: +SKIP
>>> z = agg.sample(1000, seed=1)                              # doctest: +SKIP
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from rotcurve.errors import ConfigError, DataError
from rotcurve.seeds import SeedLike, as_rng
from rotcurve.validation import check_seed, is_int

__all__ = [
    "LatentAggregate",
    "StandardNormalAggregate",
    "GaussianAggregate",
    "GMMAggregate",
    "AGGREGATES",
    "fit_aggregate",
    "aggregate_from_dict",
    "FORMAT_VERSION",
    "DEGENERATE_RTOL",
]

#: Version of the :meth:`LatentAggregate.to_dict` layout.
FORMAT_VERSION: int = 1

_LOG_2PI = math.log(2.0 * math.pi)

def _check_n(n: int) -> int:
    if not is_int(n) or n < 0:
        raise ConfigError(f"number of samples must be a non-negative integer, got {n!r}")
    return int(n)


def _check_latents(z: Any, dim: int | None = None, *, what: str = "latents") -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise DataError(f"{what} must be a 2-D array (N, d), got shape {z.shape}")
    if dim is not None and z.shape[1] != dim:
        raise DataError(f"{what} have {z.shape[1]} dimensions but the aggregate has {dim}")
    if not np.all(np.isfinite(z)):
        raise DataError(f"{what} hold NaN or infinite values; check the encoder output")
    return z


#: A covariance is degenerate when its smallest eigenvalue is at most this
#: fraction of its largest (condition number >= 1e10), or a variance is zero.
#: Rounding moves eigenvalues by about 1e-16 of the largest, far below this, so
#: the decision does not depend on the CPU or the BLAS/LAPACK library.
DEGENERATE_RTOL: float = 1e-10


def _cholesky(cov: np.ndarray, where: str) -> np.ndarray:
    """Cholesky factor of a covariance that is well away from singular.

    Degeneracy is decided from the eigenvalues against :data:`DEGENERATE_RTOL`
    (and zero variances), not from whether LAPACK's Cholesky happens to fail:
    on some CPUs the factorisation of an exactly singular matrix "succeeds"
    with a tiny pivot such as 2e-8.
    """
    how = "a constant or duplicated latent dimension"
    variances = np.diag(cov)
    if np.any(variances <= 0.0):
        dims = ", ".join(str(i + 1) for i in np.flatnonzero(variances <= 0.0))
        raise DataError(
            f"{where}: covariance is not positive definite (zero variance in dimension {dims}); the "
            f"latents are degenerate ({how}): use fewer latent dimensions or the 'prior' aggregate"
        )
    eig = np.linalg.eigvalsh(cov)
    if not eig[0] > DEGENERATE_RTOL * eig[-1]:
        raise DataError(
            f"{where}: covariance is not positive definite (smallest eigenvalue {eig[0]:.3g} <= "
            f"{DEGENERATE_RTOL:g} x largest {eig[-1]:.3g}); the latents are degenerate ({how}): "
            "use fewer latent dimensions or the 'prior' aggregate"
        )
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:  # pragma: no cover - excluded by the eigenvalue test
        raise DataError(
            f"{where}: covariance is not positive definite; the latents may be degenerate ({how})"
        ) from None


def _gaussian_logpdf(z: np.ndarray, mean: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """log N(z | mean, L L^T) for rows of ``z``, shape (N,)."""
    from scipy.linalg import solve_triangular

    d = mean.size
    diff = (z - mean).T  # (d, N)
    w = solve_triangular(chol, diff, lower=True)
    maha = np.einsum("ij,ij->j", w, w)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    return -0.5 * (maha + logdet + d * _LOG_2PI)


class LatentAggregate(abc.ABC):
    """A distribution over latent vectors of dimension :attr:`dim`."""

    kind: ClassVar[str]

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Latent dimension ``d``."""

    @abc.abstractmethod
    def sample(self, n: int, *, seed: SeedLike) -> np.ndarray:
        """Draw ``n`` latent vectors.

        Parameters
        ----------
        n : int
            Number of samples (>= 0).
        seed : int, numpy.random.SeedSequence or numpy.random.Generator, keyword-only
            The random stream; an integer seed gives the same samples every time.

        Returns
        -------
        numpy.ndarray
            Shape (n, d), float64.
        """

    @abc.abstractmethod
    def log_density(self, z: np.ndarray) -> np.ndarray:
        """Natural log of the probability density at each row of ``z``.

        Parameters
        ----------
        z : (N, d) array_like

        Returns
        -------
        numpy.ndarray
            Shape (N,), float64, in log of inverse latent volume.
        """

    @classmethod
    @abc.abstractmethod
    def fit(
        cls, latent_means: np.ndarray, *, n_components: int | Sequence[int] | None = None, seed: SeedLike = 0
    ) -> LatentAggregate:
        """Fit to latent means (N, d); see :func:`fit_aggregate`."""

    @abc.abstractmethod
    def _params(self) -> dict[str, Any]:
        """JSON-ready parameters (without ``kind``)."""

    @classmethod
    @abc.abstractmethod
    def _from_params(cls, data: dict[str, Any], dim: int) -> LatentAggregate:
        """Rebuild from the output of :meth:`_params`."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: ``kind``, ``format_version``, ``dim`` and parameters."""
        return {"kind": self.kind, "format_version": FORMAT_VERSION, "dim": self.dim, **self._params()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class StandardNormalAggregate(LatentAggregate):
    """The VAE prior ``N(0, I_d)``.

    Parameters
    ----------
    dim : int
        Latent dimension (>= 1).
    """

    kind: ClassVar[str] = "prior"

    def __init__(self, dim: int) -> None:
        if not is_int(dim) or dim < 1:
            raise ConfigError(f"latent dimension must be a positive integer, got {dim!r}")
        self._dim = int(dim)

    @property
    def dim(self) -> int:
        return self._dim

    @classmethod
    def fit(
        cls, latent_means: np.ndarray, *, n_components: int | Sequence[int] | None = None, seed: SeedLike = 0
    ) -> StandardNormalAggregate:
        """Only the dimension of ``latent_means`` (N, d) is used."""
        if n_components not in (None, 1):
            raise ConfigError("the 'prior' aggregate has no components; leave n_components unset")
        return cls(_check_latents(latent_means).shape[1])

    def sample(self, n: int, *, seed: SeedLike) -> np.ndarray:
        return as_rng(seed).standard_normal((_check_n(n), self._dim))

    def log_density(self, z: np.ndarray) -> np.ndarray:
        z = _check_latents(z, self._dim, what="z")
        return -0.5 * (np.einsum("ij,ij->i", z, z) + self._dim * _LOG_2PI)

    def _params(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_params(cls, data: dict[str, Any], dim: int) -> StandardNormalAggregate:
        return cls(dim)


class GaussianAggregate(LatentAggregate):
    """A full-covariance Gaussian ``N(mean, covariance)``.

    Parameters
    ----------
    mean : (d,) array_like
    covariance : (d, d) array_like
        Symmetric positive definite: smallest eigenvalue above
        :data:`DEGENERATE_RTOL` times the largest.
    """

    kind: ClassVar[str] = "gaussian"

    def __init__(self, mean: np.ndarray, covariance: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=np.float64).copy()
        self.covariance = np.asarray(covariance, dtype=np.float64).copy()
        d = self.mean.size
        if self.mean.ndim != 1 or self.covariance.shape != (d, d):
            raise DataError(
                f"gaussian aggregate needs mean (d,) and covariance (d, d); got "
                f"{self.mean.shape} and {self.covariance.shape}"
            )
        if not (np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.covariance))):
            raise DataError("gaussian aggregate: mean and covariance must be finite")
        if not np.allclose(self.covariance, self.covariance.T, rtol=1e-10, atol=0.0):
            raise DataError("gaussian aggregate: covariance must be symmetric")
        self._chol = _cholesky(self.covariance, "gaussian aggregate")

    @property
    def dim(self) -> int:
        return int(self.mean.size)

    @classmethod
    def fit(
        cls, latent_means: np.ndarray, *, n_components: int | Sequence[int] | None = None, seed: SeedLike = 0
    ) -> GaussianAggregate:
        """Sample mean and covariance (``ddof=1``) of ``latent_means`` (N, d), N > d."""
        if n_components not in (None, 1):
            raise ConfigError("the 'gaussian' aggregate has one component; use kind='gmm' for more")
        z = _check_latents(latent_means)
        if z.shape[0] <= z.shape[1]:
            raise DataError(
                f"a {z.shape[1]}-D Gaussian needs more than {z.shape[1]} latent vectors, got {z.shape[0]}"
            )
        return cls(z.mean(axis=0), np.atleast_2d(np.cov(z, rowvar=False)))

    def sample(self, n: int, *, seed: SeedLike) -> np.ndarray:
        eps = as_rng(seed).standard_normal((_check_n(n), self.dim))
        return self.mean + eps @ self._chol.T

    def log_density(self, z: np.ndarray) -> np.ndarray:
        z = _check_latents(z, self.dim, what="z")
        return _gaussian_logpdf(z, self.mean, self._chol)

    def _params(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "covariance": self.covariance.tolist()}

    @classmethod
    def _from_params(cls, data: dict[str, Any], dim: int) -> GaussianAggregate:
        return cls(np.asarray(data["mean"]), np.asarray(data["covariance"]))


class GMMAggregate(LatentAggregate):
    """A Gaussian mixture with full covariances.

    Parameters
    ----------
    weights : (K,) array_like
        Mixture weights, positive, summing to 1.
    means : (K, d) array_like
    covariances : (K, d, d) array_like
        Each symmetric positive definite.
    """

    kind: ClassVar[str] = "gmm"

    #: Component counts tried by BIC when none is given.
    DEFAULT_COMPONENTS: ClassVar[tuple[int, ...]] = tuple(range(1, 9))

    def __init__(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> None:
        self.weights = np.asarray(weights, dtype=np.float64).copy()
        self.means = np.asarray(means, dtype=np.float64).copy()
        self.covariances = np.asarray(covariances, dtype=np.float64).copy()
        k = self.weights.size
        if (
            self.weights.ndim != 1
            or self.means.ndim != 2
            or self.means.shape[0] != k
            or self.covariances.shape != (k, self.means.shape[1], self.means.shape[1])
        ):
            raise DataError(
                "gmm aggregate needs weights (K,), means (K, d), covariances (K, d, d); got "
                f"{self.weights.shape}, {self.means.shape}, {self.covariances.shape}"
            )
        finite = all(np.all(np.isfinite(a)) for a in (self.weights, self.means, self.covariances))
        if not finite or np.any(self.weights <= 0) or abs(self.weights.sum() - 1.0) > 1e-8:
            raise DataError("gmm aggregate: weights must be positive and sum to 1; all values finite")
        self._chols = np.stack(
            [_cholesky(c, f"gmm aggregate component {i}") for i, c in enumerate(self.covariances)]
        )

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    @property
    def n_components(self) -> int:
        """Number of mixture components ``K``."""
        return int(self.weights.size)

    @classmethod
    def fit(
        cls,
        latent_means: np.ndarray,
        *,
        n_components: int | Sequence[int] | None = None,
        seed: SeedLike = 0,
    ) -> GMMAggregate:
        """Fit by expectation-maximisation (scikit-learn ``GaussianMixture``).

        Parameters
        ----------
        latent_means : (N, d) array_like
        n_components : int or sequence of int, keyword-only
            A fixed number of components, or the candidates among which the
            lowest BIC wins; default :attr:`DEFAULT_COMPONENTS` (1 to 8).
        seed : int, keyword-only
            Seeds the k-means initialisation.
        """
        from sklearn.mixture import GaussianMixture
        from threadpoolctl import threadpool_limits

        z = _check_latents(latent_means)
        if n_components is None:
            candidates = cls.DEFAULT_COMPONENTS
        elif is_int(n_components):
            candidates = (int(n_components),)
        else:
            candidates = tuple(int(k) for k in n_components)
        if not candidates or any(k < 1 for k in candidates):
            raise ConfigError(f"n_components must be positive integers, got {n_components!r}")
        candidates = tuple(k for k in candidates if k <= z.shape[0]) or (1,)
        if isinstance(seed, np.random.Generator):
            raise ConfigError("fit_aggregate needs an integer seed or SeedSequence")
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(check_seed(seed))
        random_state = int(seq.generate_state(1)[0] >> 1)
        best, best_bic = None, math.inf
        # d x d matrices: one BLAS thread is several times faster than many.
        with threadpool_limits(limits=1, user_api="blas"):
            for k in candidates:
                gm = GaussianMixture(
                    n_components=k, covariance_type="full", reg_covar=1e-6, n_init=1,
                    max_iter=500, random_state=random_state,
                ).fit(z)
                bic = gm.bic(z)
                if bic < best_bic:
                    best, best_bic = gm, bic
        assert best is not None
        weights = best.weights_ / best.weights_.sum()
        return cls(weights, best.means_, best.covariances_)

    def sample(self, n: int, *, seed: SeedLike) -> np.ndarray:
        n = _check_n(n)
        rng = as_rng(seed)
        comp = rng.choice(self.n_components, size=n, p=self.weights)
        eps = rng.standard_normal((n, self.dim))
        return self.means[comp] + np.einsum("nij,nj->ni", self._chols[comp], eps)

    def log_density(self, z: np.ndarray) -> np.ndarray:
        from scipy.special import logsumexp

        z = _check_latents(z, self.dim, what="z")
        per = np.stack(
            [_gaussian_logpdf(z, m, c) for m, c in zip(self.means, self._chols)], axis=1
        )  # (N, K)
        return logsumexp(per + np.log(self.weights), axis=1)

    def _params(self) -> dict[str, Any]:
        return {
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
        }

    @classmethod
    def _from_params(cls, data: dict[str, Any], dim: int) -> GMMAggregate:
        return cls(np.asarray(data["weights"]), np.asarray(data["means"]), np.asarray(data["covariances"]))


#: Aggregate classes by kind.
AGGREGATES: dict[str, type[LatentAggregate]] = {
    StandardNormalAggregate.kind: StandardNormalAggregate,
    GaussianAggregate.kind: GaussianAggregate,
    GMMAggregate.kind: GMMAggregate,
}

_KEYS: dict[str, set[str]] = {
    "prior": set(),
    "gaussian": {"mean", "covariance"},
    "gmm": {"weights", "means", "covariances"},
}


def fit_aggregate(
    latent_means: np.ndarray,
    *,
    kind: str = "gaussian",
    n_components: int | Sequence[int] | None = None,
    seed: int = 0,
) -> LatentAggregate:
    """Fit a latent sampler to the latent means of the training curves.

    Parameters
    ----------
    latent_means : (N, d) array_like
        Encoder means (latent units).
    kind : {"prior", "gaussian", "gmm"}, keyword-only
        Key of :data:`AGGREGATES`.
    n_components : int or sequence of int, keyword-only
        For ``"gmm"``: a fixed count or candidates chosen by BIC (default 1-8).
    seed : int, keyword-only
        Seeds the fit (the mixture's initialisation).

    Returns
    -------
    LatentAggregate
        With ``.sample(n, seed=)``, ``.log_density(z)`` and ``.to_dict()``.

    Raises
    ------
    ConfigError
        On an unknown kind or invalid options.
    DataError
        On latents that are not a finite (N, d) array, or too few of them, or
        whose fitted covariance is degenerate: a zero variance, or a smallest
        eigenvalue at most :data:`DEGENERATE_RTOL` (1e-10) times the largest
        (a constant or duplicated latent dimension).  The test is on the
        eigenvalues, so it gives the same answer on every CPU.
    """
    if kind not in AGGREGATES:
        raise ConfigError(f"unknown aggregate kind {kind!r}; choose one of {', '.join(AGGREGATES)}")
    return AGGREGATES[kind].fit(latent_means, n_components=n_components, seed=seed)


def aggregate_from_dict(data: dict[str, Any]) -> LatentAggregate:
    """Rebuild an aggregate from :meth:`LatentAggregate.to_dict` output.

    Raises
    ------
    DataError
        On an unknown kind, a newer format, missing or unknown keys or bad values.
    """
    if not isinstance(data, dict):
        raise DataError(f"latent aggregate must be a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in AGGREGATES:
        raise DataError(f"unknown latent aggregate kind {kind!r}; expected one of {', '.join(AGGREGATES)}")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise DataError(
            f"latent aggregate format_version {version!r} is not supported (this rotcurve reads "
            f"up to {FORMAT_VERSION}); upgrade rotcurve or refit the aggregate"
        )
    expected = {"kind", "format_version", "dim"} | _KEYS[kind]
    missing, unknown = sorted(expected - set(data)), sorted(set(data) - expected)
    if missing or unknown:
        raise DataError(
            f"latent aggregate '{kind}': "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unknown {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
        )
    dim = data["dim"]
    if not is_int(dim, numpy=False) or dim < 1:
        raise DataError(f"latent aggregate dim must be a positive integer, got {dim!r}")
    try:
        agg = AGGREGATES[kind]._from_params(data, dim)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"latent aggregate '{kind}' has malformed values: {exc}") from None
    if agg.dim != dim:
        raise DataError(f"latent aggregate '{kind}': dim is {dim} but the parameters are {agg.dim}-D")
    return agg
