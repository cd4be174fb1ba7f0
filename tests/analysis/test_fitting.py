"""Batched disc-plus-halo fits: the model, its Jacobian, recovery of known curves, bad input."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pandas as pd
import pytest

from rotcurve.analysis import fitting
from rotcurve.analysis.fitting import DEFAULT_LOG10_BOUNDS, PARAM_NAMES, fit_rotation_curves
from rotcurve.errors import ConfigError, DataError
from rotcurve.generator.priors import ReferencePrior
from rotcurve.physics import rotation_curves
from rotcurve.units import G, hubble_kpc

RADII = np.logspace(-1, np.log10(50.0), 50)


def _mp_v(
    Md: float, Rd: float, Mh: float, c: float, R: float, H0: float = 70.0, Delta: float = 200.0
) -> float:
    """Circular velocity from the textbook formulas at 30 digits (independent of the package)."""
    mpmath.mp.dps = 30
    Md, Rd, Mh, c, R = map(mpmath.mpf, (Md, Rd, Mh, c, R))
    g_const = mpmath.mpf(G)
    y = R / (2 * Rd)
    vd2 = 2 * g_const * Md / Rd * y**2 * (
        mpmath.besseli(0, y) * mpmath.besselk(0, y) - mpmath.besseli(1, y) * mpmath.besselk(1, y)
    )
    h = mpmath.mpf(H0) / 1000
    r_delta = mpmath.cbrt(2 * g_const * Mh / (mpmath.mpf(Delta) * h**2))

    def f(u: mpmath.mpf) -> mpmath.mpf:
        return mpmath.log(1 + u) - u / (1 + u)

    vh2 = g_const * Mh / R * f(c * R / r_delta) / f(c)
    return float(mpmath.sqrt(vd2 + vh2))


def _prior_sample(n: int, seed: int) -> dict[str, np.ndarray]:
    return ReferencePrior().sample(n, np.random.default_rng(seed))


def _model_v(params: dict, radii: np.ndarray, **cosmology: float) -> np.ndarray:
    """The fit's model velocity (km/s) at physical parameters, (N, n_r)."""
    theta = np.log10(np.column_stack([np.broadcast_to(np.asarray(params[k], float), (np.size(params["c"]),))
                                      for k in PARAM_NAMES]))
    lnv, _ = fitting._model(theta, np.asarray(radii, float), H0=cosmology.get("H0", 70.0),
                            Delta=cosmology.get("Delta", 200.0), jacobian=False)
    return np.exp(lnv)


@pytest.mark.parametrize(
    "params",
    [
        (5e10, 3.0, 1e12, 10.0),
        (1e9, 0.5, 3e10, 15.0),
        (8e11, 12.0, 2e13, 5.0),
    ],
)
def test_model_matches_mpmath(params: tuple[float, float, float, float]) -> None:
    Md, Rd, Mh, c = params
    radii = np.array([0.05, 0.7, 3.0, 11.0, 48.0])
    v = _model_v({"Md": Md, "Rd": Rd, "Mh": Mh, "c": c}, radii)[0]
    expected = np.array([_mp_v(Md, Rd, Mh, c, R) for R in radii])
    np.testing.assert_allclose(v, expected, rtol=1e-9)


def test_model_matches_physics_package() -> None:
    p = _prior_sample(200, 1)
    np.testing.assert_allclose(_model_v(p, RADII), rotation_curves(p, RADII).v_circ, rtol=1e-12)
    other = _model_v(p, RADII, H0=67.0, Delta=100.0)
    np.testing.assert_allclose(other, rotation_curves(p, RADII, H0=67.0, Delta=100.0).v_circ, rtol=1e-12)


def test_halo_velocity_at_r_delta_is_virial_velocity() -> None:
    # With a negligible disc, v^2(R_Delta) = G Mh / R_Delta for every concentration.
    Mh = 1e12
    r_delta = (2.0 * G * Mh / (200.0 * hubble_kpc(70.0) ** 2)) ** (1.0 / 3.0)
    v = _model_v({"Md": 1e-3, "Rd": 1.0, "Mh": Mh, "c": np.array([3.0, 10.0, 30.0])}, [r_delta])
    np.testing.assert_allclose(v[:, 0] ** 2, G * Mh / r_delta, rtol=1e-12)


def test_jacobian_matches_central_differences() -> None:
    rng = np.random.default_rng(3)
    p = _prior_sample(40, 3)
    theta = np.log10(pd.DataFrame(p)[list(PARAM_NAMES)].to_numpy())
    theta += rng.normal(scale=0.01, size=theta.shape)
    _, jac = fitting._model(theta, RADII, H0=70.0, Delta=200.0, jacobian=True)
    h = 1e-6
    for k in range(4):
        step = np.zeros(4)
        step[k] = h
        up, _ = fitting._model(theta + step, RADII, H0=70.0, Delta=200.0, jacobian=False)
        down, _ = fitting._model(theta - step, RADII, H0=70.0, Delta=200.0, jacobian=False)
        numeric = (up - down) / (2 * h)
        # d ln v / d log10 p is at most ln(10) in size; compare on that scale.
        np.testing.assert_allclose(jac[..., k], numeric, atol=2e-6 * math.log(10.0), rtol=0)


