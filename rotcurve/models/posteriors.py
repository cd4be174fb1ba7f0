"""Approximate posteriors q(z | x): Gaussians of three shapes, and a point mass.

An encoder outputs a flat vector of parameters per example; a posterior class
turns it into a distribution over the latent space.  Every posterior has

* ``mean`` -- ``(B, d)``;
* ``scale`` -- a square root ``S`` of the covariance, ``S S^T = Sigma``,
  ``(B, d, d)`` (not necessarily triangular);
* ``scale_tril`` -- the lower-triangular Cholesky factor of ``Sigma``
  (positive diagonal), ``(B, d, d)``;
* ``covariance`` -- ``(B, d, d)``;
* ``rsample()`` (reparameterised, differentiable) and ``sample()`` (no
  gradient), ``(B, d)``, or ``(n, B, d)`` with ``n_samples=n``;
* ``kl()`` -- ``KL(q || N(0, I))`` per example in nats, ``(B,)``;
* ``log_prob(z)`` -- ``log q(z)`` in nats, ``(..., B)``.

The registry :data:`POSTERIORS` holds the Gaussians by name:

``"diag"``
    independent axes: ``sigma_k = softplus(raw_k + b) + MIN_SCALE``.
``"full"``
    a Cholesky factor ``L = (I + M) diag(s)``: ``M`` free strictly below the
    diagonal, ``s = softplus(raw) + MIN_SCALE`` (so ``L`` is lower triangular
    with diagonal ``s``), ``Sigma = L L^T``.  This is the ``LDL^T`` form: the
    noise shrinks with ``s`` whatever the correlations ``M``.
``"full-svd"``
    the eigen-decomposition predicted directly: ``Sigma = U diag(s^2) U^T``
    with ``U = (I - A)^{-1} (I + A)`` the Cayley transform of a predicted
    skew-symmetric ``A`` (so ``U`` is a rotation) and
    ``s = softplus(raw) + MIN_SCALE``.  The square root is
    ``U diag(s)``.  Nothing is ever decomposed, so gradients stay finite
    when eigenvalues coincide (as for the identity covariance at the start of
    training), and ``Sigma`` is positive definite by construction.

Every ``softplus(raw)`` above is ``softplus(raw + b)`` with the shift
``b = log(expm1(posterior_scale))`` of ``ModelConfig.posterior_scale``
(:func:`scale_shift`): the posterior's standard deviations at a zero encoder
output, i.e. at initialisation.  ``b = 0`` (``posterior_scale = log 2``) is
the historical parametrisation; the curve preset starts at 0.05 (see
``data/presets/curves.toml``: a wide initial posterior lets the KL close a
latent direction before the decoder learns to use it).

All three KLs have the closed form
``KL = 1/2 [tr Sigma + mu^T mu - d - log det Sigma]`` with ``log det Sigma``
read off the diagonal of ``L`` or from ``s``.  Parameters in half precision
(``float16``/``bfloat16``, as under ``torch.autocast``) are promoted to
``float32`` before any of this; ``float32`` and ``float64`` are kept.

:class:`PointMass` is the "posterior" of a plain autoencoder: the code
itself, zero covariance, zero KL.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "MIN_SCALE",
    "Posterior",
    "DiagonalGaussian",
    "CholeskyGaussian",
    "EigenGaussian",
    "PointMass",
    "POSTERIORS",
    "working_dtype",
    "cayley",
    "LEGACY_POSTERIOR_SCALE",
    "scale_shift",
]

#: Smallest posterior standard deviation (along any axis), in latent units
#: (the prior has unit scale).  Keeps ``log det Sigma`` finite for extreme
#: encoder outputs.
MIN_SCALE: float = 1e-5

_LOG_2PI = math.log(2.0 * math.pi)


def working_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the losses are computed in: half precision -> float32, else unchanged."""
    return torch.promote_types(dtype, torch.float32)


def _to_working(t: torch.Tensor) -> torch.Tensor:
    return t.to(working_dtype(t.dtype))


