"""Training on fresh simulated curves (``rotcurve train --simulate N``, issue 10)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rotcurve.cli.main import main
from rotcurve.datasets.normaliser import CurveNormaliser
from rotcurve.datasets.simulate import SimulatedSplit, epoch_generator, sample_params_torch
from rotcurve.errors import ConfigError
from rotcurve.generator import LogUniformPrior, ReferencePrior
from rotcurve.physics import rotation_curves
from rotcurve.serialization import from_dict, to_dict
from rotcurve.training import fit_simulated
from rotcurve.training.config import DataConfig, SimulateConfig
from rotcurve.training.rundir import read_run_config

from .conftest import TINY_MODEL, TINY_TRAIN

RADII = np.geomspace(0.1, 50.0, 12)
NORM = CurveNormaliser(RADII, np.full(12, 2.0), np.full(12, 0.3))


def _split(n=300, prior=None, **kw):
    return SimulatedSplit(n, prior or ReferencePrior(), RADII, NORM, "cpu", **kw)


def test_simulated_curves_are_the_numpy_physics():
    """The batches are the numpy physics of the epoch's draws, normalised (float32 rounding only)."""
    split = _split(300)
    got = torch.cat(list(split.iter_batches(64, seed=3, epoch=2))).numpy()
    p = sample_params_torch(ReferencePrior(), 300, epoch_generator(3, 2))
    v = rotation_curves({k: t.numpy() for k, t in p.items()}, RADII).v_circ
    want = (np.log10(v) - NORM.mean) / NORM.std
    assert got.shape == (300, 12) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)


def test_same_seed_same_batches_other_epoch_or_seed_differs():
    split = _split()
    first = next(split.iter_batches(64, seed=0, epoch=1))
    assert torch.equal(first, next(_split().iter_batches(64, seed=0, epoch=1)))
    assert not torch.equal(first, next(split.iter_batches(64, seed=0, epoch=2)))
    assert not torch.equal(first, next(split.iter_batches(64, seed=1, epoch=1)))
    sizes = [len(b) for b in split.iter_batches(64, seed=0, epoch=1)]
    assert sizes == [64, 64, 64, 64, 44] and split.shape == (300, 12)
    assert sum(len(b) for b in split.iter_batches(64, seed=0, epoch=1, drop_last=True)) == 256


@pytest.mark.parametrize("prior", [ReferencePrior(), LogUniformPrior()], ids=lambda p: p.kind)
def test_torch_draws_follow_the_prior(prior):
    """Same distribution as the numpy sampler (not the same stream): log10 means and spreads agree."""
    t = sample_params_torch(prior, 40_000, epoch_generator(0, 1))
    n = prior.sample(40_000, np.random.default_rng(0))
    for name in ("Md", "Rd", "Mh", "c"):
        a, b = np.log10(t[name].numpy()), np.log10(n[name])
        assert abs(a.mean() - b.mean()) < 0.02, name
        assert abs(a.std() - b.std()) < 0.02, name


def test_bad_inputs_are_config_errors():
    with pytest.raises(ConfigError, match=">= 1"):
        _split(0)
    with pytest.raises(ConfigError, match="overflows"):
        _split(10, ReferencePrior(Mh_intercept=400.0))


def test_simulate_config_round_trip():
    sim = SimulateConfig(n=1000, prior={"kind": "loguniform", "c": [4, 20]}, radii={"n": 12})
    assert sim.prior["kind"] == "loguniform" and sim.prior["c"] == [4.0, 20.0] and "Md" in sim.prior
    data = DataConfig(spec="/runs/x/reference.h5", simulate=sim)
    again = from_dict(DataConfig, json.loads(json.dumps(to_dict(data))))
    assert again == data and again.source == "simulate"
    assert from_dict(DataConfig, {"spec": "/a.h5"}).source == "file"  # configs written before issue 10
    with pytest.raises(ConfigError):
        SimulateConfig(n=0, prior={"kind": "reference"}, radii={})


def _fit(run_dir, **kw):
    train = {**TINY_TRAIN, **kw.pop("train", {})}
    return fit_simulated(
        run_dir, 256, radii="0.1:50:12", reference_size=200, model=TINY_MODEL, train=train, progress=False, **kw
    )


