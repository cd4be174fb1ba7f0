"""MLP bodies: shapes, registries and initialisations."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rotcurve.errors import ConfigError
from rotcurve.models.mlp import ACTIVATIONS, INITS, MLP


def _linears(mlp: MLP) -> list[nn.Linear]:
    return [m for m in mlp.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("widths", [(), (8,), (16, 8, 4)])
def test_shapes_and_depth(widths):
    mlp = MLP(5, widths, 3, activation="silu")
    assert mlp(torch.randn(7, 5)).shape == (7, 3)
    assert mlp(torch.randn(2, 7, 5)).shape == (2, 7, 3)
    lin = _linears(mlp)
    assert [(m.in_features, m.out_features) for m in lin] == list(
        zip((5, *widths), (*widths, 3))
    )
    # one activation after every hidden layer, none after the output
    assert len(mlp.net) == 2 * len(widths) + 1
    assert isinstance(mlp.net[-1], nn.Linear)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_builds_and_is_nonlinear(name):
    mlp = MLP(3, (6,), 2, activation=name, init="kaiming")
    act = mlp.net[1]
    assert not isinstance(act, nn.Linear)
    x = torch.linspace(-3, 3, 13).unsqueeze(-1).expand(13, 6)
    y = act(x)
    # a nonlinear function has non-constant slope
    slopes = (y[1:] - y[:-1]) / (x[1:] - x[:-1])
    assert (slopes.max() - slopes.min()) > 1e-3


def test_prelu_learns_one_slope_per_feature():
    mlp = MLP(3, (6, 4), 2, activation="prelu")
    slopes = [m.weight.shape for m in mlp.modules() if isinstance(m, nn.PReLU)]
    assert slopes == [torch.Size([6]), torch.Size([4])]


@pytest.mark.parametrize(
    "kind, name", [("activation", "swish2"), ("init", "he"), ("activation", "")]
)
def test_unknown_names_list_the_choices(kind, name):
    kwargs = {kind: name}
    with pytest.raises(ConfigError) as err:
        MLP(3, (4,), 2, **kwargs)
    registry = ACTIVATIONS if kind == "activation" else INITS
    message = str(err.value)
    assert repr(name) in message and "\n" not in message
    assert all(option in message for option in registry)


@pytest.mark.parametrize("widths", [(0,), (4, -1)])
def test_nonpositive_widths_are_refused(widths):
    with pytest.raises(ConfigError, match="positive"):
        MLP(3, widths, 2)


def test_kaiming_std_and_zero_bias():
    torch.manual_seed(0)
    mlp = MLP(400, (400,), 400, activation="relu", init="kaiming")
    hidden, out = _linears(mlp)
    # sample std of 160000 normal draws: relative error ~ 1/sqrt(2 * 160000) ~ 0.18 %
    assert hidden.weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.01)
    assert out.weight.std().item() == pytest.approx(math.sqrt(1 / 400), rel=0.01)
    assert torch.equal(hidden.bias, torch.zeros(400))


def test_xavier_bounds():
    torch.manual_seed(1)
    mlp = MLP(300, (200,), 100, activation="tanh", init="xavier")
    hidden = _linears(mlp)[0]
    bound = (5 / 3) * math.sqrt(6 / (300 + 200))
    assert hidden.weight.abs().max().item() <= bound
    assert hidden.weight.abs().max().item() > 0.99 * bound
    assert torch.equal(hidden.bias, torch.zeros(200))


def test_orthogonal_rows():
    torch.manual_seed(2)
    mlp = MLP(64, (32,), 64, activation="relu", init="orthogonal")
    hidden, out = _linears(mlp)
    w = hidden.weight  # (32, 64): orthogonal rows scaled by the gain
    torch.testing.assert_close(w @ w.T, 2.0 * torch.eye(32), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.weight.T @ out.weight, torch.eye(32), atol=1e-5, rtol=0)


def test_default_keeps_torch_initialisation():
    torch.manual_seed(3)
    mlp = MLP(10, (20,), 5, init="default")
    torch.manual_seed(3)
    ref = nn.Linear(10, 20)
    torch.testing.assert_close(_linears(mlp)[0].weight, ref.weight)
    torch.testing.assert_close(_linears(mlp)[0].bias, ref.bias)


def test_kaiming_preserves_activation_scale_through_depth():
    """With the activation's gain, the signal neither explodes nor vanishes over 8 layers."""
    torch.manual_seed(4)
    mlp = MLP(256, (256,) * 8, 256, activation="relu", init="kaiming")
    x = torch.randn(2048, 256)
    h = x
    for layer in mlp.net[:-1]:
        h = layer(h)
    # second moment of the last ReLU output: E[h^2] = 1 (kaiming) vs 2^-8 or 2^8 if wrong
    assert 0.5 < h.square().mean().item() < 2.0


def test_prelu_slopes_act_on_the_last_dimension():
    import torch

    from rotcurve.models.mlp import FeaturePReLU

    act = FeaturePReLU(num_parameters=3, init=0.25)
    with torch.no_grad():
        act.weight.copy_(torch.tensor([0.1, 0.2, 0.3]))
    x = -torch.ones(5, 2, 3)  # e.g. (draws, batch, features)
    expected = -torch.tensor([0.1, 0.2, 0.3]).expand(5, 2, 3)
    assert torch.equal(act(x), expected)
    assert torch.equal(act(torch.ones(4, 3)), torch.ones(4, 3))


def test_prelu_model_scores_several_draws():
    import torch

    from rotcurve.models import ModelConfig, build_model

    model = build_model(ModelConfig(input_dim=6, latent_dim=2, hidden=(8,), activation="prelu"))
    nll = model.nll(torch.randn(4, 6), n_samples=3)
    assert nll.shape == (4,) and torch.isfinite(nll).all()
