"""The training loop: learning, determinism, resuming, the NaN guard, early stopping."""

from __future__ import annotations

import json
import math

import pytest
import torch

from rotcurve.errors import CheckpointError, ConfigError, DataError, OutputExistsError, TrainingError
from rotcurve.training import load_checkpoint


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _numbers(history):
    """Metrics without the wall-clock fields."""
    drop = {"seconds", "train_seconds", "samples_per_s"}
    return [{k: v for k, v in r.items() if k not in drop} for r in history]


def test_learns_and_logs_one_record_per_epoch(tmp_path, curves, fit_tiny):
    res = fit_tiny(curves, tmp_path / "run", epochs=6)
    hist = res.history
    assert [r["epoch"] for r in hist] == list(range(1, 7))
    assert hist[-1]["val_loss"] < hist[0]["val_loss"] - 10  # nats per example
    assert hist[-1]["step"] == 6 * 7
    for r in hist:
        full = r["train_recon"] + r["train_kl"] + r["train_penalty"]
        assert r["train_loss"] == pytest.approx(full, rel=1e-5, abs=1e-3)
        assert r["val_loss"] == pytest.approx(r["val_recon"] + r["val_kl"] + r["val_penalty"], rel=1e-5, abs=1e-3)
        assert r["samples_per_s"] > 0 and r["seconds"] >= r["train_seconds"] > 0
    on_disk = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert on_disk == hist
    assert res.stop_reason == "completed" and res.epoch == 6


def test_cosine_reaches_its_floor_at_the_last_step(tmp_path, curves, fit_tiny):
    res = fit_tiny(curves, tmp_path / "run", epochs=2, lr=1e-3, min_lr_ratio=0.1, warmup=0.0)
    assert res.history[-1]["lr"] == pytest.approx(1e-4)


def test_two_runs_give_identical_weights(tmp_path, curves, fit_tiny):
    a = fit_tiny(curves, tmp_path / "a", epochs=2)
    b = fit_tiny(curves, tmp_path / "b", epochs=2)
    _same_weights(_weights(a.model), _weights(b.model))
    assert _numbers(a.history) == _numbers(b.history)
    c = fit_tiny(curves, tmp_path / "c", epochs=2, seed=1)
    assert not torch.equal(a.model.decoder.net[0].weight, c.model.decoder.net[0].weight)


def test_the_caller_rng_is_left_alone(tmp_path, curves, fit_tiny):
    torch.manual_seed(123)
    expect = torch.rand(3)
    torch.manual_seed(123)
    fit_tiny(curves, tmp_path / "run", epochs=1)
    assert torch.equal(torch.rand(3), expect)


def test_pause_and_resume_equals_straight(tmp_path, curves, fit_tiny):
    straight = fit_tiny(curves, tmp_path / "straight", epochs=4)
    first = fit_tiny(curves, tmp_path / "split", epochs=4, stop_after=2)
    assert first.stop_reason == "paused" and first.epoch == 2
    second = fit_tiny(curves, tmp_path / "split", epochs=4, resume=True)
    assert second.resumed_from == 2 and second.epoch == 4
    _same_weights(_weights(straight.model), _weights(second.model))
    assert _numbers(second.history) == _numbers(straight.history)
    for name in ("last.pt", "best.pt"):
        a, _ = load_checkpoint(tmp_path / "straight" / "checkpoints" / name)
        b, _ = load_checkpoint(tmp_path / "split" / "checkpoints" / name)
        _same_weights(_weights(a), _weights(b))


def test_interrupted_run_resumes_exactly(tmp_path, curves, fit_tiny, monkeypatch):
    """Ctrl-C in the middle of epoch 3: resuming from last.pt (epoch 2) gives the straight result."""
    from rotcurve.models.autoencoder import LatentModel

    straight = fit_tiny(curves, tmp_path / "straight", epochs=4, checkpoint_every=2)
    real = LatentModel.forward
    calls = {"n": 0}

    def flaky(self, x, **kw):
        if self.training:
            calls["n"] += 1
            if calls["n"] == 2 * 7 + 3:  # step 3 of epoch 3
                raise KeyboardInterrupt
        return real(self, x, **kw)

    monkeypatch.setattr(LatentModel, "forward", flaky)
    with pytest.raises(KeyboardInterrupt):
        fit_tiny(curves, tmp_path / "run", epochs=4, checkpoint_every=2)
    monkeypatch.setattr(LatentModel, "forward", real)
    _, state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert state.epoch == 2
    resumed = fit_tiny(curves, tmp_path / "run", epochs=4, checkpoint_every=2, resume=True)
    _same_weights(_weights(straight.model), _weights(resumed.model))
    assert _numbers(resumed.history) == _numbers(straight.history)


