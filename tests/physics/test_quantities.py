"""astropy Quantities at the physics entry points: converted, never silently stripped."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.errors import ConfigError
from rotcurve.physics import (
    CompositeModel,
    ExponentialDisc,
    NFWHalo,
    disc_shape,
    nfw_f,
    nfw_mass_fraction,
    r_delta,
    rotation_curves,
)

u = pytest.importorskip("astropy.units")

RADII = np.geomspace(0.1, 50.0, 20)
PLAIN = {"Md": np.array([5e10, 1e10]), "Rd": np.array([3.0, 2.0]), "Mh": np.array([1e12, 3e11]), "c": np.array([10.0, 12.0])}
MSUN_KG = 1.988409870698051e30  # astropy's (IAU 2015 nominal) solar mass


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=0.0)


def test_pc_and_kpc_give_the_same_curves():
    ref = rotation_curves(PLAIN, RADII)
    pc = rotation_curves({**PLAIN, "Rd": PLAIN["Rd"] * 1000 * u.pc}, RADII * 1000 * u.pc)
    for a, b in zip(ref, pc):
        assert type(b) is np.ndarray and b.dtype == np.float64
        _close(a, b)


def test_masses_in_kg_and_h0_in_other_units_are_converted():
    ref = rotation_curves(PLAIN, RADII, H0=67.4)
    q = {
        "Md": PLAIN["Md"] * MSUN_KG * u.kg,
        "Rd": PLAIN["Rd"] * u.kpc,
        "Mh": PLAIN["Mh"] * u.Msun,
        "c": PLAIN["c"] * u.dimensionless_unscaled,
    }
    out = rotation_curves(q, RADII * u.kpc, H0=(67.4 * u.km / u.s / u.Mpc).to(1 / u.s), Delta=200 * u.one)
    for a, b in zip(ref, out):
        _close(a, b)


def test_rd_3000_pc_is_not_3000_kpc():
    one = {"Md": 5e10, "Rd": 3.0, "Mh": 1e12, "c": 10.0}
    _close(rotation_curves({**one, "Rd": 3000 * u.pc}, RADII).v_circ, rotation_curves(one, RADII).v_circ)


def test_qtable_and_list_of_quantities():
    from astropy.table import QTable

    table = QTable({"Md": PLAIN["Md"] * u.Msun, "Rd": PLAIN["Rd"] * 1e3 * u.pc,
                    "Mh": PLAIN["Mh"] * u.Msun, "c": PLAIN["c"]})
    _close(rotation_curves(table, RADII).v_circ, rotation_curves(PLAIN, RADII).v_circ)
    radii = [0.5 * u.kpc, 2000 * u.pc]
    _close(rotation_curves(PLAIN, radii).v_circ, rotation_curves(PLAIN, [0.5, 2.0]).v_circ)


def test_components_and_helpers():
    _close(ExponentialDisc().v2(RADII * u.kpc, Md=5e10 * u.Msun, Rd=3000 * u.pc),
           ExponentialDisc().v2(RADII, Md=5e10, Rd=3.0))
    _close(NFWHalo(H0=70 * u.km / u.s / u.Mpc).v(RADII, Mh=1e12 * u.Msun, c=10.0),
           NFWHalo().v(RADII, Mh=1e12, c=10.0))
    assert NFWHalo(H0=70 * u.km / u.s / u.Mpc).H0 == pytest.approx(70.0, rel=1e-15)
    model = CompositeModel([ExponentialDisc(), NFWHalo()])
    _close(model.velocities({**PLAIN, "Rd": PLAIN["Rd"] * 1e3 * u.pc}, RADII)[0],
           model.velocities(PLAIN, RADII)[0])
    _close(r_delta(1e12 * MSUN_KG * u.kg), r_delta(1e12))
    _close(disc_shape(1.0 * u.kpc / (2.0 * u.pc)), disc_shape(500.0))
    _close(disc_shape(1.0 * u.kpc / (2.0 * u.pc), method="fast"), disc_shape(500.0, method="fast"))
    _close(nfw_f(2 * u.kpc / u.pc), nfw_f(2000.0))
    _close(nfw_mass_fraction(0.5 * u.one, 10 * u.one), nfw_mass_fraction(0.5, 10.0))


def test_plain_numbers_are_unchanged():
    # the documented internal units: a plain 3.0 is 3 kpc, not 3 pc or 3 m
    one = rotation_curves({"Md": 5e10, "Rd": 3.0, "Mh": 1e12, "c": 10.0}, [8.0])
    again = rotation_curves({"Md": 5e10, "Rd": 3 * u.kpc, "Mh": 1e12 * u.Msun, "c": 10.0}, [8.0] * u.kpc)
    _close(one.v_circ, again.v_circ)
    assert 150.0 < float(one.v_circ[0, 0]) < 300.0  # a Milky-Way-like curve at 8 kpc


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: rotation_curves({**PLAIN, "Rd": PLAIN["Rd"] * u.km / u.s}, RADII),
         "Rd has units of km / s; give a length such as u.kpc"),
        (lambda: rotation_curves({**PLAIN, "Md": PLAIN["Md"] * u.kpc}, RADII),
         "Md has units of kpc; give a mass such as u.Msun"),
        (lambda: rotation_curves({**PLAIN, "c": PLAIN["c"] * u.kpc}, RADII), "c has units of kpc"),
        (lambda: rotation_curves(PLAIN, RADII * u.s), "radii has units of s; give a length"),
        (lambda: rotation_curves(PLAIN, RADII, H0=70 * u.km), "H0 has units of km; give a Hubble constant"),
        (lambda: r_delta(1e12 * u.kpc), "Mh has units of kpc"),
        (lambda: ExponentialDisc().v2(RADII, Md=5e10, Rd=3 * u.kg), "Rd has units of kg"),
        (lambda: disc_shape(3 * u.kpc), "y has units of kpc; give a plain number"),
    ],
)
def test_wrong_units_are_one_line_config_errors(call, text):
    with pytest.raises(ConfigError) as exc:
        call()
    assert text in str(exc.value) and "\n" not in str(exc.value)


def test_torch_backend_converts_non_tensor_inputs():
    torch = pytest.importorskip("torch")
    from rotcurve.physics import torch_backend as tb

    ref = tb.rotation_curves(PLAIN, RADII)
    out = tb.rotation_curves({**PLAIN, "Rd": PLAIN["Rd"] * 1e3 * u.pc, "Md": PLAIN["Md"] * u.Msun},
                             RADII * 1e3 * u.pc, H0=70 * u.km / u.s / u.Mpc)
    torch.testing.assert_close(out.v_circ, ref.v_circ, rtol=1e-13, atol=0.0)
    _close(tb.r_delta(torch.tensor([1e12], dtype=torch.float64), H0=70 * u.km / u.s / u.Mpc).numpy(),
           r_delta([1e12]))
    with pytest.raises(ConfigError, match="Rd has units of s"):
        tb.rotation_curves({**PLAIN, "Rd": PLAIN["Rd"] * u.s}, RADII)
