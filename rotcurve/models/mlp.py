"""Multi-layer perceptrons: the encoder and decoder bodies of every model.

An :class:`MLP` is ``Linear -> activation -> ... -> Linear``: one activation
after every hidden layer and none after the last (the output is a set of
unconstrained numbers: posterior parameters, decoder means or logits).

Two registries choose its pieces by name, as a config stores them:

* :data:`ACTIVATIONS` -- the non-linearity after each hidden layer;
* :data:`INITS` -- how the weights are initialised.

Smooth activations (``silu``, ``gelu``, ``tanh``, ``softplus``, ``elu``)
give smooth decoders, which suits smooth data such as rotation curves; the
piecewise linear ones (``relu``, ``leaky_relu``, ``prelu``) are the classic
choice for images.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from rotcurve.errors import ConfigError
from rotcurve.validation import check_choice

__all__ = ["ActivationSpec", "ACTIVATIONS", "INITS", "MLP", "check_name"]


@dataclass(frozen=True)
class ActivationSpec:
    """A registered activation.

    Attributes
    ----------
    make : callable
        ``make(width) -> nn.Module``; ``width`` is the number of features the
        activation acts on (used by ``prelu``, which learns one slope per
        feature).
    gain : float
        The variance-preserving weight gain for the layer that feeds the
        activation (``torch.nn.init.calculate_gain`` where it knows the
        function; ``sqrt(2)`` for the ReLU-like smooth ones).
    """

    make: Callable[[int], nn.Module]
    gain: float


_RELU_GAIN = math.sqrt(2.0)


class FeaturePReLU(nn.PReLU):
    """PReLU with one learned slope per feature of the *last* dimension.

    ``nn.PReLU`` puts its per-channel slopes on dimension 1, which is the
    feature dimension only for ``(B, F)`` inputs; latents of shape
    ``(S, B, d)`` (several posterior draws) need the last dimension.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, self.weight * x)

#: Activations by name.
ACTIVATIONS: dict[str, ActivationSpec] = {
    "relu": ActivationSpec(lambda w: nn.ReLU(), _RELU_GAIN),
    "leaky_relu": ActivationSpec(
        lambda w: nn.LeakyReLU(0.01), nn.init.calculate_gain("leaky_relu", 0.01)
    ),
    "prelu": ActivationSpec(
        lambda w: FeaturePReLU(num_parameters=w, init=0.25), nn.init.calculate_gain("leaky_relu", 0.25)
    ),
    "elu": ActivationSpec(lambda w: nn.ELU(), _RELU_GAIN),
    "silu": ActivationSpec(lambda w: nn.SiLU(), _RELU_GAIN),
    "gelu": ActivationSpec(lambda w: nn.GELU(), _RELU_GAIN),
    "softplus": ActivationSpec(lambda w: nn.Softplus(), _RELU_GAIN),
    "tanh": ActivationSpec(lambda w: nn.Tanh(), nn.init.calculate_gain("tanh")),
}


def _init_default(layer: nn.Linear, gain: float) -> None:
    """Keep PyTorch's own initialisation (Kaiming-uniform with a = sqrt(5))."""


def _init_kaiming(layer: nn.Linear, gain: float) -> None:
    fan_in = layer.weight.shape[1]
    with torch.no_grad():
        layer.weight.normal_(0.0, gain / math.sqrt(fan_in))
        layer.bias.zero_()


def _init_xavier(layer: nn.Linear, gain: float) -> None:
    nn.init.xavier_uniform_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)


def _init_orthogonal(layer: nn.Linear, gain: float) -> None:
    nn.init.orthogonal_(layer.weight, gain=gain)
    nn.init.zeros_(layer.bias)


#: Weight initialisations by name: ``init(layer, gain)`` modifies ``layer``
#: in place.  ``gain`` is the activation's gain for hidden layers and 1 for the
#: output layer.  Biases start at zero (except for ``default``).
INITS: dict[str, Callable[[nn.Linear, float], None]] = {
    "default": _init_default,
    "kaiming": _init_kaiming,
    "xavier": _init_xavier,
    "orthogonal": _init_orthogonal,
}


#: The registry-name check (:func:`rotcurve.validation.check_choice`) under its old name here.
check_name = check_choice


class MLP(nn.Module):
    """A fully connected network ``in_dim -> widths... -> out_dim``.

    Parameters
    ----------
    in_dim : int
        Number of input features.
    widths : sequence of int
        Hidden layer widths, in order (may be empty: one linear map).
    out_dim : int
        Number of outputs.
    activation : str, keyword-only
        Name in :data:`ACTIVATIONS`, applied after every hidden layer.
    init : str, keyword-only
        Name in :data:`INITS`.

    Notes
    -----
    ``forward(x)`` maps ``(..., in_dim)`` to ``(..., out_dim)``.
    """

    def __init__(
        self,
        in_dim: int,
        widths: Sequence[int],
        out_dim: int,
        *,
        activation: str = "relu",
        init: str = "default",
    ) -> None:
        super().__init__()
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("init", init, INITS)
        spec = ACTIVATIONS[activation]
        sizes = [int(in_dim), *map(int, widths), int(out_dim)]
        if any(s < 1 for s in sizes):
            raise ConfigError(f"layer widths must be positive integers, got {sizes}")
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = nn.Linear(a, b)
            last = i == len(sizes) - 2
            INITS[init](linear, 1.0 if last else spec.gain)
            layers.append(linear)
            if not last:
                layers.append(spec.make(b))
        self.net = nn.Sequential(*layers)
        self.in_dim = sizes[0]
        self.out_dim = sizes[-1]

    @property
    def output_layer(self) -> nn.Linear:
        """The last linear layer (to rescale its initial weights)."""
        return self.net[-1]  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the network: ``(..., in_dim) -> (..., out_dim)``."""
        return self.net(x)