#: The posterior scale at a zero encoder output without a shift: ``softplus(0) = log 2``
#: (every model trained before ``ModelConfig.posterior_scale`` existed).
LEGACY_POSTERIOR_SCALE: float = math.log(2.0)


def scale_shift(initial_scale: float) -> float:
    """The shift ``b`` with ``softplus(0 + b) = initial_scale``: ``log(expm1(initial_scale))``.

    0 for :data:`LEGACY_POSTERIOR_SCALE`.  The posteriors' scales are
    ``softplus(raw + b) + MIN_SCALE``, so an encoder whose outputs start near
    zero starts with posterior standard deviations near ``initial_scale``.
    """
    if abs(initial_scale - LEGACY_POSTERIOR_SCALE) < 1e-15:
        return 0.0
    return math.log(math.expm1(initial_scale))


def _positive(raw: torch.Tensor, shift: float = 0.0) -> torch.Tensor:
    """``softplus(raw + shift) + MIN_SCALE``: positive, ~exp for very negative raw, linear for large."""
    return F.softplus(raw + shift if shift else raw) + MIN_SCALE


def _n_tril(d: int) -> int:
    return d * (d - 1) // 2


def _strictly_lower(entries: torch.Tensor, d: int) -> torch.Tensor:
    """Place ``(B, d(d-1)/2)`` entries below the diagonal of ``(B, d, d)`` zeros."""
    rows, cols = torch.tril_indices(d, d, offset=-1, device=entries.device)
    flat_index = (rows * d + cols).expand(entries.shape[0], -1)
    flat = entries.new_zeros(entries.shape[0], d * d).scatter(1, flat_index, entries)
    return flat.view(entries.shape[0], d, d)


def cayley(skew: torch.Tensor) -> torch.Tensor:
    """The Cayley transform ``(I - K)^{-1} (I + K)`` of skew-symmetric ``K``, ``(B, d, d)``.

    A rotation (orthogonal, determinant +1); the identity for ``K = 0``.
    Computed with ``linalg.solve_ex`` without its error check, so it never
    synchronises with the host.
    """
    eye = torch.eye(skew.shape[-1], dtype=skew.dtype, device=skew.device)
    rotation, _ = torch.linalg.solve_ex(eye - skew, eye + skew, check_errors=False)
    return rotation


