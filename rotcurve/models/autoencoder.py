"""Autoencoders and variational autoencoders, and the :data:`MODELS` registry.

Both models are an encoder MLP, a decoder MLP (mirroring the encoder's widths)
and a decoder likelihood (:mod:`rotcurve.models.likelihoods`).

``"vae"`` -- :class:`VAE`
    The encoder outputs the parameters of a Gaussian posterior ``q(z | x)``
    (:mod:`rotcurve.models.posteriors`); the prior is ``N(0, I)``.  The loss is
    the negative evidence lower bound (ELBO), with the KL weighted by ``beta``:
    ``loss = mean_i [ -log p(x_i | z_i) + beta * KL(q(z | x_i) || N(0, I)) ]``,
    ``z_i ~ q(z | x_i)`` (one reparameterised draw).
``"ae"`` -- :class:`Autoencoder`
    The encoder outputs the code itself (optionally normalised onto the unit
    sphere).  The loss is the reconstruction term only.

**Reduction.** Every loss is computed per example -- summed over the features
(radii, pixels) and over the latent dimensions -- and then *averaged over the
batch*, in nats.  So the weight of the KL relative to the reconstruction does
not change with the batch size (or the number of features), and losses compare
across batch sizes.  The reference tutorials instead take a mean-squared error
averaged over every element but *sum* the KL over the whole batch, which
silently re-weights the KL by the batch size (times the number of features).

All methods are pure torch: no ``.item()``, no host synchronisation; they work
in float32 and float64 (``model.double()``), on CPU and CUDA, and under
``torch.autocast`` (losses and posteriors are computed in float32 there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from rotcurve.errors import ConfigError, DataError
from rotcurve.models.config import ModelConfig
from rotcurve.models.likelihoods import LIKELIHOODS, Likelihood
from rotcurve.models.mlp import MLP
from rotcurve.models.posteriors import POSTERIORS, Posterior, PointMass, scale_shift, working_dtype
from rotcurve.validation import check_int

__all__ = ["ModelOutput", "LatentModel", "VAE", "Autoencoder", "MODELS", "build_model"]


@dataclass
class ModelOutput:
    """What a forward pass returns.

    Attributes
    ----------
    loss : Tensor
        Scalar: batch mean of ``recon_i + beta * kl_i + max_weight *
        max_i`` (VAE with ``max_weight = 0``: the negative ELBO for ``beta =
        1``; AE: ``recon`` plus the max term), nats.
    recon : Tensor
        Scalar: batch mean of the per-example reconstruction negative
        log-likelihood (summed over features), nats.
    kl : Tensor
        Scalar: batch mean of the per-example ``KL(q(z|x) || N(0, I))`` (summed
        over latent dimensions), nats; 0 for an autoencoder.
    penalty : Tensor
        Scalar: batch mean of ``max_weight * max_i``, where ``max_i`` is the
        example's largest per-feature data term
        (:meth:`~rotcurve.models.likelihoods.Likelihood.max_residual`); 0 when
        ``max_weight = 0``.
    x_hat : Tensor
        ``(B, input_dim)`` decoder mean in (normalised) data space; Bernoulli:
        probabilities.
    z : Tensor
        ``(B, d)`` the latent sample that was decoded (AE: the code).
    posterior : Posterior
        ``q(z | x)``.
    recon_per_example, kl_per_example : Tensor
        ``(B,)`` the terms before the batch mean.
    """

    loss: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor
    penalty: torch.Tensor
    x_hat: torch.Tensor
    z: torch.Tensor
    posterior: Posterior
    recon_per_example: torch.Tensor
    kl_per_example: torch.Tensor


class LatentModel(nn.Module):
    """Shared machinery of :class:`VAE` and :class:`Autoencoder`.

    Parameters
    ----------
    config : ModelConfig
        The architecture; kept as ``model.config``.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.latent_dim
        self.encoder = MLP(
            config.input_dim,
            config.hidden,
            self._posterior_class().n_params(d),
            activation=config.activation,
            init=config.init,
        )
        self.decoder = MLP(
            d,
            tuple(reversed(config.hidden)),
            config.input_dim,
            activation=config.activation,
            init=config.init,
        )
        self.likelihood: Likelihood = LIKELIHOODS[config.likelihood](
            config.input_dim, noise=config.noise, sigma=config.sigma
        )
        self._scale_shift = scale_shift(config.posterior_scale)

    def _posterior_class(self) -> type[Posterior]:  # pragma: no cover - overridden
        raise NotImplementedError

    # --- helpers -------------------------------------------------------
    def _reference(self) -> torch.Tensor:
        return next(self.parameters())

    def _as_input(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise DataError(f"the model needs a torch tensor, got {type(x).__name__}")
        n = self.config.input_dim
        if x.ndim != 2 or x.shape[1] != n:
            raise DataError(
                f"the model expects data of shape (batch, {n}), got {tuple(x.shape)}; "
                f"it was built for {n} features per example"
            )
        ref = self._reference()
        return x.to(device=ref.device, dtype=ref.dtype)

    def _check_latent(self, z: torch.Tensor) -> None:
        d = self.config.latent_dim
        if not isinstance(z, torch.Tensor) or z.ndim < 1 or z.shape[-1] != d:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise DataError(f"latent points must have shape (..., {d}), got {shape}")

    def extra_repr(self) -> str:
        c = self.config
        return (
            f"input_dim={c.input_dim}, latent_dim={c.latent_dim}, posterior={c.posterior!r}, "
            f"likelihood={c.likelihood!r}, latent_space={c.latent_space!r}"
        )

    # --- the public API --------------------------------------------------
    def encode(self, x: torch.Tensor) -> Posterior:
        """The posterior ``q(z | x)``.

        Parameters
        ----------
        x : Tensor
            ``(B, input_dim)`` normalised data (cast to the model's dtype and
            device).

        Returns
        -------
        Posterior
            ``.mean (B, d)``, ``.covariance (B, d, d)``, ``.sample()``, ``.kl()``.
        """
        params = self.encoder(self._as_input(x))
        return self._posterior_class().from_params(params, self.config.latent_dim, shift=self._scale_shift)

    def _decode_raw(self, z: torch.Tensor) -> torch.Tensor:
        self._check_latent(z)
        ref = self._reference()
        out = self.decoder(z.to(device=ref.device, dtype=ref.dtype))
        return out.to(working_dtype(out.dtype))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder mean in (normalised) data space.

        Parameters
        ----------
        z : Tensor
            ``(..., d)`` latent points.

        Returns
        -------
        Tensor
            ``(..., input_dim)``; Bernoulli: probabilities in ``(0, 1)``.
        """
        return self.likelihood.mean(self._decode_raw(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the posterior mean: the deterministic reconstruction, ``(B, input_dim)``."""
        return self.decode(self.encode(x).mean)

    def _prior_sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        ref = self._reference()
        return torch.randn(
            (int(n), self.config.latent_dim),
            generator=generator,
            device=ref.device,
            dtype=working_dtype(ref.dtype),
        )

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decoded means of ``n`` draws from the prior.

        Parameters
        ----------
        n : int
            Number of samples.
        generator : torch.Generator, keyword-only, optional
            Source of the latent draws (on the model's device).

        Returns
        -------
        Tensor
            ``(n, input_dim)`` in (normalised) data space.  Gradients are
            tracked as usual; wrap in ``torch.no_grad()`` for generation.
        """
        return self.decode(self._prior_sample(check_int("n", n, minimum=0, numpy=False), generator))

    def forward(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> ModelOutput:
        """Encode, draw ``z``, decode and score.

        Parameters
        ----------
        x : Tensor
            ``(B, input_dim)`` normalised data.
        generator : torch.Generator, keyword-only, optional
            Source of the reparameterisation noise (VAE).

        Returns
        -------
        ModelOutput
            Losses averaged over the batch of per-example sums (see the module
            docstring).
        """
        x = self._as_input(x)
        posterior = self.encode(x)
        z = posterior.rsample(generator)
        out = self._decode_raw(z)
        recon_i = self.likelihood.nll(x, out)
        kl_i = posterior.kl()
        loss_i = recon_i + self.config.beta * kl_i if self._has_kl else recon_i
        if self.config.max_weight:
            penalty = self.config.max_weight * self.likelihood.max_residual(x, out).mean()
        else:
            penalty = recon_i.new_zeros(())
        return ModelOutput(
            loss=loss_i.mean() + penalty,
            recon=recon_i.mean(),
            kl=kl_i.mean(),
            penalty=penalty,
            x_hat=self.likelihood.mean(out),
            z=z,
            posterior=posterior,
            recon_per_example=recon_i,
            kl_per_example=kl_i,
        )

    _has_kl: bool = True

    def nll(
        self,
        x: torch.Tensor,
        *,
        n_samples: int = 1,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Per-example negative ELBO (``beta = 1``), nats, for scoring.

        Parameters
        ----------
        x : Tensor
            ``(B, input_dim)`` normalised data.
        n_samples : int, keyword-only
            Average the reconstruction term over this many posterior draws
            (a lower-variance estimate of the same bound).
        generator : torch.Generator, keyword-only, optional
            Source of the draws.

        Returns
        -------
        Tensor
            ``(B,)``: ``-log p(x|z)`` averaged over draws ``+ KL`` (AE: the
            reconstruction term alone).  Not weighted by ``beta``.
        """
        x = self._as_input(x)
        posterior = self.encode(x)
        z = posterior.rsample(generator, n_samples=check_int("n_samples", n_samples, minimum=1, numpy=False))
        recon = self.likelihood.nll(x, self._decode_raw(z)).mean(0)
        return recon + posterior.kl() if self._has_kl else recon


class VAE(LatentModel):
    """Variational autoencoder with a Gaussian posterior and an ``N(0, I)`` prior.

    Parameters
    ----------
    config : ModelConfig
        ``config.posterior`` picks the posterior family.
    """

    def _posterior_class(self) -> type[Posterior]:
        return POSTERIORS[self.config.posterior]

    def log_marginal(
        self,
        x: torch.Tensor,
        *,
        n_samples: int = 64,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Importance-weighted estimate of ``log p(x)``, nats, ``(B,)``.

        ``log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x)`` with ``z_k ~ q(z | x)``
        (Burda et al. 2016).  It is a lower bound in expectation that rises
        to ``log p(x)`` as ``n_samples`` grows; with ``n_samples=1`` its
        expectation is the ELBO.

        Parameters
        ----------
        x : Tensor
            ``(B, input_dim)`` normalised data.
        n_samples : int, keyword-only
            Importance samples ``K`` per example (memory grows as
            ``K * B * input_dim``).
        generator : torch.Generator, keyword-only, optional
            Source of the draws.

        Returns
        -------
        Tensor
            ``(B,)`` in the units of the normalised data (add the log-Jacobian
            of the normalisation for a density in physical units).
        """
        x = self._as_input(x)
        posterior = self.encode(x)
        n_samples = check_int("n_samples", n_samples, minimum=1, numpy=False)
        z = posterior.rsample(generator, n_samples=n_samples)  # (K, B, d)
        log_lik = -self.likelihood.nll(x, self._decode_raw(z))
        log_prior = -0.5 * (z.square().sum(-1) + self.config.latent_dim * math.log(2 * math.pi))
        log_w = log_lik + log_prior - posterior.log_prob(z)
        return torch.logsumexp(log_w, dim=0) - math.log(n_samples)


class Autoencoder(LatentModel):
    """Plain (deterministic) autoencoder; codes optionally on the unit sphere.

    With ``latent_space="sphere"`` the code is ``e / |e|`` for the encoder
    output ``e`` (the unit sphere ``S^{d-1}``), and :meth:`sample` decodes
    points drawn uniformly on the sphere.  Otherwise :meth:`sample` decodes
    ``N(0, I)`` draws, which are not the distribution of the codes: a plain
    autoencoder has no prior; use a VAE to generate.

    Parameters
    ----------
    config : ModelConfig
        ``config.posterior`` and ``config.beta`` do not apply.
    """

    _has_kl = False

    def _posterior_class(self) -> type[Posterior]:
        return PointMass

    def encode(self, x: torch.Tensor) -> Posterior:
        code = self.encoder(self._as_input(x))
        code = code.to(working_dtype(code.dtype))
        if self.config.latent_space == "sphere":
            code = nn.functional.normalize(code, p=2.0, dim=-1)
        return PointMass(code)

    def _prior_sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        z = super()._prior_sample(n, generator)
        if self.config.latent_space == "sphere":
            z = nn.functional.normalize(z, p=2.0, dim=-1)
        return z


#: Model classes by config name (the names are :data:`~rotcurve.models.config.MODEL_NAMES`).
MODELS: dict[str, type[LatentModel]] = {"vae": VAE, "ae": Autoencoder}


def build_model(config: ModelConfig) -> LatentModel:
    """Build the model a config describes (fresh weights).

    Parameters
    ----------
    config : ModelConfig
        The architecture.

    Returns
    -------
    LatentModel
        An ``nn.Module`` (float32, CPU); ``model.config is config``.  Weights
        are drawn from torch's global generator: seed it (``torch.manual_seed``)
        for a reproducible start.
    """
    if not isinstance(config, ModelConfig):
        raise ConfigError(f"build_model needs a ModelConfig, got {type(config).__name__}")
    return MODELS[config.model](config)
