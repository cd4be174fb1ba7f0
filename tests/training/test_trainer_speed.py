"""The speed-related parts of the loop: Adam's betas, the per-epoch loss reduction, old checkpoints."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from rotcurve.errors import ConfigError
from rotcurve.serialization import from_dict, to_dict
from rotcurve.training import TrainConfig
from rotcurve.training.loop import _epoch_summary
from rotcurve.training.optim import build_optimizer


# ------------------------------------------------------------------------------ betas
def test_betas_default_to_torchs_and_round_trip():
    cfg = TrainConfig()
    assert cfg.betas == (0.9, 0.999)
    tuned = TrainConfig(betas=[0.8, 0.95])  # a JSON list becomes a tuple of floats
    assert tuned.betas == (0.8, 0.95)
    assert to_dict(tuned)["betas"] == [0.8, 0.95]
    assert from_dict(TrainConfig, json.loads(json.dumps(to_dict(tuned)))) == tuned
    # settings written before betas existed take the default
    old = to_dict(cfg)
    del old["betas"]
    assert from_dict(TrainConfig, old).betas == (0.9, 0.999)


@pytest.mark.parametrize(
    "value", [(0.9, 1.0), (1.0, 0.9), (-0.1, 0.9), (0.9,), (0.9, 0.99, 0.9), "0.9", (True, 0.9), (math.nan, 0.9), 0.9]
)
def test_bad_betas_are_refused_in_one_line(value):
    with pytest.raises(ConfigError) as err:
        TrainConfig(betas=value)
    msg = str(err.value)
    assert msg.startswith("betas must be two numbers in [0, 1)") and "\n" not in msg


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_optimiser_uses_the_betas_closed_form(name):
    """Two Adam steps on ``L = g_t * w`` against the textbook update (bias-corrected moments)."""
    b1, b2, lr, eps = 0.8, 0.95, 0.1, 1e-8
    cfg = TrainConfig(optimizer=name, lr=lr, betas=(b1, b2))
    w = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = build_optimizer([w], cfg, torch.device("cpu"))
    assert tuple(opt.param_groups[0]["betas"]) == (b1, b2)
    grads = [np.array([1.0, -2.0, 0.5]), np.array([3.0, 1.0, -0.5])]
    m = v = np.zeros(3)
    expect = np.zeros(3)
    for t, g in enumerate(grads, start=1):
        opt.zero_grad()
        (torch.from_numpy(g) * w).sum().backward()
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        expect = expect - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    np.testing.assert_allclose(w.detach().numpy(), expect, rtol=1e-12, atol=1e-15)


# -------------------------------------------------------------------- epoch summary
def test_epoch_summary_weights_by_batch_size_and_finds_the_first_bad_step():
    rng = np.random.default_rng(3)
    losses = rng.normal(size=(5, 3))
    sizes = [64, 64, 64, 64, 17]
    params = [torch.ones(4), torch.zeros(2, 2)]
    steps = [torch.tensor(r, dtype=torch.float32) for r in losses]
    out = _epoch_summary(steps, sizes, 40, params).tolist()
    means = (losses.astype(np.float32).astype(np.float64) * np.array(sizes)[:, None]).sum(0) / sum(sizes)
    np.testing.assert_allclose(out[:3], means, rtol=1e-12)
    assert out[3:] == [-1.0, 1.0]
    steps[1][0] = math.nan
    steps[3][0] = math.inf
    assert _epoch_summary(steps, sizes, 40, params).tolist()[3] == 41.0  # global index of step 1
    params[1][0, 1] = math.nan
    assert _epoch_summary(steps, sizes, 40, params).tolist()[4] == 0.0


# ------------------------------------------------------------ resuming older runs
def test_a_run_saved_before_betas_existed_resumes_exactly(tmp_path, curves, fit_tiny):
    """A checkpoint and config.json without ``betas`` (older rotcurve) resume with torch's betas."""
    straight = fit_tiny(curves, tmp_path / "straight", epochs=3, betas=(0.9, 0.999))
    fit_tiny(curves, tmp_path / "run", epochs=3, betas=(0.9, 0.999), stop_after=1)
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    raw = torch.load(last, weights_only=True)
    del raw["train_config"]["betas"]
    torch.save(raw, last)
    config = tmp_path / "run" / "config.json"
    saved = json.loads(config.read_text())
    del saved["train"]["betas"]
    config.write_text(json.dumps(saved))
    resumed = fit_tiny(curves, tmp_path / "run", epochs=3, betas=(0.9, 0.999), resume=True)
    assert resumed.resumed_from == 1 and resumed.epoch == 3
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    with pytest.raises(ConfigError, match=r"train\.betas: \[0\.9, 0\.999\] -> \[0\.9, 0\.95\]"):
        fit_tiny(curves, tmp_path / "run", epochs=3, betas=(0.9, 0.95), resume=True)


# -------------------------------------------------------------------- the benchmark
def _bench_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "bench_train.py"
    spec = importlib.util.spec_from_file_location("bench_train", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def keep_threads():
    """Restore torch's thread count after a test that sets it."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_bench_runs_end_to_end_and_writes_json(tmp_path, capsys, keep_threads):
    bench = _bench_module()
    out = tmp_path / "speed.json"
    rc = bench.main(["--n", "600", "--epochs", "2", "--baseline-epochs", "2", "--threads", "1",
                     "--loops", "default", 'b64={"batch_size": 64, "lr": 3e-3}', "--json", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    (rep,) = res["repeats"]
    rows = {r["loop"]: r for r in rep["rows"]}
    assert list(rows) == ["tutorial", "default", "b64"]
    assert rows["tutorial"]["speedup"] == 1.0 and rows["tutorial"]["time_speedup"] == 1.0
    assert rows["tutorial"]["epochs_to_target"] is not None  # the target is the tutorial's own best
    assert rows["b64"]["batch_size"] == 64 and rows["default"]["betas"] == [0.9, 0.95]
    assert rep["target"] == min(r["val_loss"] for r in rep["records"]["tutorial"])
    for tag, records in rep["records"].items():
        clocks = [r["clock"] for r in records]
        assert clocks == sorted(clocks) and clocks[0] > 0, tag
    assert "target validation loss" in capsys.readouterr().out


@pytest.mark.parametrize("loops", [["nope"], ['{"bogus": 1}'], ["x={bad"]])
def test_bench_refuses_bad_loops_before_any_work(loops, tmp_path):
    bench = _bench_module()
    with pytest.raises(ConfigError, match="--loops|unknown training setting"):
        bench.main(["--n", "600", "--loops", *loops, "--json", str(tmp_path / "never.json")])
    assert not (tmp_path / "never.json").exists()
