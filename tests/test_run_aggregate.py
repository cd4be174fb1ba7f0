"""Aggregate latent samplers of a run: fitted to the training latents, cached as JSON, seeded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rotcurve.errors import ConfigError, DataError
from rotcurve.run import SAMPLE_SOURCES, Encoded, load_run

RADII = np.geomspace(0.1, 50.0, 16)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from rotcurve.generator import resolve_prior
    from rotcurve.io import write_dataset
    from rotcurve.physics import rotation_curves
    from rotcurve.training import fit

    root = tmp_path_factory.mktemp("agg")
    p = resolve_prior("reference").sample(400, np.random.default_rng(0))
    v = rotation_curves(p, RADII).v_circ
    write_dataset(root / "curves.h5", radii=RADII, v_circ=v, params=p)
    fit(root / "curves.h5", root / "run", model={"hidden": [16], "latent_dim": 2},
        train={"epochs": 3, "batch_size": 50, "device": "cpu"}, progress=False)
    return root, v.astype(np.float32)


def _cache(root):
    return root / "run" / "aggregate-best.json"


def test_aggregates_are_fitted_to_the_training_latents_and_cached(trained):
    from rotcurve.datasets.splits import split_indices

    root, v = trained
    _cache(root).unlink(missing_ok=True)
    run = load_run(root / "run")
    aggs = run.aggregates()
    assert _cache(root).exists() and aggs.path == _cache(root)
    # the Gaussian is the sample mean and covariance of the encoded training split, computed here independently
    rows = split_indices(400, 0, (0.8, 0.1, 0.1))
    z_train = run.encode(v[rows["train"]]).mean
    gauss = aggs.models["gaussian"]
    np.testing.assert_allclose(gauss.mean, z_train.mean(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gauss.covariance, np.cov(z_train, rowvar=False), rtol=1e-4, atol=1e-8)
    assert aggs.info["n_fit"] == 320 and aggs.info["n_val"] == 40
    # the choice is the better held-out density, and the numbers are what the models say
    z_val = run.encode(v[rows["val"]]).mean
    for kind in ("prior", "gaussian", "gmm"):
        assert aggs.val_log_density[kind] == pytest.approx(np.mean(aggs.models[kind].log_density(z_val)), rel=1e-6)
    assert aggs.choice == max(("gaussian", "gmm"), key=aggs.val_log_density.get)
    assert run.aggregate("aggregate") is aggs.models[aggs.choice]
    record = json.loads(_cache(root).read_text())
    assert record["format"] == "rotcurve-aggregates" and record["checkpoint"] == "best.pt"
    assert set(record["models"]) == {"prior", "gaussian", "gmm"} and record["fit_seed"] == 0
    with pytest.raises(ConfigError, match="unknown latent aggregate"):
        aggs.get("flow")


def test_samples_are_reproducible_by_seed_across_loads(trained):
    root, _ = trained
    run = load_run(root / "run")
    a = run.sample(30, seed=5, source="aggregate")
    np.testing.assert_array_equal(a, run.sample(30, seed=5, source="aggregate"))
    assert not np.array_equal(a, run.sample(30, seed=6, source="aggregate"))
    mtime = _cache(root).stat().st_mtime_ns
    fresh = load_run(root / "run")  # loads the cache, does not refit
    np.testing.assert_array_equal(fresh.sample(30, seed=5, source="aggregate"), a)
    assert _cache(root).stat().st_mtime_ns == mtime
    # decode(sample_latents) is sample, and the latents come from the chosen model
    z = fresh.sample_latents(30, seed=5, source="aggregate")
    np.testing.assert_allclose(fresh.decode(z), a, rtol=1e-6)
    agg = fresh.aggregate("aggregate")
    assert np.mean(agg.log_density(z)) > np.mean(fresh.aggregate("prior").log_density(z)) - 5.0
    for source in ("prior", "gaussian", "gmm"):
        assert source in SAMPLE_SOURCES
        out = fresh.sample(7, seed=1, source=source)
        assert out.shape == (7, 16) and np.isfinite(out).all() and (out > 0).all()
    assert fresh.sample_latents(0, source="gmm").shape == (0, 2)


def test_stale_or_damaged_cache_is_refitted(trained, caplog):
    import logging

    from rotcurve.run.aggregates import models_digest

    root, _ = trained
    run = load_run(root / "run")
    choice = run.aggregates().choice
    record = json.loads(_cache(root).read_text())
    assert record["models_sha256"] == models_digest(record["models"]) and record["format_version"] == 2
    record["checkpoint_sha256"] = "0" * 64  # another checkpoint: the cache no longer applies
    _cache(root).write_text(json.dumps(record))
    with caplog.at_level(logging.INFO, logger="rotcurve.run"):
        again = load_run(root / "run").aggregates()
    assert again.choice == choice and "for another checkpoint" in caplog.text
    assert json.loads(_cache(root).read_text())["checkpoint_sha256"] != "0" * 64
    # a value altered in place: the digest no longer matches, the density is fitted again
    record = json.loads(_cache(root).read_text())
    record["models"]["gaussian"]["mean"] = [99.0, 99.0]
    _cache(root).write_text(json.dumps(record))
    caplog.clear()
    again = load_run(root / "run").aggregates()
    assert np.abs(again.models["gaussian"].mean).max() < 50
    assert "damaged (the models do not match their models_sha256" in caplog.text
    caplog.clear()
    _cache(root).write_text("{ not json")
    load_run(root / "run").aggregates()
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "damaged (unreadable: JSONDecodeError" in line and line.endswith("fitting it again from the training data")
    assert json.loads(_cache(root).read_text())["format"] == "rotcurve-aggregates"
    # another fit seed is another fit (and the cache follows it); the default is the run's training seed
    assert json.loads(_cache(root).read_text())["fit_seed"] == run.train_config.seed
    other = load_run(root / "run").aggregates(fit_seed=3)
    assert other.info["fit_seed"] == 3


def test_missing_or_changed_training_file_is_a_clear_error(trained, tmp_path):
    import shutil

    from rotcurve.io import write_dataset

    root, v = trained
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    (copy / "run" / "aggregate-best.json").unlink(missing_ok=True)
    run = load_run(copy / "run")
    run.data["spec"] = str(copy / "gone.h5")
    with pytest.raises(DataError, match="training file .*gone.h5 is not there"):
        run.sample(5, source="aggregate")
    write_dataset(copy / "other.h5", radii=RADII, v_circ=v[::-1].copy())
    run.data["spec"] = str(copy / "other.h5")
    with pytest.raises(DataError, match="has changed since the run was trained"):
        run.aggregates()
    # the prior needs no data, and the message says so in the caller's wording
    with pytest.raises(DataError, match='source="prior"'):
        run.sample(5)
    assert run.sample(3, seed=0, source="prior").shape == (3, 16)


def test_encoded_sample_draws_from_each_posterior():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3, 3))
    cov = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(3)
    mean = rng.normal(size=(2, 3))
    enc = Encoded(mean=mean, covariance=cov)
    draws = enc.sample(40000, seed=1)
    assert draws.shape == (2, 40000, 3)
    for i in range(2):
        np.testing.assert_allclose(draws[i].mean(axis=0), mean[i], atol=0.05 * np.sqrt(cov[i].diagonal().max()))
        np.testing.assert_allclose(np.cov(draws[i], rowvar=False), cov[i], atol=0.03 * np.abs(cov[i]).max())
    np.testing.assert_array_equal(draws, enc.sample(40000, seed=1))
    point = Encoded(mean=mean, covariance=np.zeros((2, 3, 3))).sample(4, seed=0)  # an autoencoder
    np.testing.assert_array_equal(point, np.repeat(mean[:, None, :], 4, axis=1))
    with pytest.raises(ConfigError, match=">= 1"):
        enc.sample(0)