class Posterior:
    """Base class: a Gaussian ``N(mean, S S^T)`` over the latent space.

    Subclasses set ``mean`` and implement :meth:`_scale_eps`, :meth:`_whiten`,
    :meth:`log_det_covariance`, :meth:`trace_covariance` and :attr:`scale`.

    Parameters
    ----------
    mean : Tensor
        ``(B, d)`` latent means.
    """

    #: Number of encoder outputs per example for latent dimension ``d``.
    @staticmethod
    def n_params(d: int) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def __init__(self, mean: torch.Tensor) -> None:
        self.mean = mean

    @classmethod
    def from_params(cls, params: torch.Tensor, d: int, *, shift: float = 0.0) -> Posterior:  # pragma: no cover
        """Build from the encoder output ``(B, n_params(d))``; ``shift`` is added to the raw
        scales before the softplus (:func:`scale_shift`)."""
        raise NotImplementedError

    @property
    def latent_dim(self) -> int:
        """Latent dimension ``d``."""
        return self.mean.shape[-1]

    @property
    def batch_size(self) -> int:
        """Number of examples ``B``."""
        return self.mean.shape[0]

    # --- structure -----------------------------------------------------
    @property
    def scale(self) -> torch.Tensor:  # pragma: no cover - overridden
        """A square root ``S`` of the covariance, ``(B, d, d)``."""
        raise NotImplementedError

    @property
    def scale_tril(self) -> torch.Tensor:
        """Lower-triangular ``L`` with positive diagonal and ``L L^T = Sigma``, ``(B, d, d)``.

        Computed from the QR decomposition of ``S^T`` (no Cholesky, so it
        cannot fail on an ill-conditioned ``Sigma``).
        """
        _, r = torch.linalg.qr(self.scale.mT)
        diag = torch.diagonal(r, dim1=-2, dim2=-1)
        signs = torch.where(diag < 0, -torch.ones_like(diag), torch.ones_like(diag))
        return r.mT * signs.unsqueeze(-2)

    @property
    def covariance(self) -> torch.Tensor:
        """``Sigma = S S^T``, ``(B, d, d)``: symmetric positive definite."""
        s = self.scale
        return s @ s.mT

    def log_det_covariance(self) -> torch.Tensor:  # pragma: no cover - overridden
        """``log det Sigma`` per example, ``(B,)``."""
        raise NotImplementedError

    def trace_covariance(self) -> torch.Tensor:
        """``tr Sigma`` per example, ``(B,)``."""
        return self.scale.square().sum(dim=(-2, -1))

    def _scale_eps(self, eps: torch.Tensor) -> torch.Tensor:
        """``S eps`` for ``eps`` of shape ``(..., B, d)``."""
        return (self.scale @ eps.unsqueeze(-1)).squeeze(-1)

    def _whiten(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        """``S^{-1} (z - mean)`` for ``z`` of shape ``(..., B, d)``."""
        raise NotImplementedError

    # --- sampling ------------------------------------------------------
    def _eps(self, generator: torch.Generator | None, n_samples: int | None) -> torch.Tensor:
        shape = self.mean.shape if n_samples is None else (int(n_samples), *self.mean.shape)
        return torch.randn(
            shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )

    def rsample(
        self, generator: torch.Generator | None = None, *, n_samples: int | None = None
    ) -> torch.Tensor:
        """A reparameterised sample ``z = mean + S eps``, ``eps ~ N(0, I)``.

        Parameters
        ----------
        generator : torch.Generator, optional
            Source of ``eps`` (on the posterior's device); the global one if
            omitted.
        n_samples : int, keyword-only, optional
            Draw this many samples per example.

        Returns
        -------
        Tensor
            ``(B, d)``, or ``(n_samples, B, d)``; differentiable with respect
            to the encoder output.
        """
        return self.mean + self._scale_eps(self._eps(generator, n_samples))

    def sample(
        self, generator: torch.Generator | None = None, *, n_samples: int | None = None
    ) -> torch.Tensor:
        """As :meth:`rsample`, without gradient."""
        with torch.no_grad():
            return self.rsample(generator, n_samples=n_samples)

    # --- densities -----------------------------------------------------
    def kl(self) -> torch.Tensor:
        """``KL(q(z|x) || N(0, I))`` per example, nats, ``(B,)``.

        ``1/2 [tr Sigma + mu^T mu - d - log det Sigma]`` (closed form).
        """
        d = self.latent_dim
        return 0.5 * (
            self.trace_covariance()
            + self.mean.square().sum(-1)
            - d
            - self.log_det_covariance()
        )

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """``log q(z | x)`` in nats.

        Parameters
        ----------
        z : Tensor
            ``(..., B, d)`` latent points.

        Returns
        -------
        Tensor
            ``(..., B)``.
        """
        w = self._whiten(z)
        d = self.latent_dim
        return -0.5 * (w.square().sum(-1) + self.log_det_covariance() + d * _LOG_2PI)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch={self.batch_size}, latent_dim={self.latent_dim})"


