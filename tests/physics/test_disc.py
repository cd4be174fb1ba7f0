"""The exponential disc against mpmath, published numbers and its limits."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from scipy import optimize

from rotcurve.errors import ConfigError
from rotcurve.physics import ExponentialDisc, disc_shape, disc_shape_dlogy
from rotcurve.physics.disc import Y_ASYMPTOTIC, disc_table
from rotcurve.units import G

METHODS = ["exact", "fast"]


@pytest.mark.parametrize("method", METHODS)
def test_disc_shape_matches_mpmath(method, disc_reference):
    y, ref = disc_reference
    g = disc_shape(y, method=method)
    assert np.all(np.isfinite(g))
    rel = np.abs(g / ref - 1.0)
    assert rel.max() <= 1e-9, f"worst y = {y[rel.argmax()]}: {rel.max():.2e}"


def test_fast_path_at_table_midpoints_matches_mpmath():
    """Hermite interpolation error is largest mid-interval; sample those points."""
    table = disc_table()
    k = np.arange(3, table.n, 53)
    y = np.exp(table.t0 + (k + 0.5) / table.inv_h)
    ref = np.array([float(mp_ref) for mp_ref in map(_mp_g, y)])
    rel = np.abs(disc_shape(y, method="fast") / ref - 1.0)
    assert rel.max() <= 1e-9


def _mp_g(y: float) -> mp.mpf:
    with mp.workdps(40):
        v = mp.mpf(float(y))
        return v * v * (mp.besseli(0, v) * mp.besselk(0, v) - mp.besseli(1, v) * mp.besselk(1, v))


@pytest.mark.parametrize("method", METHODS)
def test_disc_shape_edges(method):
    y = np.array([0.0, 1e-300, 5e-324, 1e-8, 1e8, 1e200, 1e300, np.inf])
    g = disc_shape(y, method=method)
    assert g[0] == 0.0
    assert g[-1] == 0.0
    assert np.all(np.isfinite(g)) and np.all(g >= 0.0)
    # far tail: g = 1/(4y) (1 + 9/(8 y^2)); at y >= 1e8 the correction is < 1e-16
    np.testing.assert_allclose(g[4:7], 0.25 / y[4:7], rtol=1e-15)
    # small y: g ~ y^2 (ln(2/y) - gamma - 1/2)
    small = y[3]
    expected = small**2 * (np.log(2.0 / small) - np.euler_gamma - 0.5)
    np.testing.assert_allclose(g[3], expected, rtol=1e-7)


@pytest.mark.parametrize("method", METHODS)
def test_disc_shape_keeps_shape_and_nan(method):
    y = np.array([[0.5, np.nan], [2.0, 3.0]])
    g = disc_shape(y, method=method)
    assert g.shape == (2, 2)
    assert np.isnan(g[0, 1]) and np.all(np.isfinite(g[[0, 1, 1], [0, 0, 1]]))
    assert np.ndim(disc_shape(1.0, method=method)) == 0


def test_disc_shape_rejects_negative_and_unknown_method():
    with pytest.raises(ConfigError, match="y >= 0"):
        disc_shape([1.0, -1.0])
    with pytest.raises(ConfigError, match="y >= 0"):
        disc_shape([-1.0], method="fast")
    with pytest.raises(ConfigError, match="unknown disc method"):
        disc_shape(1.0, method="spline")
    with pytest.raises(ConfigError, match="unknown disc method"):
        ExponentialDisc(method="spline")


def test_exact_path_is_continuous_at_asymptotic_switch():
    below = np.nextafter(Y_ASYMPTOTIC, 0.0)
    g = disc_shape(np.array([below, Y_ASYMPTOTIC]))
    assert abs(g[1] / g[0] - 1.0) < 1e-12


def test_log_derivative_matches_mpmath():
    # the analytic formula, checked against mpmath's numerical derivative at a few points ...
    y_few = np.array([1e-3, 0.3, 2.0, 9.0, 50.0, 1e3])
    with mp.workdps(40):
        numeric = np.array([float(mp.diff(_mp_g_t, mp.log(mp.mpf(float(v))))) for v in y_few])
    np.testing.assert_allclose(disc_shape_dlogy(y_few), numeric, rtol=1e-9)
    # ... and evaluated with mpmath Bessel functions over a wide range
    y = np.logspace(-6, 6, 49)
    ref = np.array([float(_mp_dlogy(v)) for v in y])
    rel = np.abs(disc_shape_dlogy(y) / ref - 1.0)
    assert rel.max() < 1e-9


def _mp_dlogy(y: float) -> mp.mpf:
    """``2 y^2 I0 K0 + 2 y^3 (I1 K0 - I0 K1)`` at 40 digits."""
    with mp.workdps(40):
        v = mp.mpf(float(y))
        i0, i1, k0, k1 = mp.besseli(0, v), mp.besseli(1, v), mp.besselk(0, v), mp.besselk(1, v)
        return 2 * v * v * i0 * k0 + 2 * v**3 * (i1 * k0 - i0 * k1)


def _mp_g_t(t: mp.mpf) -> mp.mpf:
    v = mp.exp(t)
    return v * v * (mp.besseli(0, v) * mp.besselk(0, v) - mp.besseli(1, v) * mp.besselk(1, v))


def test_disc_peak_matches_freeman_1970():
    """R_peak = 2.1500535 Rd and V_max = 0.6221297 sqrt(G Md / Rd) (Freeman 1970; BT08 2.165)."""
    # the peak is where d g / d ln y = 0: root with brentq on our derivative
    y_peak = optimize.brentq(lambda y: float(disc_shape_dlogy(y)), 0.5, 2.0, xtol=1e-15, rtol=1e-15)
    assert 2.0 * y_peak == pytest.approx(2.1500535, abs=5e-8)
    coef = np.sqrt(2.0 * disc_shape(y_peak))
    assert coef == pytest.approx(0.6221297, abs=5e-8)
    # and directly on the velocity of a disc, with a scalar optimiser
    md, rd = 6e10, 2.7
    for method in METHODS:
        disc = ExponentialDisc(method=method)
        res = optimize.minimize_scalar(
            lambda r: -disc.v(np.array([r]), Md=md, Rd=rd)[0, 0],
            bounds=(0.5 * rd, 5.0 * rd),
            method="bounded",
            options={"xatol": 1e-9},
        )
        assert res.x / rd == pytest.approx(2.1500535, abs=1e-6)
        assert -res.fun / np.sqrt(G * md / rd) == pytest.approx(0.6221297, abs=5e-8)


@pytest.mark.parametrize("method", METHODS)
def test_keplerian_limit(method):
    """v^2 -> G Md / R (1 + 4.5 (Rd/R)^2), the deviation falling like (Rd/R)^4."""
    md, rd = 3e10, 2.0
    x = np.array([40.0, 80.0, 160.0])  # R / Rd
    v2 = ExponentialDisc(method=method).v2(x * rd, Md=md, Rd=rd)[0]
    ratio = v2 / (G * md / (x * rd))
    # the correction coefficient 4.5 (next term 84 (Rd/R)^2 relative: 5 % at x = 40)
    np.testing.assert_allclose((ratio - 1.0) * x**2, 4.5, rtol=6e-2)
    np.testing.assert_allclose((ratio[-1] - 1.0) * x[-1] ** 2, 4.5, rtol=4e-3)
    deviation = ratio - (1.0 + 4.5 / x**2)
    assert np.all(deviation > 0.0)
    # halving Rd/R divides the deviation by ~16: it scales like (Rd/R)^4 ...
    np.testing.assert_allclose(deviation[:-1] / deviation[1:], 16.0, rtol=5e-2)
    # ... with the series coefficient 675/8 (next term 41 (Rd/R)^2 relative)
    np.testing.assert_allclose(deviation * x**4, 675.0 / 8.0, rtol=4e-2)


@pytest.mark.parametrize("method", METHODS)
def test_disc_v2_formula_and_broadcasting(method):
    radii = np.array([0.0, 0.5, 3.0, 30.0])
    md = np.array([1e9, 5e10, 2e11])
    v2 = ExponentialDisc(method=method).v2(radii, Md=md, Rd=2.5)
    assert v2.shape == (3, 4) and v2.dtype == np.float64
    assert np.all(v2[:, 0] == 0.0)
    expected = 2.0 * G * md[:, None] / 2.5 * np.array([_mp_float(r / 5.0) for r in radii])[None, :]
    np.testing.assert_allclose(v2, expected, rtol=1e-9)
    # v2 is linear in Md: mass ratios carry over exactly
    np.testing.assert_allclose(v2[1:, 1:] / v2[0, 1:], np.outer(md[1:] / md[0], np.ones(3)), rtol=1e-14)


def _mp_float(y: float) -> float:
    return float(_mp_g(y)) if y > 0 else 0.0


def test_fast_path_falls_back_outside_table():
    """A disc so small that y exceeds the table: those curves use the exact path."""
    radii = np.array([1e-3, 1.0, 50.0])
    rd = np.array([2.0, 1e-6, 1e6])  # y up to 2.5e7 and down to 5e-10
    fast = ExponentialDisc(method="fast").v2(radii, Md=1e10, Rd=rd)
    exact = ExponentialDisc(method="exact").v2(radii, Md=1e10, Rd=rd)
    np.testing.assert_allclose(fast, exact, rtol=1e-9)
    for i, r in enumerate(rd):
        ref = [2 * G * 1e10 / r * float(_mp_g(R / (2 * r))) for R in radii]
        np.testing.assert_allclose(fast[i], ref, rtol=1e-9)
