"""Decoder likelihoods p(x | z): the reconstruction term of the loss.

A likelihood turns the decoder's raw output into the data-space mean and
scores data against it.  The per-example negative log-likelihood is **summed
over features** (radii, pixels), in nats; the models average it over the batch.

``"gaussian"``
    ``x_j ~ N(mu_j, sigma_j^2)``; the decoder output is ``mu``.  With
    ``noise="learned"`` there is one learned ``log sigma_j`` per feature
    (initialised at ``log sigma``): the reconstruction error of a rotation
    curve differs from radius to radius (the centre and the outskirts are
    harder than the middle), and a per-feature noise lets the model weight
    each radius by its own error -- the "calibrated decoder" of Rybkin et al.
    (2021), which also sets the balance between reconstruction and KL without
    tuning ``beta``.  It costs ``input_dim`` parameters.  With
    ``noise="shared"`` one learned ``log sigma`` serves every feature: the
    balance with the KL is still learned, but every radius weighs the same in
    the loss (a per-feature scale lets the model give up on its hardest
    feature, the last radius of a curve; issue 10).  With
    ``noise="fixed"`` ``sigma`` is the config's constant (exact in float64;
    not a tensor in the state dict).  The learned scale is floored at :data:`MIN_SIGMA`.
``"bernoulli"``
    ``x_j ~ Bernoulli(p_j)``, the decoder output is the logit of ``p``
    (``binary_cross_entropy_with_logits`` summed over pixels; ``x`` in
    ``[0, 1]``).  ``noise`` and ``sigma`` do not apply.

The maths is done in at least float32 (half-precision decoder outputs, as
under ``torch.autocast``, are promoted).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rotcurve.models.posteriors import working_dtype

__all__ = [
    "MIN_SIGMA",
    "NOISE_MODES",
    "Likelihood",
    "GaussianLikelihood",
    "BernoulliLikelihood",
    "LIKELIHOODS",
]

#: Smallest learned Gaussian noise scale, in normalised data units.
MIN_SIGMA: float = 1e-5

#: Ways of setting the Gaussian noise scale.
NOISE_MODES: tuple[str, ...] = ("learned", "shared", "fixed")

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _promote(x: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    dtype = working_dtype(torch.promote_types(x.dtype, out.dtype))
    return x.to(dtype), out.to(dtype)


class Likelihood(nn.Module):
    """Base class of decoder likelihoods.

    Parameters
    ----------
    input_dim : int
        Number of features of ``x``.
    """

    def __init__(self, input_dim: int) -> None:
        super().__init__()
        self.input_dim = int(input_dim)

    def mean(self, out: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        """Data-space mean ``(..., input_dim)`` from the decoder output."""
        raise NotImplementedError

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """Negative log-likelihood summed over features, nats, ``(...,)``.

        Parameters
        ----------
        x : Tensor
            ``(..., input_dim)`` data (broadcast against ``out``).
        out : Tensor
            ``(..., input_dim)`` decoder output.
        """
        raise NotImplementedError

    def max_residual(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """Each example's largest per-feature data term, nats, ``(...,)``.

        The term of the worst-fitted feature (radius, pixel) without the
        normalisation: what ``ModelConfig.max_weight`` adds to the loss.
        """
        raise NotImplementedError


class GaussianLikelihood(Likelihood):
    """Independent Gaussians with per-feature noise, learned or fixed.

    Parameters
    ----------
    input_dim : int
        Number of features.
    noise : {"learned", "shared", "fixed"}, keyword-only
        Whether ``log sigma`` is a trained parameter (one per feature, or one
        for all of them) or a constant.
    sigma : float, keyword-only
        The fixed noise scale, or the initial value of the learned one, in
        normalised data units.
    """

    def __init__(self, input_dim: int, *, noise: str = "learned", sigma: float = 0.1) -> None:
        super().__init__(input_dim)
        self.noise = noise
        self.learned = noise != "fixed"
        self._fixed_log_sigma = math.log(sigma)
        if self.learned:
            n = self.input_dim if noise == "learned" else 1
            self.log_sigma = nn.Parameter(torch.full((n,), math.log(sigma)))

    @property
    def sigma(self) -> torch.Tensor:
        """Noise scale per feature, ``(input_dim,)``, normalised data units.

        The learned one in its parameter's dtype; the fixed one in float64.
        """
        if self.learned:
            return torch.exp(self._log_sigma(self.log_sigma.dtype, self.log_sigma.device))
        return torch.exp(self._log_sigma(torch.float64, None))

    def _log_sigma(self, dtype: torch.dtype, device: torch.device | None) -> torch.Tensor:
        if self.learned:
            return self.log_sigma.clamp(min=math.log(MIN_SIGMA)).to(dtype).expand(self.input_dim)
        return torch.full((self.input_dim,), self._fixed_log_sigma, dtype=dtype, device=device)

    def extra_repr(self) -> str:
        mode = self.noise if self.learned else f"fixed sigma={math.exp(self._fixed_log_sigma):g}"
        return f"input_dim={self.input_dim}, noise={mode}"

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return out

    def _standardised(self, x: torch.Tensor, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x - mu) / sigma`` and ``log sigma``, in the working dtype."""
        x, out = _promote(x, out)
        log_sigma = self._log_sigma(x.dtype, x.device)
        return (x - out) * torch.exp(-log_sigma), log_sigma

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        z, log_sigma = self._standardised(x, out)
        return (0.5 * z.square() + log_sigma + _HALF_LOG_2PI).sum(-1)

    def max_residual(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """``max_j (x_j - mu_j)^2 / (2 sigma_j^2)``, ``(...,)``."""
        return 0.5 * self._standardised(x, out)[0].square().amax(-1)


class BernoulliLikelihood(Likelihood):
    """Independent Bernoulli pixels; the decoder output is the logit.

    Parameters
    ----------
    input_dim : int
        Number of features.
    noise, sigma
        Accepted for a uniform signature; ignored.
    """

    def __init__(self, input_dim: int, *, noise: str = "fixed", sigma: float = 1.0) -> None:
        super().__init__(input_dim)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)

    @staticmethod
    def _per_pixel(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        x, out = torch.broadcast_tensors(*_promote(x, out))
        return F.binary_cross_entropy_with_logits(out, x, reduction="none")

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return self._per_pixel(x, out).sum(-1)

    def max_residual(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The largest per-pixel cross-entropy, ``(...,)``."""
        return self._per_pixel(x, out).amax(-1)


#: Likelihoods by config name.
LIKELIHOODS: dict[str, type[Likelihood]] = {
    "gaussian": GaussianLikelihood,
    "bernoulli": BernoulliLikelihood,
}
