"""Fixtures of the command-line tests: tiny trained runs."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.testing import write_curves


@pytest.fixture(scope="session")
def make_tiny_run(tmp_path_factory):
    """``make_tiny_run(name, *, n, radii, latent_dim, seed) -> folder`` holding
    ``curves.h5`` (n reference-prior curves) and ``run/`` (2 epochs, one 16-wide layer)."""
    from rotcurve.training import fit

    def make(name, *, n=200, radii=np.geomspace(0.1, 50.0, 16), latent_dim=2, seed=0):
        root = tmp_path_factory.mktemp(name)
        write_curves(root / "curves.h5", n, radii=radii)
        train = {"epochs": 2, "batch_size": 50, "device": "cpu", "seed": seed}
        fit(root / "curves.h5", root / "run", model={"hidden": [16], "latent_dim": latent_dim},
            train=train, progress=False)
        return root

    return make
