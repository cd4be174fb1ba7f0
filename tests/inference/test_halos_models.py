"""Halo components and models: 200c quantities, concentration conversion, distance scaling."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.inference.galaxy import Galaxy
from rotcurve.inference.halos import NFW, convert_concentration, m200_from_v200, v200_from_m200
from rotcurve.inference.models import MODELS, DiscNFWModel, SparcModel, luminosity
from rotcurve.physics import nfw_f, rotation_curves
from rotcurve.units import G


def test_v200_direct_formula():
    halo = NFW(H0=73.0)
    mh, c = np.array([1e10, 1e12]), np.array([5.0, 12.0])
    d = halo.derived({"Mh": mh, "c": c})
    h = 73.0e-3
    r200 = (G * mh / (100.0 * h * h)) ** (1 / 3)
    np.testing.assert_allclose(d["R200"], r200, rtol=1e-12)
    np.testing.assert_allclose(d["V200"], np.sqrt(G * mh / r200), rtol=1e-12)
    np.testing.assert_allclose(d["V200"], 10.0 * h * r200, rtol=1e-12)  # V200 = 10 H R200
    np.testing.assert_allclose(m200_from_v200(v200_from_m200(mh, H0=73.0), H0=73.0), mh, rtol=1e-12)
    assert np.all(d["C200"] == c) and np.all(d["M200"] == mh)


@pytest.mark.parametrize("delta", [100.0, 337.0, 500.0])
def test_other_overdensities(delta):
    halo = NFW(H0=70.0, Delta=delta)
    mh, c = np.array([3e11]), np.array([9.0])
    d = halo.derived({"Mh": mh, "c": c})
    # same profile: M200 encloses mean density 200 rho_crit at R200
    rs = halo._halo.r_delta(mh) / c
    m_in = mh * nfw_f(d["R200"] / rs) / nfw_f(c)
    np.testing.assert_allclose(m_in, d["M200"], rtol=1e-10)
    np.testing.assert_allclose(d["C200"], d["R200"] / rs, rtol=1e-10)
    back = halo.from_200(d["V200"], d["C200"])
    np.testing.assert_allclose(back["Mh"], mh, rtol=1e-9)
    np.testing.assert_allclose(back["c"], c, rtol=1e-9)
    # analytic Jacobian of (log V200, log C200) w.r.t. (log Mh, log c) against finite differences
    eps = 1e-6

    def f(lm, lc):
        dd = halo.derived({"Mh": np.array([10**lm]), "c": np.array([10**lc])})
        return np.log10(dd["V200"][0]), np.log10(dd["C200"][0])

    lm, lc = np.log10(mh[0]), np.log10(c[0])
    a, b = f(lm + eps, lc), f(lm - eps, lc)
    cc, dd = f(lm, lc + eps), f(lm, lc - eps)
    jac = np.array([[a[0] - b[0], cc[0] - dd[0]], [a[1] - b[1], cc[1] - dd[1]]]) / (2 * eps)
    assert halo.log_jacobian_200({"Mh": mh, "c": c})[0] == pytest.approx(np.log(abs(np.linalg.det(jac))), abs=1e-6)


def test_convert_concentration_roundtrip():
    c = np.geomspace(1.0, 100.0, 9)
    for ratio in (0.3, 0.5, 2.0, 4.0):
        np.testing.assert_allclose(convert_concentration(convert_concentration(c, ratio), 1 / ratio), c, rtol=1e-10)


def test_distance_scaling_identities():
    r = np.linspace(0.5, 20, 17)
    s = np.array([0.7, 1.0, 1.4])
    gal = Galaxy("x", R=r, V=np.ones_like(r), eV=np.ones_like(r))
    model = DiscNFWModel(H0=70.0)
    ctx = model.setup(gal)
    values = {"Md": np.full(3, 4e10), "Rd": np.full(3, 2.5), "Mh": np.full(3, 8e11), "c": np.full(3, 9.0)}
    comps = model.components(ctx, values, s)
    for i, si in enumerate(s):
        rc = rotation_curves({k: v[i] for k, v in values.items()}, r * si)
        np.testing.assert_allclose(comps["disc"][i], rc.v_disc[0] ** 2, rtol=1e-9)
        np.testing.assert_allclose(comps["halo"][i], rc.v_halo[0] ** 2, rtol=1e-12)


def test_sparc_model_components():
    r = np.linspace(1, 10, 5)
    vg = np.array([-3.0, 5.0, 10.0, 12.0, 13.0])
    gal = Galaxy("s", R=r, V=r, eV=np.ones(5), Vgas=vg, Vdisk=np.full(5, 50.0), Vbul=np.full(5, 20.0))
    m = SparcModel(H0=73.0)
    assert [p.name for p in m.parameters(gal)] == ["Ups_disk", "Ups_bulge", "Mh", "c"]
    ctx = m.setup(gal)
    vals = {"Ups_disk": np.array([0.5]), "Ups_bulge": np.array([0.7]), "Mh": np.array([1e11]), "c": np.array([10.0])}
    comps = m.components(ctx, vals, np.array([2.0]))
    np.testing.assert_allclose(comps["gas"][0], 2.0 * np.abs(vg) * vg)
    np.testing.assert_allclose(comps["disc"][0], 2.0 * 0.5 * 2500.0)
    np.testing.assert_allclose(comps["bulge"][0], 2.0 * 0.7 * 400.0)
    total = m.v2_total(ctx, vals, np.array([2.0]))
    np.testing.assert_allclose(total, sum(comps.values()), rtol=1e-12)
    assert [p.name for p in m.parameters(gal.replace(Vbul=np.zeros(5)))] == ["Ups_disk", "Mh", "c"]
    assert set(MODELS) == {"disc-nfw", "sparc"}


def test_luminosity_of_an_exponential_profile():
    h = 2.0
    r = np.linspace(0.1, 6 * h, 60)
    sb = 100.0 * np.exp(-r / h)
    # 2 pi S0 h^2 (in pc^2: kpc^2 * 1e6)
    assert luminosity(r, sb) == pytest.approx(2 * np.pi * 100.0 * h * h * 1e6, rel=0.01)
