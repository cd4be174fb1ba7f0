"""Fixtures for the training tests: small physical curve files and tiny runs."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.testing import write_curves as _write_curves

#: A model small enough to train in a fraction of a second.
TINY_MODEL = {"hidden": [32, 16], "latent_dim": 2}
#: A few short epochs.
TINY_TRAIN = {"epochs": 3, "batch_size": 64, "lr": 3e-3, "device": "cpu", "eval_batch_size": 128}


def write_curves(path, n: int = 500, *, seed: int = 0, radii=None, params: bool = True):
    """Write ``n`` disc + NFW curves drawn from the reference prior; return (radii, v_circ, params)."""
    v, p = _write_curves(path, n, seed=seed, radii=radii, params=params)
    r = np.geomspace(0.1, 50.0, 24) if radii is None else np.asarray(radii, dtype=float)
    return r, v.astype(np.float32), p


@pytest.fixture(name="write_curves")
def write_curves_fixture():
    """The :func:`write_curves` helper."""
    return write_curves


@pytest.fixture
def curves(tmp_path):
    """A 500-curve file on 24 radii."""
    path = tmp_path / "curves.h5"
    write_curves(path)
    return path


@pytest.fixture
def fit_tiny():
    """``fit_tiny(spec, run_dir, **train_overrides)``: a tiny, quiet run."""
    from rotcurve.training import fit

    def run(spec, run_dir, *, model=None, resume=False, overwrite=False, stop_after=None, storage="auto", **train):
        return fit(
            spec,
            run_dir,
            model={**TINY_MODEL, **(model or {})},
            train={**TINY_TRAIN, **train},
            storage=storage,
            resume=resume,
            overwrite=overwrite,
            stop_after=stop_after,
            progress=False,
        )

    return run