def test_resume_of_a_finished_run_does_nothing(tmp_path, curves, fit_tiny):
    fit_tiny(curves, tmp_path / "run", epochs=2)
    before = (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes()
    res = fit_tiny(curves, tmp_path / "run", epochs=2, resume=True)
    assert res.stop_reason == "already-complete" and res.epoch == 2
    assert (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes() == before


def test_resume_refuses_other_settings_and_other_data(tmp_path, curves, fit_tiny, write_curves):
    fit_tiny(curves, tmp_path / "run", epochs=3, stop_after=1)
    with pytest.raises(ConfigError, match=r"train\.lr: 0\.003 -> 0\.001"):
        fit_tiny(curves, tmp_path / "run", epochs=3, lr=1e-3, resume=True)
    with pytest.raises(ConfigError, match=r"model\.latent_dim: 2 -> 3"):
        fit_tiny(curves, tmp_path / "run", epochs=3, model={"latent_dim": 3}, resume=True)
    write_curves(curves, seed=5)  # same path, other curves
    with pytest.raises(DataError, match="data differ from those the run started with"):
        fit_tiny(curves, tmp_path / "run", epochs=3, resume=True)


def test_resume_needs_a_checkpoint(tmp_path, curves, fit_tiny):
    with pytest.raises(CheckpointError, match="no checkpoints/last.pt to resume from"):
        fit_tiny(curves, tmp_path / "fresh", resume=True)


def test_existing_run_is_not_touched_without_a_flag(tmp_path, curves, fit_tiny):
    fit_tiny(curves, tmp_path / "run", epochs=1)
    files = {p: p.read_bytes() for p in (tmp_path / "run").rglob("*") if p.is_file()}
    with pytest.raises(OutputExistsError, match="resume=True to continue it or overwrite=True"):
        fit_tiny(curves, tmp_path / "run", epochs=2)
    assert {p: p.read_bytes() for p in files} == files
    res = fit_tiny(curves, tmp_path / "run", epochs=2, overwrite=True)
    assert [r["epoch"] for r in res.history] == [1, 2]
    with pytest.raises(ConfigError, match="exclude each other"):
        fit_tiny(curves, tmp_path / "run", epochs=2, overwrite=True, resume=True)


def test_nan_stops_with_epoch_and_step_and_keeps_the_good_checkpoint(tmp_path, curves, fit_tiny, monkeypatch):
    from rotcurve.models.autoencoder import LatentModel

    real = LatentModel.forward
    calls = {"n": 0}

    def poisoned(self, x, **kw):
        out = real(self, x, **kw)
        if self.training:
            calls["n"] += 1
            if calls["n"] == 7 + 4:  # epoch 2, global step 10 (0-based)
                out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(LatentModel, "forward", poisoned)
    with pytest.raises(TrainingError) as exc:
        fit_tiny(curves, tmp_path / "run", epochs=3)
    msg = str(exc.value)
    assert "epoch 2, step 10" in msg and "last.pt (epoch 1) is kept" in msg and "\n" not in msg
    for name in ("last.pt", "best.pt"):
        model, state = load_checkpoint(tmp_path / "run" / "checkpoints" / name)
        assert state.epoch == 1
        assert all(torch.isfinite(p).all() for p in model.parameters())
    records = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(records) == 1


def test_divergence_in_the_first_epoch(tmp_path, curves, fit_tiny, monkeypatch):
    from rotcurve.models.autoencoder import LatentModel

    real = LatentModel.forward

    def poisoned(self, x, **kw):
        out = real(self, x, **kw)
        out.loss = out.loss + float("inf")
        return out

    monkeypatch.setattr(LatentModel, "forward", poisoned)
    with pytest.raises(TrainingError, match="epoch 1, step 0.*no checkpoint had been written"):
        fit_tiny(curves, tmp_path / "run", epochs=2)
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()


def test_early_stopping(tmp_path, curves, fit_tiny):
    # an "improvement" must beat 1e6 nats: only the first evaluation counts
    res = fit_tiny(curves, tmp_path / "run", epochs=10, patience=2, min_delta=1e6)
    assert res.stop_reason == "early-stopping"
    assert [r["epoch"] for r in res.history] == [1, 2, 3] and res.best_epoch == 1
    _, state = load_checkpoint(res.last_checkpoint)
    assert state.progress["finished"] and state.progress["stop_reason"] == "early-stopping"


def test_no_per_step_synchronisation(tmp_path, curves, fit_tiny, monkeypatch):
    """rotcurve's code calls no .item(), and one .tolist() per epoch for training plus one for validation."""
    import os
    import sys

    import rotcurve

    package = os.path.dirname(rotcurve.__file__) + os.sep
    counts = {"tolist": 0}
    real_item, real_tolist = torch.Tensor.item, torch.Tensor.tolist

    def ours() -> bool:
        return sys._getframe(2).f_code.co_filename.startswith(package)

    def no_item(self):
        if ours():
            raise AssertionError(".item() called by rotcurve in the training loop")
        return real_item(self)

    def counting_tolist(self):
        if ours():
            counts["tolist"] += 1
        return real_tolist(self)

    monkeypatch.setattr(torch.Tensor, "item", no_item)
    monkeypatch.setattr(torch.Tensor, "tolist", counting_tolist)
    fit_tiny(curves, tmp_path / "run", epochs=3)
    assert counts["tolist"] == 3 * 2


def test_streaming_data_train_and_are_deterministic(tmp_path, curves, fit_tiny):
    a = fit_tiny(curves, tmp_path / "a", epochs=2, storage="stream")
    b = fit_tiny(curves, tmp_path / "b", epochs=2, storage="stream")
    _same_weights(_weights(a.model), _weights(b.model))
    assert a.history[-1]["val_loss"] < a.history[0]["val_loss"]
    assert math.isfinite(a.best_val)


@pytest.mark.parametrize("model", [{"model": "ae"}, {"posterior": "full"}, {"posterior": "full-svd"}])
def test_other_models_train(tmp_path, curves, fit_tiny, model):
    res = fit_tiny(curves, tmp_path / "run", epochs=2, model=model)
    assert res.history[-1]["val_loss"] < res.history[0]["val_loss"]
    if model.get("model") == "ae":
        assert all(r["train_kl"] == 0 for r in res.history)


def test_plateau_schedule_and_eval_cadence(tmp_path, curves, fit_tiny):
    res = fit_tiny(curves, tmp_path / "run", epochs=4, schedule="plateau", eval_every=2, checkpoint_every=3)
    evaluated = [r["epoch"] for r in res.history if r["val_loss"] is not None]
    assert evaluated == [2, 4]
    _, state = load_checkpoint(res.last_checkpoint)
    assert state.epoch == 4


def test_inconsistent_inputs(tmp_path, curves):
    from rotcurve.datasets import load_training_data
    from rotcurve.models import default_config
    from rotcurve.training import TrainConfig, train

    data = load_training_data(curves, seed=0)
    with pytest.raises(ConfigError, match="input_dim"):
        train(data, tmp_path / "r", model_config=default_config("curves", 10), train_config=TrainConfig(device="cpu"))
    with pytest.raises(ConfigError, match="split with seed 0 but the training seed is 1"):
        train(data, tmp_path / "r", model_config=default_config("curves", 24), train_config=TrainConfig(seed=1, device="cpu"))
    with pytest.raises(ConfigError, match="for CUDA devices only"):
        train(data, tmp_path / "r", model_config=default_config("curves", 24), train_config=TrainConfig(amp="bf16", device="cpu"))
    assert not (tmp_path / "r").exists()