def test_end_to_end_run_scores_and_resumes(tmp_path):
    from rotcurve.run import load_run

    result = _fit(tmp_path / "run")
    assert result.stop_reason == "completed" and result.step == 3 * 4
    cfg = read_run_config(tmp_path / "run" / "config.json")
    assert cfg.data.simulate.n == 256 and cfg.data.simulate.prior == ReferencePrior().to_dict()
    assert cfg.data.spec == str((tmp_path / "run" / "reference.h5").resolve())
    run = load_run(tmp_path / "run")
    assert run.data["simulate"]["reference_size"] == 200
    scores = run.score(run.data["spec"])
    assert scores["same_as_training"] and scores["split"] == "test" and scores["n"] == 20
    assert np.isfinite(scores["rms_kms"])
    assert run.sample(5, seed=1).shape == (5, 12)
    # an interrupted run resumed gives the weights of one never interrupted: the same stream
    _fit(tmp_path / "paused", stop_after=2)
    resumed = _fit(tmp_path / "paused", resume=True)
    assert resumed.resumed_from == 2
    a, b = result.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def _one_line(capsys, argv, text):
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and text in err[0], err
    assert "Traceback" not in err[0]


@pytest.mark.parametrize(
    "extra, text",
    [
        (["--simulate", "0"], "must be >= 1"),
        (["--simulate", "100", "--data", "x.h5"], "exclude each other"),
        ([], "give the training data"),
        (["--simulate", "100", "--prior", "nonsense"], "neither a known kind"),
        (["--data", "x.h5", "--prior", "reference"], "--prior is for --simulate"),
        (["--simulate", "100", "--reference-size", "5"], "reference_size"),
    ],
)
def test_cli_refusals(tmp_path, capsys, extra, text):
    _one_line(capsys, ["train", "--out", str(tmp_path / "run"), "--device", "cpu", "--quiet", *extra], text)
    assert not (tmp_path / "run").exists()


def test_cli_train_simulate(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--simulate", "128", "--reference-size", "100", "--radii", "0.1:50:10", "--out", str(out),
            "--epochs", "2", "--batch-size", "64", "--latent-dim", "2", "--device", "cpu", "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "trained 2 epochs, completed" in printed and "reference.h5" in printed
    saved = json.loads((out / "config.json").read_text())["data"]["simulate"]
    assert saved["n"] == 128 and saved["prior"]["kind"] == "reference" and saved["radii"]["n"] == 10
    assert main(["score", "--run", str(out), "--data", str(out / "reference.h5")]) == 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_simulated_on_cuda_is_the_numpy_physics(tmp_path):
    """On a GPU the draws, the physics and the batches stay on the device and equal the numpy physics."""
    split = SimulatedSplit(2000, ReferencePrior(), RADII, NORM, "cuda")
    got = torch.cat(list(split.iter_batches(512, seed=0, epoch=1)))
    assert got.device.type == "cuda"
    p = sample_params_torch(ReferencePrior(), 2000, epoch_generator(0, 1, "cuda"))
    v = rotation_curves({k: t.cpu().numpy() for k, t in p.items()}, RADII).v_circ
    np.testing.assert_allclose(got.cpu().numpy(), (np.log10(v) - NORM.mean) / NORM.std, rtol=0, atol=2e-6)
    result = _fit(tmp_path / "run", train={"device": "cuda"})
    assert result.stop_reason == "completed"


def test_lock_before_reference_and_overwrite_by_a_file_run(tmp_path):
    # a second run on a folder in use is refused before it writes reference.h5
    from rotcurve.errors import OutputLockedError
    from rotcurve.io.lock import output_lock
    from rotcurve.testing import write_curves
    from rotcurve.training import fit

    run = tmp_path / "run"
    with output_lock(run):
        import threading

        caught = []

        def other():
            try:
                _fit(run)
            except OutputLockedError as exc:
                caught.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join(60)
    assert caught and not (run / "reference.h5").exists()
    # a simulated run replaced by a file-trained one keeps no stale reference.h5
    _fit(run)
    assert (run / "reference.h5").is_file()
    write_curves(tmp_path / "c.h5", 120, radii=np.geomspace(0.1, 50.0, 12))
    fit(tmp_path / "c.h5", run, model=TINY_MODEL, train={"epochs": 1, "batch_size": 60, "device": "cpu"},
        overwrite=True, progress=False)
    assert not (run / "reference.h5").exists()
