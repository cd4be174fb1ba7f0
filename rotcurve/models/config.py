"""The model configuration: one small dataclass, saved as JSON in every checkpoint.

``rotcurve.serialization.from_dict(ModelConfig, d)`` rebuilds a config from its JSON
form (lists for tuples are accepted), and :func:`default_config` gives good
starting points for rotation curves and for MNIST.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from rotcurve.errors import ConfigError
from rotcurve.models.likelihoods import LIKELIHOODS, NOISE_MODES
from rotcurve.models.mlp import ACTIVATIONS, INITS
from rotcurve.models.posteriors import LEGACY_POSTERIOR_SCALE, POSTERIORS
from rotcurve.serialization import from_dict, to_dict
from rotcurve.validation import check_choice, is_int, is_number

__all__ = ["ModelConfig", "MODEL_NAMES", "LATENT_SPACES", "DEFAULT_KINDS", "default_config"]

#: The model families, by name.  :data:`rotcurve.models.MODELS` maps each to its
#: class; the names are here so that a config can be checked without the classes
#: (they are built from configs: ``autoencoder`` imports this module).
MODEL_NAMES: tuple[str, ...] = ("vae", "ae")

#: Geometries of the latent space.  ``"sphere"`` (the unit sphere in
#: ``latent_dim`` dimensions) is for ``model="ae"`` only.
LATENT_SPACES: tuple[str, ...] = ("euclidean", "sphere")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and loss of a surrogate model.

    Attributes
    ----------
    input_dim : int
        Features per example (e.g. 50 radii, or 784 pixels).
    model : str
        ``MODEL_NAMES`` name: ``"vae"`` (variational) or ``"ae"`` (plain autoencoder).
    latent_dim : int
        Latent dimension ``d >= 1`` (``>= 2`` on the sphere).
    hidden : tuple of int
        Encoder hidden widths, input side first; the decoder mirrors them.
    activation : str
        ``ACTIVATIONS`` name, after every hidden layer.
    init : str
        ``INITS`` name: ``"default"``, ``"kaiming"``, ``"xavier"``, ``"orthogonal"``.
    posterior : str
        ``POSTERIORS`` name: ``"diag"``, ``"full"`` (Cholesky factor) or
        ``"full-svd"`` (rotation and principal scales).  VAE only: with
        ``model="ae"`` anything but the default ``"diag"`` is refused.
    latent_space : str
        ``"euclidean"`` or ``"sphere"`` (codes normalised to unit length;
        ``model="ae"`` only).
    likelihood : str
        ``LIKELIHOODS`` name: ``"gaussian"`` (curves) or ``"bernoulli"``
        (images in ``[0, 1]``; the decoder outputs logits).
    noise : str
        Gaussian noise scale: ``"learned"`` (one ``log sigma`` per feature),
        ``"shared"`` (one learned ``log sigma`` for every feature) or
        ``"fixed"``.
    sigma : float
        The fixed Gaussian noise scale, or the initial learned one, in
        normalised data units (> 0).
    beta : float
        Weight of the KL term (>= 0); 1 gives the ELBO.
    max_weight : float
        Weight of a term added to each example's training loss: its largest
        per-feature data term (Gaussian: ``max_j (x_j - mu_j)^2 / (2
        sigma_j^2)``, the worst-fitted radius), >= 0.  0 trains on the
        (beta-weighted) ELBO alone; the curve preset uses 1, which pulls down
        the worst radius of every curve (issue 10).  Training only: the
        model's ``nll`` and ``log_marginal`` never include it.
    posterior_scale : float
        VAE: the posterior standard deviations at a zero encoder output (at
        initialisation), in prior units (> 0).  The default ``log 2`` is the
        historical ``softplus(raw)`` (models saved before this setting existed
        load with it); the curve preset uses 0.05.
    """

    input_dim: int
    model: str = "vae"
    latent_dim: int = 4
    hidden: tuple[int, ...] = (256, 128, 64)
    activation: str = "silu"
    init: str = "default"
    posterior: str = "diag"
    latent_space: str = "euclidean"
    likelihood: str = "gaussian"
    noise: str = "learned"
    sigma: float = 0.1
    beta: float = 1.0
    max_weight: float = 0.0
    posterior_scale: float = LEGACY_POSTERIOR_SCALE

    def __post_init__(self) -> None:
        hidden = self.hidden
        if isinstance(hidden, int) or not hasattr(hidden, "__iter__"):
            raise ConfigError(f"hidden must be a list of layer widths, got {hidden!r}")
        hidden = tuple(hidden)
        object.__setattr__(self, "hidden", hidden)
        for name in ("input_dim", "latent_dim"):
            value = getattr(self, name)
            if not is_int(value, numpy=False) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for w in hidden:
            if not is_int(w, numpy=False) or w < 1:
                raise ConfigError(f"hidden widths must be positive integers, got {list(hidden)!r}")
        check_choice("model", self.model, MODEL_NAMES)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("init", self.init, INITS)
        check_choice("posterior", self.posterior, POSTERIORS)
        check_choice("latent_space", self.latent_space, LATENT_SPACES)
        check_choice("likelihood", self.likelihood, LIKELIHOODS)
        check_choice("noise", self.noise, NOISE_MODES)
        for name, low, strict in (("sigma", 0.0, True), ("beta", 0.0, False), ("max_weight", 0.0, False), ("posterior_scale", 0.0, True)):
            value = getattr(self, name)
            if not is_number(value, numpy=False):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < low or (strict and value == low):
                need = "> 0" if strict else ">= 0"
                raise ConfigError(f"{name} must be finite and {need}, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.model == "ae" and self.posterior != "diag":
            raise ConfigError(
                f"posterior={self.posterior!r} is for model='vae'; a plain autoencoder (model='ae') "
                "has no posterior: leave posterior at its default ('diag') or use model='vae'"
            )
        if self.latent_space == "sphere":
            if self.model != "ae":
                raise ConfigError(
                    f"latent_space='sphere' needs model='ae' (a {self.model} would need a "
                    "prior on the sphere, such as a von Mises-Fisher, which rotcurve does "
                    "not provide); use latent_space='euclidean' or model='ae'"
                )
            if self.latent_dim < 2:
                raise ConfigError(
                    f"latent_space='sphere' needs latent_dim >= 2, got {self.latent_dim}"
                )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``hidden`` as a list)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from :meth:`to_dict` output, refusing unknown keys."""
        return from_dict(cls, data)


_DEFAULTS: dict[str, dict[str, Any]] = {
    # smooth curves: smooth activation, one learned noise scale, 4 latents (reasons: the preset file)
    "curves": dict(
        model="vae",
        latent_dim=4,
        hidden=(256, 128, 128),
        activation="silu",
        init="default",
        posterior="diag",
        likelihood="gaussian",
        noise="shared",
        sigma=0.1,
        beta=1.0,
        max_weight=1.0,
        posterior_scale=0.05,
    ),
    # binarised-ish images: Bernoulli logits, wider layers, 16 latents.  SiLU
    # rather than LeakyReLU: on 8,000 MNIST images (bench/bench_mnist.py) it
    # gave a 1-4 nats lower held-out negative ELBO at d = 16 and d = 200.
    "mnist": dict(
        model="vae",
        latent_dim=16,
        hidden=(512, 256),
        activation="silu",
        init="kaiming",
        posterior="diag",
        likelihood="bernoulli",
        noise="fixed",
        sigma=1.0,
        beta=1.0,
    ),
}

#: Names accepted by :func:`default_config`.
DEFAULT_KINDS: tuple[str, ...] = tuple(_DEFAULTS)


def default_config(kind: str, input_dim: int, **overrides: Any) -> ModelConfig:
    """A good starting configuration for a kind of data.

    Parameters
    ----------
    kind : {"curves", "mnist"}
        ``"curves"``: normalised rotation curves (Gaussian likelihood with
        one learned noise scale, the worst-radius term, SiLU MLP 256-128-128,
        ``d = 4``).
        ``"mnist"``: images in ``[0, 1]`` (Bernoulli logits, SiLU MLP
        512-256, ``d = 16``).
    input_dim : int
        Features per example.
    **overrides
        Any :class:`ModelConfig` field, replacing the default.

    Returns
    -------
    ModelConfig

    Raises
    ------
    ConfigError
        For an unknown kind, an unknown field or an invalid value.
    """
    check_choice("kind of data", kind, _DEFAULTS)
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(
            f"unknown model setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(fields))}"
        )
    settings = {**_DEFAULTS[kind], "input_dim": input_dim, **overrides}
    return ModelConfig(**settings)
