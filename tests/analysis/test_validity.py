"""Physical validity of curves: exact model curves are valid, unphysical ones are not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rotcurve.analysis.validity import ValidityResult, physical_validity
from rotcurve.errors import ConfigError, DataError
from rotcurve.generator.priors import ReferencePrior
from rotcurve.physics import rotation_curves

RADII = np.logspace(-1, np.log10(50.0), 40)


def _curves(n: int, seed: int) -> np.ndarray:
    return rotation_curves(ReferencePrior().sample(n, np.random.default_rng(seed)), RADII).v_circ


def test_model_curves_are_valid() -> None:
    res = physical_validity(_curves(200, 0), RADII, seed=1)
    assert isinstance(res, ValidityResult)
    assert res.n == 200
    assert res.fraction_within == {0.01: 1.0, 0.02: 1.0}
    assert res.rms_frac.max() < 1e-4
    assert res.params.shape == (200, 4)


def test_fractions_count_curves_below_each_threshold() -> None:
    rng = np.random.default_rng(4)
    good = _curves(30, 2)
    # White noise of 5 % per point: no smooth model follows it to 2 %.
    noisy = _curves(20, 3) * (1 + 0.05 * rng.standard_normal((20, RADII.size)))
    res = physical_validity(np.concatenate([good, noisy]), RADII, seed=0, thresholds=(0.005, 0.02, 0.2))
    assert res.fraction_within[0.005] == pytest.approx(30 / 50)
    assert res.fraction_within[0.02] == pytest.approx(30 / 50)
    assert res.fraction_within[0.2] == 1.0
    assert np.all(res.rms_frac[30:] > 0.02)
    # the fractions agree with the per-curve residuals
    for t, frac in res.fraction_within.items():
        assert frac == np.mean(res.rms_frac <= t)


def test_unphysical_shapes_are_not_within_one_percent() -> None:
    logr = np.log(RADII)
    bump = 40.0 + 160.0 * np.exp(-0.5 * ((logr - 1.5) / 0.2) ** 2)
    step = np.where(RADII < 5.0, 100.0, 200.0)
    res = physical_validity(np.stack([bump, step]), RADII, seed=0)
    assert res.fraction_within[0.01] == 0.0


def test_summary_is_json_ready() -> None:
    res = physical_validity(_curves(20, 5), RADII, seed=0)
    summary = json.loads(json.dumps(res.summary()))
    assert summary["n"] == 20
    assert summary["fraction_within"] == {"0.01": 1.0, "0.02": 1.0}
    assert set(summary["rms_frac_quantiles"]) == {"0.5", "0.9", "0.99", "1.0"}


def test_bad_input() -> None:
    with pytest.raises(ConfigError, match="thresholds"):
        physical_validity(_curves(2, 0), RADII, thresholds=(0.0,))
    with pytest.raises(ConfigError, match="thresholds"):
        physical_validity(_curves(2, 0), RADII, thresholds=())
    with pytest.raises(DataError, match="shape"):
        physical_validity(_curves(2, 0)[:, :-1], RADII)
    with pytest.raises(DataError, match="positive"):
        physical_validity(-_curves(2, 0), RADII)
