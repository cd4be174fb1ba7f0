"""The NFW halo against its density profile, published numbers and mpmath."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize

from rotcurve.errors import ConfigError
from rotcurve.physics import NFWHalo, nfw_f, nfw_mass_fraction, r_delta
from rotcurve.physics.halo import U_SERIES
from rotcurve.units import G, hubble_kpc


def test_nfw_f_matches_mpmath_without_cancellation(mp_nfw):
    u = np.concatenate([np.logspace(-12, 6, 361), U_SERIES * np.array([0.999999, 1.0, 1.000001, 1.1, 1.6])])
    ref = np.array([mp_nfw(x) for x in u])
    rel = np.abs(nfw_f(u) / ref - 1.0)
    # the direct formula loses ~1.5 eps / u; the series takes over below U_SERIES = 1e-4
    assert rel.max() < 4e-12, f"worst u = {u[rel.argmax()]}: {rel.max():.2e}"
    assert rel[u > 1e-3].max() < 4e-13


def test_nfw_f_small_u_series_and_zero():
    assert nfw_f(0.0) == 0.0
    assert np.ndim(nfw_f(0.5)) == 0
    u = np.array([1e-300, 1e-150, 1e-20])
    np.testing.assert_allclose(nfw_f(u), u * u / 2.0, rtol=1e-15)
    assert nfw_f(np.zeros((2, 3))).shape == (2, 3)


def test_vmax_radius_is_2_1625816_rs():
    """d(f(u)/u)/du = 0 at u = 2.1625816 (e.g. Bullock et al. 2001)."""
    # f(u)/u is maximal where u f'(u) = f(u), f'(u) = u / (1 + u)^2
    u_max = optimize.brentq(lambda u: u * u / (1 + u) ** 2 - float(nfw_f(u)), 1.0, 4.0, xtol=1e-15, rtol=1e-15)
    assert u_max == pytest.approx(2.1625816, abs=5e-8)
    # directly on a halo's velocity curve
    mh, c = 1e12, 9.0
    halo = NFWHalo()
    rs = float(r_delta(mh)) / c
    res = optimize.minimize_scalar(
        lambda r: -halo.v(np.array([r]), Mh=mh, c=c)[0, 0],
        bounds=(0.5 * rs, 5.0 * rs),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert res.x / rs == pytest.approx(2.1625816, abs=1e-6)


@pytest.mark.parametrize(("mh", "c", "H0", "Delta"), [(1e12, 10.0, 70.0, 200.0), (3e10, 20.0, 67.7, 500.0)])
def test_v2_is_G_M_enclosed_over_r_from_the_density(mh, c, H0, Delta):
    """Integrate 4 pi r^2 rho(r) numerically, normalised so M(<R_Delta) = Mh."""
    halo = NFWHalo(H0=H0, Delta=Delta)
    rdelta = float(halo.r_delta(mh))
    rs = rdelta / c

    def shell(r: float) -> float:  # 4 pi r^2 rho(r) / rho_s
        x = r / rs
        return 4.0 * np.pi * r * r / (x * (1.0 + x) ** 2)

    def enclosed(r: float) -> float:
        return integrate.quad(shell, 0.0, r, epsabs=0.0, epsrel=1e-13, limit=200)[0]

    norm = mh / enclosed(rdelta)
    radii = np.array([0.01, 0.3, 2.0, rs, 40.0, rdelta, 3.0 * rdelta])
    expected = np.array([G * norm * enclosed(r) / r for r in radii])
    np.testing.assert_allclose(halo.v2(radii, Mh=mh, c=c)[0], expected, rtol=1e-10)
    np.testing.assert_allclose(nfw_mass_fraction(radii / rdelta, c), norm * np.array([enclosed(r) for r in radii]) / mh, rtol=1e-10)


@pytest.mark.parametrize(("H0", "Delta"), [(70.0, 200.0), (67.4, 200.0), (70.0, 500.0), (100.0, 101.1)])
def test_r_delta_encloses_delta_times_critical_density(H0, Delta):
    mh = np.array([1e8, 1e11, 1e12, 1e15])
    rd = r_delta(mh, H0=H0, Delta=Delta)
    h = hubble_kpc(H0)  # km/s/kpc
    rho_crit = 3.0 * h**2 / (8.0 * np.pi * G)  # Msun / kpc^3
    mean_density = mh / (4.0 / 3.0 * np.pi * rd**3)
    np.testing.assert_allclose(mean_density, Delta * rho_crit, rtol=1e-13)


def test_r200_special_forms():
    """R200 = (G M / (100 H^2))^(1/3) and V200 = 10 H R200; ~206 kpc for 1e12 Msun at H0 = 70."""
    mh = 1e12
    h = 70.0 / 1000.0
    r200 = float(r_delta(mh))
    assert r200 == pytest.approx((G * mh / (100 * h * h)) ** (1 / 3), rel=1e-14)
    v200 = np.sqrt(G * mh / r200)
    assert v200 == pytest.approx(10.0 * h * r200, rel=1e-13)
    assert r200 == pytest.approx(206.3, abs=0.1)
    # the halo curve passes through V200 at R200
    assert NFWHalo().v(np.array([r200]), Mh=mh, c=7.0)[0, 0] == pytest.approx(v200, rel=1e-13)


def test_halo_v2_zero_radius_and_shapes():
    v2 = NFWHalo().v2(np.array([0.0, 1.0, 0.0]), Mh=[1e11, 1e12], c=10.0)
    assert v2.shape == (2, 3)
    assert np.all(v2[:, [0, 2]] == 0.0) and np.all(v2[:, 1] > 0.0)
    # small radii: M(<r) ~ r^2, so v2 ~ r: v2(r)/r flat
    r = np.array([1e-9, 1e-7, 1e-5])
    ratio = NFWHalo().v2(r, Mh=1e12, c=10.0)[0] / r
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)


def test_halo_cosmology_validation():
    for bad in (0.0, -70.0, np.nan, np.inf, "70"):
        with pytest.raises(ConfigError, match="H0 must be"):
            NFWHalo(H0=bad)
        with pytest.raises(ConfigError, match="Delta must be"):
            r_delta(1e12, Delta=bad)