class DiagonalGaussian(Posterior):
    """``N(mean, diag(stddev^2))``; encoder output ``[mean (d), raw scale (d)]``.

    Parameters
    ----------
    mean, stddev : Tensor
        ``(B, d)`` each; ``stddev > 0``.
    """

    @staticmethod
    def n_params(d: int) -> int:
        return 2 * d

    def __init__(self, mean: torch.Tensor, stddev: torch.Tensor) -> None:
        super().__init__(mean)
        self.stddev = stddev

    @classmethod
    def from_params(cls, params: torch.Tensor, d: int, *, shift: float = 0.0) -> DiagonalGaussian:
        params = _to_working(params)
        return cls(params[:, :d], _positive(params[:, d : 2 * d], shift))

    @property
    def scale(self) -> torch.Tensor:
        return torch.diag_embed(self.stddev)

    @property
    def scale_tril(self) -> torch.Tensor:
        return torch.diag_embed(self.stddev)

    def log_det_covariance(self) -> torch.Tensor:
        return 2.0 * torch.log(self.stddev).sum(-1)

    def trace_covariance(self) -> torch.Tensor:
        return self.stddev.square().sum(-1)

    def _scale_eps(self, eps: torch.Tensor) -> torch.Tensor:
        return self.stddev * eps

    def _whiten(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) / self.stddev


class CholeskyGaussian(Posterior):
    """``N(mean, L L^T)``; encoder output ``[mean (d), raw diag (d), below-diagonal (d(d-1)/2)]``.

    ``L = (I + M) diag(s)`` with ``s = softplus(raw) + MIN_SCALE`` (the
    diagonal of ``L``) and ``M`` the strictly lower triangle filled with the
    last ``d(d-1)/2`` outputs (row-major order of ``torch.tril_indices``);
    ``L_ij = M_ij s_j`` below the diagonal.  Every Cholesky factor with a
    positive diagonal has exactly one such form (``M_ij = L_ij / L_jj``).
    Scaling the columns by ``s`` makes the whole noise shrink with ``s``
    (``Sigma = (I + M) diag(s^2) (I + M)^T``), instead of needing the
    off-diagonal outputs to cancel precisely when the posterior narrows.

    ``Sigma`` is positive definite by construction, but its condition number
    is not bounded: entries below the diagonal much larger than the diagonal
    give a nearly singular ``Sigma`` whose explicitly formed :attr:`covariance`
    may fail a numerical Cholesky even in float64.  Sampling, the KL and
    :meth:`log_prob` use ``L`` directly and are unaffected.  (``"full-svd"``
    bounds the condition number by ``(max s / MIN_SCALE)^2``.)

    Parameters
    ----------
    mean : Tensor
        ``(B, d)``.
    scale_tril : Tensor
        ``(B, d, d)`` lower triangular with a positive diagonal.
    """

    @staticmethod
    def n_params(d: int) -> int:
        return 2 * d + _n_tril(d)

    def __init__(self, mean: torch.Tensor, scale_tril: torch.Tensor) -> None:
        super().__init__(mean)
        self._tril = scale_tril

    @classmethod
    def from_params(cls, params: torch.Tensor, d: int, *, shift: float = 0.0) -> CholeskyGaussian:
        params = _to_working(params)
        mean = params[:, :d]
        diag = _positive(params[:, d : 2 * d], shift)
        unit = _strictly_lower(params[:, 2 * d : 2 * d + _n_tril(d)], d)
        unit = unit + torch.eye(d, dtype=unit.dtype, device=unit.device)
        return cls(mean, unit * diag.unsqueeze(-2))

    @property
    def scale(self) -> torch.Tensor:
        return self._tril

    @property
    def scale_tril(self) -> torch.Tensor:
        return self._tril

    def log_det_covariance(self) -> torch.Tensor:
        return 2.0 * torch.log(torch.diagonal(self._tril, dim1=-2, dim2=-1)).sum(-1)

    def _whiten(self, z: torch.Tensor) -> torch.Tensor:
        diff = (z - self.mean).unsqueeze(-1)
        tril = self._tril.expand(*diff.shape[:-2], *self._tril.shape[-2:])
        return torch.linalg.solve_triangular(tril, diff, upper=False).squeeze(-1)


