"""Smoke test of the full-covariance VAEs: a few epochs on ~1,000 simulated curves, several seeds.

The benchmark behind it is ``bench/bench_quality.py`` (``seeds``); here the
runs are short enough for the test suite: finite losses throughout, a final
validation loss below the loss of the untrained model and below the first
epoch's, and a valid posterior (finite, symmetric, positive-definite
covariances) on the held-out curves.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from rotcurve.errors import ConfigError

#: Short training on 800 training curves: 13 steps per epoch.
SMOKE_TRAIN = {"epochs": 6, "batch_size": 64, "device": "cpu", "eval_batch_size": 512}
BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_quality.py"


@pytest.fixture(scope="module")
def curves_1k(tmp_path_factory):
    """1,000 reference-prior curves on 24 radii (800 / 100 / 100 after the split)."""
    from rotcurve.generator import resolve_prior
    from rotcurve.io import write_dataset
    from rotcurve.physics import rotation_curves

    params = resolve_prior("reference").sample(1000, np.random.default_rng(7))
    radii = np.geomspace(0.1, 50.0, 24)
    path = tmp_path_factory.mktemp("quality") / "curves.h5"
    write_dataset(
        path,
        radii=radii,
        v_circ=rotation_curves(params, radii).v_circ,
        params=params,
        attrs={"seed": 7},
    )
    return path


def initial_val_loss(spec: Path, posterior: str, seed: int) -> float:
    """Validation loss of the untrained model ``fit`` starts from (same data split, same initial weights)."""
    import torch

    from rotcurve.datasets import load_training_data
    from rotcurve.models import build_model, default_config
    from rotcurve.training import evaluate, stream_seed
    from rotcurve.training.loop import _INIT

    data = load_training_data(spec, seed=seed, device="cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(seed, _INIT))
        model = build_model(
            default_config("curves", data.input_dim, posterior=posterior)
        )
    return evaluate(model, data.val, seed=seed)["loss"]


def check_run(spec: Path, tmp_path: Path, posterior: str, seed: int) -> None:
    from rotcurve.io import read_dataset
    from rotcurve.run import load_run
    from rotcurve.training import fit

    result = fit(
        spec,
        tmp_path / f"{posterior}-{seed}",
        model={"posterior": posterior},
        train={**SMOKE_TRAIN, "seed": seed},
        progress=False,
    )
    assert result.stop_reason == "completed" and result.epoch == SMOKE_TRAIN["epochs"]
    losses = [
        r[k]
        for r in result.history
        for k in ("train_loss", "train_recon", "train_kl", "val_loss")
    ]
    assert all(math.isfinite(x) for x in losses), losses
    assert all(r["train_kl"] >= 0 and r["val_kl"] >= 0 for r in result.history)
    first, final = result.history[0]["val_loss"], result.history[-1]["val_loss"]
    start = initial_val_loss(spec, posterior, seed)
    assert final < start and final < first, (start, first, final)

    run = load_run(result.run_dir, which="last")
    v = read_dataset(spec).v_circ
    enc = run.encode(v[:200])
    cov = enc.covariance
    assert np.isfinite(enc.mean).all() and np.isfinite(cov).all()
    np.testing.assert_allclose(cov, np.swapaxes(cov, 1, 2), rtol=1e-6, atol=1e-12)
    assert np.linalg.eigvalsh(cov).min() > 0


@pytest.mark.parametrize("posterior", ["full", "full-svd"])
@pytest.mark.parametrize("seed", [0, 1])
def test_full_covariance_vae_trains(curves_1k, tmp_path, posterior, seed):
    check_run(curves_1k, tmp_path, posterior, seed)


@pytest.mark.slow
@pytest.mark.parametrize("posterior", ["full", "full-svd"])
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_full_covariance_vae_trains_more_seeds(curves_1k, tmp_path, posterior, seed):
    """Seeds 2-4: with the fast test, the five seeds of the benchmark."""
    check_run(curves_1k, tmp_path, posterior, seed)


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_quality", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_refuses_unknown_model_before_any_work(tmp_path):
    bench = _load_bench()
    work = tmp_path / "work"
    with pytest.raises(
        ConfigError, match=r"unknown model vae-huge; choose from ae, vae-diag"
    ):
        bench.main(["compare", "--models", "vae-diag,vae-huge", "--workdir", str(work)])
    assert not work.exists()


def test_pca_baseline_recovers_exactly_low_rank_curves(tmp_path):
    """Curves whose normalised form has rank <= 4 are reconstructed by the 4-component PCA to rounding."""
    from rotcurve.io import write_dataset

    rng = np.random.default_rng(3)
    r = np.geomspace(0.5, 30.0, 16)
    # log10 v = a + b log r + c (log r)^2 + d (log r)^3: every standardised row lies in a 4-D affine space
    coef = rng.normal([2.0, 0.3, -0.1, 0.02], [0.2, 0.1, 0.05, 0.01], size=(600, 4))
    lr = np.log10(r)
    v = 10.0 ** (coef @ np.vstack([np.ones_like(lr), lr, lr**2, lr**3]))
    path = tmp_path / "lowrank.h5"
    write_dataset(path, radii=r, v_circ=v, attrs={"seed": 0}, dtype="float64")
    out = _load_bench().pca_baseline(path, seed=0)
    assert out["n"] == 60
    assert out["explained_variance"] == pytest.approx(1.0, abs=1e-6)
    assert out["median_frac_error"] < 1e-5 and out["rms_kms"] < 1e-3 * np.median(v)
