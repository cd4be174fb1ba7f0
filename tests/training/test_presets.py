"""The tuned presets (data/presets/<kind>.toml): they load, hold only known settings, and
give the defaults that used to be written in the code."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from rotcurve.errors import ConfigError
from rotcurve.training.config import TRAIN_DEFAULTS, TrainConfig, default_train_config
from rotcurve.training.presets import PRESET_KINDS, PRESET_TABLES, load_preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]

#: The defaults as they were hard-coded in rotcurve/training/config.py (TRAIN_DEFAULTS)
#: and rotcurve/models/config.py (_DEFAULTS) before they moved to the preset files.
#: Issue 10 changed the curve preset: 600 epochs, kl_warmup 0.3, posterior_scale 0.05.
OLD_TRAIN = {
    "curves": dict(
        epochs=600,
        batch_size=256,
        lr=2e-3,
        optimizer="adamw",
        betas=(0.9, 0.95),
        weight_decay=0.0,
        schedule="cosine",
        warmup=0.02,
        min_lr_ratio=0.01,
        grad_clip=0.0,
        kl_warmup=0.3,
        patience=0,
    ),
    "mnist": dict(
        epochs=30,
        batch_size=128,
        lr=2e-3,
        optimizer="adam",
        weight_decay=0.0,
        schedule="cosine",
        warmup=0.0,
        min_lr_ratio=0.1,
        grad_clip=0.0,
        patience=0,
    ),
}
OLD_MODEL = {
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


@pytest.mark.parametrize("kind", PRESET_KINDS)
def test_presets_load_with_known_keys_only(kind):
    from rotcurve.models import ModelConfig

    preset = load_preset(kind)
    assert set(preset.tables) == set(PRESET_TABLES)
    train = preset.settings("train", TrainConfig)  # strict: from_dict refuses unknown keys
    model = preset.settings("model", ModelConfig, input_dim=1)
    assert set(train) <= {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(model) <= {f.name for f in dataclasses.fields(ModelConfig)} - {"input_dim"}


@pytest.mark.parametrize("kind", PRESET_KINDS)
def test_presets_give_the_old_hard_coded_defaults(kind):
    from rotcurve.models import ModelConfig, default_config

    assert TRAIN_DEFAULTS[kind] == OLD_TRAIN[kind]
    assert default_train_config(kind) == TrainConfig(**OLD_TRAIN[kind])
    preset = load_preset(kind)
    assert preset.tables["model"] == OLD_MODEL[kind]
    # rotcurve.models.default_config still holds its own copy: keep the two equal
    for n in (24, 784):
        assert default_config(kind, n) == ModelConfig(input_dim=n, **preset.tables["model"])


@pytest.mark.parametrize("kind", PRESET_KINDS)
def test_every_preset_value_has_a_comment(kind):
    path = ROOT / "data" / "presets" / f"{kind}.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    keys = 0
    for i, line in enumerate(lines):
        if not line or line.startswith(("#", "[")):
            continue
        keys += 1
        assert lines[i - 1].startswith("#"), f"{path.name}: {line!r} has no comment above it"
    assert keys == sum(len(t) for t in tomllib.loads(path.read_text(encoding="utf-8")).values())


def test_the_checkout_folder_is_the_packaged_one():
    assert (ROOT / "data" / "presets").resolve() == (ROOT / "rotcurve" / "training" / "preset_files").resolve()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = pyproject["tool"]["setuptools"]["package-data"]["rotcurve.training"]
    assert "preset_files/*.toml" in package_data  # so a wheel ships them


def test_unknown_keys_and_tables_are_errors(tmp_path):
    from rotcurve.models import ModelConfig

    bad = tmp_path / "curves.toml"
    bad.write_text("[train]\nepoch = 3\n[model]\nlatent_dims = 2\n")
    preset = load_preset("curves", path=bad)
    with pytest.raises(ConfigError, match=r"curves\.toml: unknown setting train\.epoch"):
        preset.settings("train", TrainConfig)
    with pytest.raises(ConfigError, match=r"curves\.toml: unknown setting model\.latent_dims"):
        preset.settings("model", ModelConfig, input_dim=1)
    bad.write_text("[train]\n[model]\n[optimiser]\nlr = 1\n")
    with pytest.raises(ConfigError, match=r"unknown 'optimiser'.*\[train\], \[model\] only"):
        load_preset("curves", path=bad)
    bad.write_text("[train]\nlr = 1e-3\n")
    with pytest.raises(ConfigError, match=r"no \[model\] table"):
        load_preset("curves", path=bad)
    with pytest.raises(ConfigError, match="unknown kind of data 'images'"):
        load_preset("images")