class EigenGaussian(Posterior):
    """``N(mean, U diag(s^2) U^T)`` with ``U`` a rotation; the ``"full-svd"`` posterior.

    Encoder output ``[mean (d), raw s (d), skew-symmetric generator (d(d-1)/2)]``:
    ``s = softplus(raw) + MIN_SCALE`` are the standard deviations along the
    principal axes (the singular values of the square root ``U diag(s)``),
    ``U = (I - K)^{-1} (I + K)`` (Cayley transform) of the skew-symmetric
    ``K = A - A^T``, ``A`` the strictly lower triangle.  ``I - K`` is never
    singular (its eigenvalues are ``1 - i lambda``), so this is a smooth map onto
    the rotations (all but a measure-zero set, which does not matter for
    ``Sigma``).  It is used rather than ``matrix_exp``, whose CUDA kernel
    copies the matrix norm to the host (a synchronisation) on every call.

    Parameters
    ----------
    mean : Tensor
        ``(B, d)``.
    rotation : Tensor
        ``(B, d, d)`` orthogonal.
    stddev : Tensor
        ``(B, d)`` positive principal standard deviations.
    """

    @staticmethod
    def n_params(d: int) -> int:
        return 2 * d + _n_tril(d)

    def __init__(self, mean: torch.Tensor, rotation: torch.Tensor, stddev: torch.Tensor) -> None:
        super().__init__(mean)
        self.rotation = rotation
        self.stddev = stddev

    @classmethod
    def from_params(cls, params: torch.Tensor, d: int, *, shift: float = 0.0) -> EigenGaussian:
        params = _to_working(params)
        mean = params[:, :d]
        stddev = _positive(params[:, d : 2 * d], shift)
        lower = _strictly_lower(params[:, 2 * d : 2 * d + _n_tril(d)], d)
        return cls(mean, cayley(lower - lower.mT), stddev)

    @property
    def scale(self) -> torch.Tensor:
        return self.rotation * self.stddev.unsqueeze(-2)

    @property
    def eigenvalues(self) -> torch.Tensor:
        """Eigenvalues ``s^2`` of ``Sigma``, ``(B, d)`` (unordered)."""
        return self.stddev.square()

    def log_det_covariance(self) -> torch.Tensor:
        return 2.0 * torch.log(self.stddev).sum(-1)

    def trace_covariance(self) -> torch.Tensor:
        # tr(U D U^T) = tr D for orthogonal U
        return self.stddev.square().sum(-1)

    def _whiten(self, z: torch.Tensor) -> torch.Tensor:
        diff = (z - self.mean).unsqueeze(-1)
        rotated = (self.rotation.mT @ diff).squeeze(-1)
        return rotated / self.stddev


class PointMass(Posterior):
    """The deterministic code of a plain autoencoder: ``z = mean``.

    Covariance and square roots are zero, the KL is zero and samples are the
    code itself (still differentiable).  It has no density.

    Parameters
    ----------
    code : Tensor
        ``(B, d)``.
    """

    @staticmethod
    def n_params(d: int) -> int:
        return d

    @classmethod
    def from_params(cls, params: torch.Tensor, d: int, *, shift: float = 0.0) -> PointMass:
        return cls(params[:, :d])

    @property
    def scale(self) -> torch.Tensor:
        b, d = self.mean.shape
        return self.mean.new_zeros(b, d, d)

    @property
    def scale_tril(self) -> torch.Tensor:
        return self.scale

    def log_det_covariance(self) -> torch.Tensor:
        return torch.full_like(self.mean[:, 0], -math.inf)

    def trace_covariance(self) -> torch.Tensor:
        return self.mean.new_zeros(self.mean.shape[0])

    def kl(self) -> torch.Tensor:
        """Zero, ``(B,)``: a plain autoencoder has no KL term."""
        return self.mean.new_zeros(self.mean.shape[0])

    def rsample(
        self, generator: torch.Generator | None = None, *, n_samples: int | None = None
    ) -> torch.Tensor:
        if n_samples is None:
            return self.mean
        return self.mean.expand(int(n_samples), *self.mean.shape)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("a point-mass code (plain autoencoder) has no density")


#: Gaussian posteriors by config name.
POSTERIORS: dict[str, type[Posterior]] = {
    "diag": DiagonalGaussian,
    "full": CholeskyGaussian,
    "full-svd": EigenGaussian,
}
