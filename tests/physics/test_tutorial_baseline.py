"""bench/baseline.py (the tutorial's per-curve loop) computes the same curves."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rotcurve.physics import rotation_curves

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.baseline import baseline_curves  # noqa: E402


def test_baseline_agrees_with_rotcurve(reference_params):
    p = {k: v[:50] for k, v in reference_params.items()}
    radii = np.logspace(-1, np.log10(50.0), 50)
    base = baseline_curves(p["Md"], p["Rd"], p["Mh"], p["c"], radii)
    ref = rotation_curves(p, radii, method="exact")
    for b, r in zip(base, ref):
        assert b.shape == r.shape == (50, 50)
        np.testing.assert_allclose(b, r, rtol=2e-9)


def test_baseline_loses_the_disc_when_i0_overflows():
    """The tutorial's unscaled i0 * k0 is inf * 0 beyond y ~ 713; nan_to_num makes v_disc 0."""
    radii = np.array([2.0 * 700.0, 2.0 * 720.0])  # y = 700, 720 for Rd = 1
    _, v_disc, _ = baseline_curves([1e10], [1.0], [1e12], [10.0], radii)
    exact = rotation_curves({"Md": 1e10, "Rd": 1.0, "Mh": 1e12, "c": 10.0}, radii).v_disc
    np.testing.assert_allclose(v_disc[0, 0], exact[0, 0], rtol=1e-9)
    assert v_disc[0, 1] == 0.0 and exact[0, 1] > 5.0