def test_exact_curves_are_fitted_and_parameters_recovered() -> None:
    p = _prior_sample(300, 11)
    v = rotation_curves(p, RADII).v_circ
    fit = fit_rotation_curves(v, RADII, seed=0)
    assert fit.rms_frac.shape == (300,)
    assert fit.params.shape == (300, 4)
    assert list(fit.params.columns) == list(PARAM_NAMES)
    assert fit.rms_frac.max() < 1e-4
    truth = np.log10(pd.DataFrame(p)[list(PARAM_NAMES)].to_numpy())
    err = np.abs(np.log10(fit.params.to_numpy()) - truth)
    assert np.median(err) < 1e-5
    assert np.mean(err.max(axis=1) < 1e-3) >= 0.98
    # the returned model curves are the model at the returned parameters
    np.testing.assert_allclose(fit.v_fit, rotation_curves(fit.params, RADII).v_circ, rtol=1e-9)
    np.testing.assert_allclose(fit.max_frac, np.abs(fit.v_fit / v - 1).max(axis=1), rtol=1e-12)


def test_fit_is_never_worse_than_the_truth() -> None:
    # The truth is a feasible point: the best fit's RMS log residual cannot exceed it.
    p = _prior_sample(200, 5)
    rng = np.random.default_rng(5)
    v = rotation_curves(p, RADII).v_circ
    amp = 10 ** rng.uniform(-3, -1.5, size=(200, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(200, 1))
    wiggle = amp * np.sin(1.3 * np.log(RADII)[None, :] + phase)
    perturbed = v * np.exp(wiggle)
    fit = fit_rotation_curves(perturbed, RADII, seed=2)
    rms_fit = np.sqrt(np.mean(np.log(fit.v_fit / perturbed) ** 2, axis=1))
    rms_truth = np.sqrt(np.mean(wiggle**2, axis=1))
    assert np.all(rms_fit <= rms_truth * (1 + 1e-6) + 1e-9)


def test_unphysical_curves_do_not_fit() -> None:
    rng = np.random.default_rng(0)
    logr = np.log(RADII)
    bump = 50.0 + 150.0 * np.exp(-0.5 * ((logr - 1.0) / 0.25) ** 2)  # rises, then falls sharply
    noisy = 150.0 * (1.0 + 0.1 * rng.standard_normal(RADII.size))
    falling = 300.0 * (RADII / RADII[0]) ** -0.8  # falls faster than any mass model allows at small R
    fit = fit_rotation_curves(np.stack([bump, noisy, falling]), RADII, seed=0)
    assert np.all(fit.rms_frac > 0.01)


def test_seed_determinism_and_threads() -> None:
    p = _prior_sample(300, 8)
    v = rotation_curves(p, RADII).v_circ * (1 + 0.003 * np.sin(np.log(RADII)))[None, :]
    a = fit_rotation_curves(v, RADII, seed=4)
    b = fit_rotation_curves(v, RADII, seed=4)
    pd.testing.assert_frame_equal(a.params, b.params)
    c = fit_rotation_curves(v, RADII, seed=4, n_jobs=2)
    np.testing.assert_allclose(c.rms_frac, a.rms_frac, rtol=1e-6, atol=1e-12)


def test_bounds_are_respected() -> None:
    p = _prior_sample(50, 9)
    v = rotation_curves(p, RADII).v_circ
    fit = fit_rotation_curves(v, RADII, seed=0, bounds={"c": (1.2, 1.5)})
    logc = np.log10(fit.params["c"].to_numpy())
    assert np.all((logc >= 1.2) & (logc <= 1.5))
    # the reference prior puts most concentrations below 10^1.2: those fits sit on the bound
    assert fit.at_bound[:, 3].mean() > 0.5
    for name, (lo, hi) in DEFAULT_LOG10_BOUNDS.items():
        assert lo < hi, name


@pytest.mark.parametrize(
    ("curves", "message"),
    [
        (np.full((2, 49), 100.0), "shape"),
        (np.full((2, 50), -1.0), "finite and positive"),
        (np.where(np.arange(50) == 3, np.nan, 100.0)[None, :], "finite and positive"),
        (np.zeros((0, 50)), "no curves"),
    ],
)
def test_bad_curves_raise(curves: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=message):
        fit_rotation_curves(curves, RADII)


def test_bad_options_raise() -> None:
    v = np.full((1, 50), 100.0)
    with pytest.raises(ConfigError, match="bank_size"):
        fit_rotation_curves(v, RADII, bank_size=0)
    with pytest.raises(ConfigError, match="unknown bound"):
        fit_rotation_curves(v, RADII, bounds={"Mstar": (9, 12)})
    with pytest.raises(ConfigError, match="low < high"):
        fit_rotation_curves(v, RADII, bounds={"Md": (12, 9)})
    with pytest.raises(ConfigError, match="n_jobs"):
        fit_rotation_curves(v, RADII, n_jobs=0)
    with pytest.raises(ConfigError, match="sample"):
        fit_rotation_curves(v, RADII, prior="reference")
    with pytest.raises(DataError, match="radii"):
        fit_rotation_curves(v, np.linspace(0.0, 50.0, 50))


def test_cosmology_is_passed_to_the_model() -> None:
    p = _prior_sample(50, 12)
    v = rotation_curves(p, RADII, H0=67.0, Delta=100.0).v_circ
    fit = fit_rotation_curves(v, RADII, seed=0, H0=67.0, Delta=100.0)
    assert fit.rms_frac.max() < 1e-4
    np.testing.assert_allclose(fit.params["Mh"], p["Mh"], rtol=1e-3)
    # An NFW halo defined at Delta = 100 is also an NFW halo at Delta = 200, with a
    # smaller mass M_200 < M_100 (a smaller, denser sphere): still a perfect fit.
    other = fit_rotation_curves(v, RADII, seed=0, H0=67.0)
    assert np.median(other.rms_frac) < 1e-6
    assert np.all(other.params["Mh"].to_numpy() < p["Mh"])
