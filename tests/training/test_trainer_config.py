"""TrainConfig / DataConfig: defaults, JSON round trips, refusal of bad values."""

from __future__ import annotations

import json

import pytest

from rotcurve.errors import ConfigError
from rotcurve.serialization import from_dict, to_dict
from rotcurve.training.config import (
    TRAIN_DEFAULTS,
    DataConfig,
    TrainConfig,
    default_train_config,
)


def test_defaults_round_trip_through_json():
    for kind in TRAIN_DEFAULTS:
        cfg = default_train_config(kind)
        again = from_dict(TrainConfig, json.loads(json.dumps(to_dict(cfg))))
        assert again == cfg


def test_overrides_apply_and_keep_the_rest():
    cfg = default_train_config("curves", epochs=7, lr=1e-4)
    assert (cfg.epochs, cfg.lr) == (7, 1e-4)
    assert cfg.batch_size == TRAIN_DEFAULTS["curves"]["batch_size"]


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        ("epochs", 0, "epochs must be an integer >= 1"),
        ("batch_size", -3, "batch_size"),
        ("lr", 0.0, "lr must be > 0"),
        ("lr", float("nan"), "lr must be a finite number"),
        ("optimizer", "sgd", "unknown optimizer 'sgd'; choose one of: adam, adamw"),
        ("schedule", "step", "unknown schedule 'step'"),
        ("amp", "fp16", "unknown amp 'fp16'"),
        ("device", "tpu", "unknown device 'tpu'"),
        ("warmup", 1.0, "warmup must be >= 0 and <= 0.99"),
        ("grad_clip", -1.0, "grad_clip must be >= 0"),
        ("seed", -1, "seed must be an integer >= 0"),
        ("patience", True, "patience must be an integer"),
    ],
)
def test_bad_values_are_refused(field, value, text):
    with pytest.raises(ConfigError, match=text.replace("(", r"\(")):
        TrainConfig(**{field: value})


def test_unknown_keys_are_refused():
    with pytest.raises(ConfigError, match="unknown setting train.epoch"):
        from_dict(TrainConfig, {"epoch": 3}, where="train")
    with pytest.raises(ConfigError, match="unknown training setting epoch"):
        default_train_config("curves", epoch=3)
    with pytest.raises(ConfigError, match="unknown kind of data 'images'"):
        default_train_config("images")


def test_data_config_checks_fractions_and_storage():
    cfg = DataConfig("x.h5", fractions=[0.7, 0.2, 0.1])
    assert cfg.fractions == (0.7, 0.2, 0.1)
    assert DataConfig("x.h5", storage="stream").in_memory is False
    with pytest.raises(ConfigError, match="sum to 1"):
        DataConfig("x.h5", fractions=(0.5, 0.2, 0.1))
    with pytest.raises(ConfigError, match="unknown storage"):
        DataConfig("x.h5", storage="disk")
