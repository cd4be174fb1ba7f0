"""Shared fixtures for the file-format tests: small realistic curves."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.generator import RadiiSpec, ReferencePrior


@pytest.fixture(scope="session")
def curves():
    """300 reference-prior galaxies on the default grid (float64 physics output)."""
    from rotcurve.physics import rotation_curves

    params = ReferencePrior().sample(300, np.random.default_rng(2024))
    radii = RadiiSpec().grid()
    rc = rotation_curves(params, radii)
    return {
        "radii": radii,
        "v_circ": rc.v_circ,
        "v_disc": rc.v_disc,
        "v_halo": rc.v_halo,
        "params": params,
    }


@pytest.fixture
def attrs():
    return {
        "seed": 7,
        "H0": 70.0,
        "Delta": 200.0,
        "prior": ReferencePrior(),
        "radii_spec": RadiiSpec(),
    }
