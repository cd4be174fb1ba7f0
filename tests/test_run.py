"""The run API: physical units in and out, metrics against independent computations."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rotcurve.errors import CheckpointError, ConfigError, DataError
from rotcurve.run import SAMPLE_SOURCES, load_run
from rotcurve.testing import write_curves

RADII = np.geomspace(0.1, 50.0, 24)


def _write(path, n=500, seed=0, radii=RADII):
    v, p = write_curves(path, n, seed=seed, radii=radii)
    return v.astype(np.float32), p


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from rotcurve.training import fit

    root = tmp_path_factory.mktemp("run")
    v, p = _write(root / "curves.h5")
    fit(
        root / "curves.h5",
        root / "run",
        model={"hidden": [32, 16], "latent_dim": 2},
        train={"epochs": 6, "batch_size": 64, "lr": 1e-2, "device": "cpu"},
        progress=False,
    )
    return root, v, p


@pytest.fixture(scope="module")
def run(trained):
    return load_run(trained[0] / "run")


def test_loads_best_and_last(trained, run):
    root = trained[0]
    assert run.kind == "curves" and run.latent_dim == 2
    np.testing.assert_array_equal(run.radii, RADII)
    last = load_run(root / "run", which="last")
    assert last.epoch == 6 and last.checkpoint.name == "last.pt"
    assert load_run(root / "run" / "checkpoints" / "last.pt").epoch == 6
    assert "Run" in repr(run)


def test_encode_matches_the_model_on_normalised_data(trained, run):
    v = trained[1][:50]
    enc = run.encode(v)
    assert enc.mean.shape == (50, 2) and enc.covariance.shape == (50, 2, 2) and len(enc) == 50
    x = torch.as_tensor(run.normaliser.transform(v.astype(np.float64)), dtype=torch.float32)
    with torch.no_grad():
        post = run.model.encode(x)
    np.testing.assert_allclose(enc.mean, post.mean.double().numpy(), rtol=1e-5, atol=1e-6)
    # covariances are symmetric positive definite
    np.testing.assert_allclose(enc.covariance, enc.covariance.transpose(0, 2, 1), atol=1e-12)
    assert (np.linalg.eigvalsh(enc.covariance) > 0).all()
    # batching does not change the answer
    np.testing.assert_allclose(run.encode(v, batch_size=7).mean, enc.mean, rtol=1e-5, atol=1e-6)


def test_reconstruct_is_decode_of_the_posterior_mean(trained, run):
    v = trained[1][:40]
    rec = run.reconstruct(v)
    np.testing.assert_allclose(rec, run.decode(run.encode(v).mean), rtol=1e-5)
    assert rec.shape == v.shape and (rec > 0).all()
    # it has learned: far better than the best constant guess (the mean log10 v per radius)
    constant = 10.0 ** run.normaliser.mean
    assert np.median(np.abs(rec - v) / v) < 0.5 * np.median(np.abs(constant - v) / v)


def test_sample_is_seeded_physical_and_registry_based(run):
    a = run.sample(20, seed=3)
    assert a.shape == (20, 24) and np.isfinite(a).all() and (a > 0).all()
    np.testing.assert_array_equal(a, run.sample(20, seed=3))
    assert not np.array_equal(a, run.sample(20, seed=4))
    assert run.sample(0).shape == (0, 24)
    assert "prior" in SAMPLE_SOURCES
    with pytest.raises(ConfigError, match="unknown sample source"):
        run.sample(3, source="aggregate-typo")


def test_score_on_the_training_file_uses_the_test_split(trained, run):
    from rotcurve.datasets.splits import split_indices

    root, v, _ = trained
    s = run.score(root / "curves.h5")
    assert s["split"] == "test" and s["same_as_training"] and s["n"] == 50
    test_rows = split_indices(500, 0, (0.8, 0.1, 0.1))["test"]
    truth = v[test_rows].astype(np.float64)
    rec = run.reconstruct(truth)
    rms = np.sqrt(np.mean((rec - truth) ** 2))
    frac = np.abs(rec - truth) / truth
    assert s["rms_kms"] == pytest.approx(rms, rel=1e-5)
    assert s["median_frac_error"] == pytest.approx(np.median(frac), rel=1e-4)
    assert s["p95_frac_error"] == pytest.approx(np.quantile(frac, 0.95), rel=1e-4)
    assert s["p99_max_frac_error"] == pytest.approx(np.quantile(frac.max(1), 0.99), rel=1e-4)
    assert s["max_frac_error"] == pytest.approx(frac.max(), rel=1e-4)
    assert s["neg_elbo"] == pytest.approx(s["recon"] + s["kl"], rel=1e-6)
    assert s["kl"] > 0
    # the held-out ELBO agrees with the model's own per-example bound up to the draw
    x = torch.as_tensor(run.normaliser.transform(truth), dtype=torch.float32)
    with torch.no_grad():
        nll = run.model.nll(x, n_samples=64).mean().item()
    assert s["neg_elbo"] == pytest.approx(nll, rel=0.05, abs=2.0)
    json.dumps(s)  # plain JSON types
    val = run.score(root / "curves.h5", split="val")
    assert val["split"] == "val" and val["n"] == 50


def test_score_on_another_file_scores_every_row(trained, run, tmp_path):
    _write(tmp_path / "other.h5", n=30, seed=9)
    s = run.score(tmp_path / "other.h5")
    assert s["split"] == "all" and s["n"] == 30 and not s["same_as_training"]
    arr = run.score(trained[1][:30])
    assert arr["n"] == 30 and arr["data"] == "array"


def test_other_radius_grid_names_both(run, tmp_path):
    _write(tmp_path / "coarse.h5", n=10, radii=np.geomspace(0.2, 40.0, 24))
    with pytest.raises(DataError, match=r"different radius grid.*24 radii from 0.1 to 50 kpc"):
        run.score(tmp_path / "coarse.h5")
    _write(tmp_path / "short.h5", n=10, radii=np.geomspace(0.1, 50.0, 12))
    with pytest.raises(DataError, match="has 12 radii but the model was trained on 24 radii"):
        run.score(tmp_path / "short.h5")
    with pytest.raises(DataError, match=r"do not fit the model's 24 radii"):
        run.encode(np.ones((3, 12)))
    with pytest.raises(DataError, match="finite and > 0"):
        run.encode(-np.ones((3, 24)))
    with pytest.raises(DataError, match="do not fit d = 2"):
        run.decode(np.zeros((3, 5)))


def test_files_written_by_the_run(trained, run, tmp_path):
    import h5py

    from rotcurve.errors import OutputExistsError
    from rotcurve.io import read_dataset

    root, v, p = trained
    out = run.encode_file(root / "curves.h5", tmp_path / "lat.h5")
    with h5py.File(out) as f:
        assert f.attrs["format"] == "rotcurve-latents"
        np.testing.assert_allclose(f["latent/mean"][:], run.encode(v).mean, rtol=1e-6)
        assert f["latent/covariance"].shape == (500, 2, 2)
        np.testing.assert_array_equal(f["params/Md"][:], p["Md"])
        np.testing.assert_array_equal(f["radii"][:], RADII)
    rec = read_dataset(run.reconstruct_file(root / "curves.h5", tmp_path / "rec.h5"))
    np.testing.assert_allclose(rec.v_circ, run.reconstruct(v), rtol=1e-6)
    np.testing.assert_array_equal(rec.params["c"].to_numpy(), p["c"])
    sam = read_dataset(run.sample_file(25, tmp_path / "s.h5", seed=2))
    assert sam.params is None and sam.attrs["seed"] == 2
    np.testing.assert_allclose(sam.v_circ, run.sample(25, seed=2), rtol=1e-6)
    before = (tmp_path / "s.h5").read_bytes()
    with pytest.raises(OutputExistsError):
        run.sample_file(5, tmp_path / "s.h5")
    assert (tmp_path / "s.h5").read_bytes() == before
    assert sorted(q.name for q in tmp_path.iterdir()) == ["lat.h5", "rec.h5", "s.h5"]


def test_load_errors(trained, tmp_path):
    root = trained[0]
    with pytest.raises(DataError, match="no such run folder"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a rotcurve run folder"):
        load_run(tmp_path / "empty")
    with pytest.raises(ConfigError, match="unknown checkpoint 'worst'"):
        load_run(root / "run", which="worst")
    bad = tmp_path / "bad" / "checkpoints"
    bad.mkdir(parents=True)
    (bad / "best.pt").write_bytes((root / "run" / "checkpoints" / "best.pt").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="corrupted or truncated"):
        load_run(tmp_path / "bad")


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    from rotcurve.datasets.idx import write_idx
    from rotcurve.training import fit

    root = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for part, n in (("train", 120), ("t10k", 40)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.random((n, 28, 28)) < labels[:, None, None] / 10).astype(np.uint8) * 255
        write_idx(root / f"{part}-images-idx3-ubyte", images)
        write_idx(root / f"{part}-labels-idx1-ubyte", labels)
    fit(
        f"mnist:{root}",
        root / "run",
        model={"hidden": [32], "latent_dim": 2},
        train={"epochs": 2, "batch_size": 32, "device": "cpu"},
        progress=False,
    )
    return root, load_run(root / "run")


def test_mnist_run_samples_images_and_scores(mnist_run, tmp_path):
    import h5py

    root, run = mnist_run
    assert run.kind == "mnist" and run.radii is None
    img = run.sample(6, seed=0)
    assert img.shape == (6, 28, 28) and img.min() >= 0 and img.max() <= 1
    out = run.sample_file(6, tmp_path / "img.h5", seed=0)
    with h5py.File(out) as f:
        assert f.attrs["format"] == "rotcurve-images"
        np.testing.assert_allclose(f["images"][:], img, rtol=1e-6)
    s = run.score(f"mnist:{root}")
    assert s["n"] == 40 and s["split"] == "test" and "rms_kms" not in s
    assert s["neg_elbo"] == pytest.approx(s["recon"] + s["kl"], rel=1e-6)
    # uint8 images are scaled to [0, 1]
    u8 = (np.ones((2, 28, 28)) * 255).astype(np.uint8)
    np.testing.assert_allclose(run.encode(u8).mean, run.encode(np.ones((2, 784))).mean, rtol=1e-6)
    with pytest.raises(DataError, match="holds rotation curves but the run was trained on MNIST"):
        run.score(mnist_run[0] / "run" / "config.json")
    lat = run.encode_file(f"mnist:{root}", tmp_path / "lat.h5", split="test")
    with h5py.File(lat) as f:
        assert f["latent/mean"].shape == (40, 2) and f["labels"].shape == (40,)
        assert "radii" not in f
    with pytest.raises(DataError, match="needs a curve run"):
        run.reconstruct_file(f"mnist:{root}", tmp_path / "rec.h5")
