"""ModelConfig: validation, registries, JSON round trip and the defaults."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rotcurve.errors import ConfigError
from rotcurve.models import (
    ACTIVATIONS,
    INITS,
    LATENT_SPACES,
    LIKELIHOODS,
    MODELS,
    NOISE_MODES,
    POSTERIORS,
    ModelConfig,
    default_config,
)
from rotcurve.serialization import from_dict, load_json, save_json, to_dict


def test_round_trip_through_json_text(tmp_path):
    cfg = ModelConfig(
        input_dim=50,
        model="vae",
        latent_dim=3,
        hidden=(32, 16),
        activation="gelu",
        init="orthogonal",
        posterior="full-svd",
        noise="fixed",
        sigma=0.05,
        beta=0.5,
    )
    data = json.loads(json.dumps(to_dict(cfg)))
    assert data["hidden"] == [32, 16]
    rebuilt = from_dict(ModelConfig, data)
    assert rebuilt == cfg and isinstance(rebuilt.hidden, tuple)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    path = save_json(cfg, tmp_path / "model.json")
    assert from_dict(ModelConfig, load_json(path)) == cfg
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temp files left


def test_lists_and_integral_floats_accepted():
    cfg = ModelConfig(input_dim=10, hidden=[8, 4], sigma=1, beta=0)
    assert cfg.hidden == (8, 4) and isinstance(cfg.sigma, float) and cfg.beta == 0.0
    assert hash(cfg) == hash(ModelConfig(input_dim=10, hidden=(8, 4), sigma=1.0, beta=0.0))


def test_unknown_key_is_refused():
    with pytest.raises(ConfigError, match="latnet_dim"):
        from_dict(ModelConfig, {"input_dim": 5, "latnet_dim": 3})


@pytest.mark.parametrize(
    "field, registry",
    [
        ("model", MODELS),
        ("activation", ACTIVATIONS),
        ("init", INITS),
        ("posterior", POSTERIORS),
        ("latent_space", LATENT_SPACES),
        ("likelihood", LIKELIHOODS),
        ("noise", NOISE_MODES),
    ],
)
def test_unknown_registry_names_list_the_choices(field, registry):
    with pytest.raises(ConfigError) as err:
        ModelConfig(input_dim=5, **{field: "nonsense"})
    message = str(err.value)
    assert "'nonsense'" in message and field.replace("_", "") in message.replace("_", "")
    assert all(name in message for name in registry)


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"input_dim": 0}, "input_dim"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"latent_dim": True}, "latent_dim"),
        ({"hidden": (8, 0)}, "hidden"),
        ({"hidden": (8, -3)}, "hidden"),
        ({"hidden": 8}, "hidden"),
        ({"sigma": 0.0}, "sigma"),
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"beta": -0.1}, "beta"),
        ({"beta": float("inf")}, "beta"),
        ({"max_weight": -1.0}, "max_weight"),
        ({"max_weight": float("nan")}, "max_weight"),
        ({"model": "vae", "latent_space": "sphere"}, "sphere"),
        ({"model": "ae", "latent_space": "sphere", "latent_dim": 1}, "latent_dim >= 2"),
    ],
)
def test_invalid_values_are_refused(settings, match):
    settings = {"input_dim": 5, **settings}
    with pytest.raises(ConfigError, match=match) as err:
        ModelConfig(**settings)
    assert "\n" not in str(err.value)


def test_sphere_vae_message_says_how_to_fix():
    with pytest.raises(ConfigError) as err:
        ModelConfig(input_dim=5, latent_space="sphere")
    assert "model='ae'" in str(err.value)


def test_frozen():
    cfg = ModelConfig(input_dim=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.latent_dim = 3  # type: ignore[misc]


def test_default_configs():
    curves = default_config("curves", 50)
    assert (curves.input_dim, curves.latent_dim, curves.likelihood) == (50, 4, "gaussian")
    mnist = default_config("mnist", 784, latent_dim=2)
    assert (mnist.input_dim, mnist.latent_dim, mnist.likelihood) == (784, 2, "bernoulli")
    assert from_dict(ModelConfig, to_dict(mnist)) == mnist


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("images", 784), {}, "'images'.*curves.*mnist"),
        (("curves", 50), {"latnet_dim": 3}, "latnet_dim"),
        (("curves", 50), {"posterior": "cholesky"}, "posterior"),
    ],
)
def test_default_config_errors(args, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        default_config(*args, **kwargs)


@pytest.mark.parametrize("posterior", ["full", "full-svd"])
def test_autoencoder_refuses_a_posterior_it_would_ignore(posterior):
    with pytest.raises(ConfigError) as err:
        ModelConfig(input_dim=5, model="ae", posterior=posterior)
    msg = str(err.value)
    assert f"posterior={posterior!r} is for model='vae'" in msg and "\n" not in msg and "--" not in msg
    assert ModelConfig(input_dim=5, model="ae", posterior="diag").posterior == "diag"  # the default is fine
    with pytest.raises(ConfigError, match="is for model='vae'"):
        default_config("curves", 50, model="ae", posterior=posterior)


def test_every_model_class_is_named_in_the_config():
    # ModelConfig checks `model` against MODEL_NAMES without importing the classes
    # (rotcurve.models.autoencoder imports the config); the two must agree.
    from rotcurve.models import MODEL_NAMES, MODELS

    assert tuple(MODELS) == MODEL_NAMES
    with pytest.raises(ConfigError, match=r"^unknown model 'gan'; choose one of: vae, ae$"):
        ModelConfig(input_dim=5, model="gan")
