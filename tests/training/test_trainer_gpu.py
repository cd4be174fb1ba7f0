"""CUDA: a short training with bf16 autocast, and its checkpoint loading on the CPU."""

from __future__ import annotations

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_short_training_on_cuda(tmp_path, curves, fit_tiny):
    res = fit_tiny(curves, tmp_path / "run", epochs=3, device="cuda")
    assert next(res.model.parameters()).device.type == "cuda"
    assert res.history[-1]["val_loss"] < res.history[0]["val_loss"]


def test_cuda_checkpoint_loads_on_cpu(tmp_path, curves, fit_tiny):
    from rotcurve.run import load_run
    from rotcurve.training import load_checkpoint

    res = fit_tiny(curves, tmp_path / "run", epochs=2, device="cuda")
    model, state = load_checkpoint(res.last_checkpoint, device="cpu")
    assert next(model.parameters()).device.type == "cpu"
    x = torch.randn(5, 24)
    expect = res.model.float().reconstruct(x.cuda()).cpu()
    torch.testing.assert_close(model.reconstruct(x), expect, rtol=1e-4, atol=1e-4)
    run = load_run(tmp_path / "run", device="cpu")
    assert run.sample(4, seed=0).shape == (4, 24)


def test_resume_on_cuda_matches_straight(tmp_path, curves, fit_tiny):
    straight = fit_tiny(curves, tmp_path / "a", epochs=3, device="cuda", amp="off")
    fit_tiny(curves, tmp_path / "b", epochs=3, device="cuda", amp="off", stop_after=1)
    resumed = fit_tiny(curves, tmp_path / "b", epochs=3, device="cuda", amp="off", resume=True)
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=k)
