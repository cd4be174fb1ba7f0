"""Checkpoints: complete, safe to load, and every bad file is one clear CheckpointError."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

from rotcurve.errors import CheckpointError
from rotcurve.training.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_SCHEMA_VERSION,
    load_checkpoint,
    read_checkpoint,
)


@pytest.fixture
def run(tmp_path, curves, fit_tiny):
    return fit_tiny(curves, tmp_path / "run", epochs=2)


def test_holds_everything_and_loads_weights_only(run):
    raw = torch.load(run.last_checkpoint, map_location="cpu", weights_only=True)
    assert raw["format"] == CHECKPOINT_FORMAT
    assert raw["schema_version"] == CHECKPOINT_SCHEMA_VERSION
    for key in (
        "rotcurve_version", "model_config", "train_config", "data", "normaliser", "model_state",
        "optimizer_state", "schedule_state", "epoch", "step", "progress", "rng_state",
    ):
        assert key in raw, key
    data = raw["data"]
    assert data["kind"] == "curves" and data["n"] == 500 and data["seed"] == 0
    assert data["fractions"] == [0.8, 0.1, 0.1] and len(data["radii"]) == 24
    assert data["sizes"] == {"train": 400, "val": 50, "test": 50}
    assert raw["epoch"] == 2 and raw["step"] == 2 * 7  # ceil(400 / 64) steps per epoch
    assert raw["progress"]["finished"] is True


def test_load_rebuilds_the_same_model(run):
    model, state = load_checkpoint(run.last_checkpoint)
    x = torch.randn(9, 24)
    torch.testing.assert_close(model.reconstruct(x), run.model.reconstruct(x), rtol=0, atol=0)
    assert not model.training
    assert state.model_config == run.model.config
    assert state.epoch == 2 and state.kind == "curves"
    # the normaliser comes back: transform then inverse is the identity in km/s
    v = np.linspace(50.0, 200.0, 24)[None]
    np.testing.assert_allclose(state.normaliser.inverse(state.normaliser.transform(v)), v, rtol=1e-12)


def test_best_is_the_lowest_validation_epoch(run):
    best = min(run.history, key=lambda r: r["val_loss"])
    _, state = load_checkpoint(run.best_checkpoint)
    assert state.epoch == best["epoch"] == run.best_epoch
    assert state.progress["best_val"] == pytest.approx(best["val_loss"])


def test_missing_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        read_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="is not a file"):
        read_checkpoint(tmp_path)


def test_empty_and_truncated(run, tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        read_checkpoint(empty)
    data = run.last_checkpoint.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted or truncated") as exc:
        read_checkpoint(cut)
    assert "\n" not in str(exc.value)


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a rotcurve checkpoint"):
        read_checkpoint(text)
    bare = tmp_path / "bare.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), bare)
    with pytest.raises(CheckpointError, match="bare state_dict"):
        read_checkpoint(bare)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "x": np.arange(3)}, unsafe)
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        read_checkpoint(unsafe)
    tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(CheckpointError, match="holding a Tensor"):
        read_checkpoint(tensor)


def _rewrite(src, dst, **changes):
    raw = torch.load(src, map_location="cpu", weights_only=True)
    for key, value in changes.items():
        if value is None:
            del raw[key]
        else:
            raw[key] = value
    torch.save(raw, dst)
    return dst


def test_newer_schema_says_upgrade(run, tmp_path):
    newer = _rewrite(run.last_checkpoint, tmp_path / "newer.pt", schema_version=CHECKPOINT_SCHEMA_VERSION + 1)
    with pytest.raises(CheckpointError, match="upgrade rotcurve"):
        load_checkpoint(newer)


def test_damaged_contents(run, tmp_path):
    with pytest.raises(CheckpointError, match="lacks model_state"):
        read_checkpoint(_rewrite(run.last_checkpoint, tmp_path / "a.pt", model_state=None))
    raw = torch.load(run.last_checkpoint, weights_only=True)
    cfg = dict(raw["model_config"], latent_dim=3)  # weights no longer fit
    with pytest.raises(CheckpointError, match="do not fit the saved model configuration"):
        load_checkpoint(_rewrite(run.last_checkpoint, tmp_path / "b.pt", model_config=cfg))
    with pytest.raises(CheckpointError, match="configuration is invalid"):
        load_checkpoint(_rewrite(run.last_checkpoint, tmp_path / "c.pt", model_config={"bogus": 1}))
    weights = collections.OrderedDict(raw["model_state"])
    name = next(iter(weights))
    weights[name] = torch.full_like(weights[name], float("nan"))
    with pytest.raises(CheckpointError, match="not finite"):
        load_checkpoint(_rewrite(run.last_checkpoint, tmp_path / "d.pt", model_state=weights))


def test_no_temporary_files_are_left(run):
    names = sorted(p.name for p in run.last_checkpoint.parent.iterdir())
    assert names == ["best.pt", "last.pt"]
    assert sorted(p.name for p in run.run_dir.iterdir()) == ["checkpoints", "config.json", "metrics.jsonl"]


@pytest.mark.parametrize("damaged", ["last.pt", "best.pt"])
def test_best_and_last_are_independent_files(tmp_path, curves, fit_tiny, damaged):
    """When the last epoch is the best, best.pt is a copy, not a hard link to last.pt."""
    res = fit_tiny(curves, tmp_path / "run", epochs=1)  # one epoch: it is the last and the best
    assert res.best_epoch == res.epoch == 1
    best, last = res.best_checkpoint, res.last_checkpoint
    assert best.read_bytes() == last.read_bytes()
    assert best.stat().st_ino != last.stat().st_ino
    assert best.stat().st_nlink == last.stat().st_nlink == 1
    broken = best.parent / damaged
    other = last if damaged == "best.pt" else best
    with open(broken, "r+b") as fh:  # damage in place, as a failing disk would
        fh.truncate(broken.stat().st_size // 2)
    with pytest.raises(CheckpointError, match="use the run's other checkpoint"):
        read_checkpoint(broken)
    model, state = load_checkpoint(other)  # the message's advice works
    assert state.epoch == 1


def test_old_autoencoder_checkpoint_with_an_ignored_posterior_still_loads(tmp_path, curves, fit_tiny):
    """Runs trained with ``--model ae --posterior full`` (accepted, then ignored) stay usable."""
    res = fit_tiny(curves, tmp_path / "run", epochs=1, model={"model": "ae"})
    raw = torch.load(res.last_checkpoint, weights_only=True)
    raw["model_config"]["posterior"] = "full"  # what such a run saved
    old = tmp_path / "old.pt"
    torch.save(raw, old)
    model, state = load_checkpoint(old)
    assert state.model_config.model == "ae" and state.model_config.posterior == "diag"


def test_the_payload_is_laid_out_in_one_place(run):
    import inspect

    from rotcurve.training import loop

    raw = torch.load(run.last_checkpoint, map_location="cpu", weights_only=True)
    assert list(raw) == [
        "format", "schema_version", "rotcurve_version", "model_config", "train_config", "data",
        "normaliser", "model_state", "optimizer_state", "schedule_state", "epoch", "step", "progress",
        "rng_state",
    ]
    source = inspect.getsource(loop)
    for key in ("model_state", "optimizer_state", "schedule_state", "rng_state", '"normaliser"'):
        assert key not in source, f"loop.py knows the checkpoint key {key}"
