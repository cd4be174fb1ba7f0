"""Surrogate models: autoencoders and variational autoencoders in PyTorch.

::

    from rotcurve.models import build_model, default_config
    model = build_model(default_config("curves", 50))
    out = model(x)              # x: (B, 50) normalised curves
    out.loss.backward()         # batch mean of per-example negative ELBO, nats

Modules: :mod:`~rotcurve.models.config` (``ModelConfig``, ``default_config``),
:mod:`~rotcurve.models.mlp` (``MLP``, ``ACTIVATIONS``, ``INITS``),
:mod:`~rotcurve.models.posteriors` (``POSTERIORS``),
:mod:`~rotcurve.models.likelihoods` (``LIKELIHOODS``),
:mod:`~rotcurve.models.autoencoder` (``VAE``, ``Autoencoder``, ``MODELS``,
``build_model``, ``ModelOutput``).
"""

from rotcurve.models.autoencoder import (
    MODELS,
    VAE,
    Autoencoder,
    LatentModel,
    ModelOutput,
    build_model,
)
from rotcurve.models.config import DEFAULT_KINDS, LATENT_SPACES, MODEL_NAMES, ModelConfig, default_config
from rotcurve.models.likelihoods import (
    LIKELIHOODS,
    NOISE_MODES,
    BernoulliLikelihood,
    GaussianLikelihood,
    Likelihood,
)
from rotcurve.models.mlp import ACTIVATIONS, INITS, MLP
from rotcurve.models.posteriors import (
    POSTERIORS,
    CholeskyGaussian,
    DiagonalGaussian,
    EigenGaussian,
    PointMass,
    Posterior,
)

__all__ = [
    "ModelConfig",
    "default_config",
    "DEFAULT_KINDS",
    "LATENT_SPACES",
    "build_model",
    "ModelOutput",
    "LatentModel",
    "VAE",
    "Autoencoder",
    "MODELS",
    "MODEL_NAMES",
    "MLP",
    "ACTIVATIONS",
    "INITS",
    "Posterior",
    "DiagonalGaussian",
    "CholeskyGaussian",
    "EigenGaussian",
    "PointMass",
    "POSTERIORS",
    "Likelihood",
    "GaussianLikelihood",
    "BernoulliLikelihood",
    "LIKELIHOODS",
    "NOISE_MODES",
]
