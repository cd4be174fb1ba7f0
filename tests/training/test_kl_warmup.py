"""The KL warm-up (TrainConfig.kl_warmup, issue 10): the weight's ramp, and runs with it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from rotcurve.errors import ConfigError
from rotcurve.training.config import TrainConfig, default_train_config
from rotcurve.training.loop import _kl_weight


def _run(step, *, kl_warmup, epochs=10, steps_per_epoch=10, has_kl=True):
    return SimpleNamespace(
        step=step,
        steps_per_epoch=steps_per_epoch,
        cfg=TrainConfig(epochs=epochs, kl_warmup=kl_warmup),
        model=SimpleNamespace(_has_kl=has_kl),
    )


def test_the_weight_rises_linearly_to_one_over_the_warmup_fraction():
    # 100 steps, 30 % warm-up: 30 steps
    assert _kl_weight(_run(0, kl_warmup=0.3)) == pytest.approx(1 / 30)
    assert _kl_weight(_run(14, kl_warmup=0.3)) == pytest.approx(0.5)
    assert _kl_weight(_run(29, kl_warmup=0.3)) == 1.0
    assert _kl_weight(_run(99, kl_warmup=0.3)) == 1.0
    assert _kl_weight(_run(0, kl_warmup=0.0)) == 1.0
    assert _kl_weight(_run(0, kl_warmup=0.3, has_kl=False)) == 1.0  # a plain autoencoder


def test_setting_is_checked_and_in_the_curve_preset():
    with pytest.raises(ConfigError, match="kl_warmup"):
        TrainConfig(kl_warmup=1.0)
    with pytest.raises(ConfigError, match="kl_warmup"):
        TrainConfig(kl_warmup=-0.1)
    assert default_train_config("curves").kl_warmup == pytest.approx(0.3)
    assert default_train_config("mnist").kl_warmup == 0.0


def test_warmup_changes_training_and_a_resumed_run_matches_an_uninterrupted_one(tmp_path, curves, fit_tiny):
    a = fit_tiny(curves, tmp_path / "a", epochs=3, kl_warmup=0.5)
    b = fit_tiny(curves, tmp_path / "b", epochs=3, kl_warmup=0.5, stop_after=1)
    assert b.stop_reason == "paused"
    b = fit_tiny(curves, tmp_path / "b", epochs=3, kl_warmup=0.5, resume=True)
    c = fit_tiny(curves, tmp_path / "c", epochs=3, kl_warmup=0.0)
    wa, wb, wc = (dict(r.model.state_dict()) for r in (a, b, c))
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0)
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)
    # the logged losses are the full ELBO (beta = 1) plus the max term, whatever the warm-up weight
    for r in a.history:
        assert r["train_penalty"] > 0  # the curve preset's max_weight = 1
        full = r["train_recon"] + r["train_kl"] + r["train_penalty"]
        assert r["train_loss"] == pytest.approx(full, rel=1e-5, abs=1e-3)
