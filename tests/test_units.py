"""rotcurve.units.to_value: astropy Quantities in, plain numbers in the internal units out."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rotcurve.errors import ConfigError
from rotcurve.units import to_value

u = pytest.importorskip("astropy.units")


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (3000 * u.pc, "kpc", 3.0),
        (3.0 * u.kpc, "kpc", 3.0),
        (1 * u.Mpc, "kpc", 1000.0),
        (1000 * u.m / u.s, "km/s", 1.0),
        (2e30 * u.kg, "Msun", 2e30 / 1.988409870698051e30),
        (1e10 * u.Msun, "Msun", 1e10),
        (70 * u.km / u.s / u.Mpc, "km/s/Mpc", 70.0),
        (0.07 * u.km / u.s / u.kpc, "km/s/Mpc", 70.0),
        (10 * u.dimensionless_unscaled, "1", 10.0),
        (3 * u.kpc / u.pc, "1", 3000.0),
    ],
)
def test_quantities_are_converted(value, unit, expected):
    out = to_value(value, unit, "x")
    assert isinstance(out, (float, np.floating, np.ndarray))
    assert not isinstance(out, u.Quantity)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_arrays_and_lists_of_quantities():
    np.testing.assert_allclose(to_value([1 * u.kpc, 2000 * u.pc], "kpc", "radii"), [1.0, 2.0], rtol=1e-15)
    out = to_value(np.array([100.0, 250.0]) * u.pc, "kpc", "radii")
    assert type(out) is np.ndarray and out.dtype == np.float64
    np.testing.assert_allclose(out, [0.1, 0.25], rtol=1e-15)


@pytest.mark.parametrize("value", [3.0, 7, [1.0, 2.0], np.array([1.0, 2.0]), "text", None])
def test_plain_values_are_returned_unchanged(value):
    assert to_value(value, "kpc", "Rd") is value


@pytest.mark.parametrize(
    ("value", "unit", "name", "text"),
    [
        (3 * u.km / u.s, "kpc", "Rd", "Rd has units of km / s; give a length such as u.kpc"),
        (3 * u.kpc, "Msun", "Md", "Md has units of kpc; give a mass such as u.Msun"),
        (3 * u.kpc, "1", "c", "c has units of kpc; give a plain number (it is dimensionless)"),
        (3 * u.kpc, "km/s/Mpc", "H0", "H0 has units of kpc; give a Hubble constant"),
        (3 * u.dimensionless_unscaled, "km/s", "v", "v has units of 1 (dimensionless); give a velocity"),
        ([1 * u.kpc, 2.0], "kpc", "radii", "radii mixes values with and without units"),
    ],
)
def test_incompatible_units_are_one_line_errors(value, unit, name, text):
    with pytest.raises(ConfigError) as exc:
        to_value(value, unit, name)
    message = str(exc.value)
    assert text in message
    assert "\n" not in message


def test_physics_import_does_not_import_astropy():
    code = "import sys, rotcurve.physics, rotcurve.units; print('astropy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- the run API: curves given as Quantities ---------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    pytest.importorskip("torch")
    from rotcurve.run import load_run
    from rotcurve.testing import write_curves
    from rotcurve.training import fit

    root = tmp_path_factory.mktemp("units-run")
    v, _ = write_curves(root / "curves.h5", 200, radii=np.geomspace(0.1, 50.0, 16))
    fit(root / "curves.h5", root / "run", model={"hidden": [16], "latent_dim": 2},
        train={"epochs": 2, "batch_size": 50, "device": "cpu", "seed": 0}, progress=False)
    return load_run(root / "run"), np.asarray(v[:20], dtype=np.float64)


def test_run_accepts_curves_as_quantities(tiny_run):
    run, v = tiny_run
    np.testing.assert_array_equal(run.encode(v * (u.km / u.s)).mean, run.encode(v).mean)
    q = (v * 1000.0) * (u.m / u.s)  # m/s -> km/s may differ from v in the last bit
    np.testing.assert_allclose(run.encode(q).mean, run.encode(v).mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(run.reconstruct(q), run.reconstruct(v), rtol=1e-4)
    assert not np.allclose(run.encode(v * 1000.0).mean, run.encode(v).mean, atol=1e-3)
    z = run.encode(v).mean
    np.testing.assert_array_equal(run.decode(z * u.one), run.decode(z))
    run.check_radii(run.radii * 1000.0 * u.pc)


def test_run_refuses_curves_in_the_wrong_unit(tiny_run):
    run, v = tiny_run
    with pytest.raises(ConfigError, match=r"^curves has units of kpc; give a velocity such as u.km / u.s$"):
        run.encode(v * u.kpc)
    with pytest.raises(ConfigError, match=r"^z has units of kpc; give a plain number"):
        run.decode(np.zeros((2, 2)) * u.kpc)


def test_evaluate_parameter_columns_accept_quantities():
    from rotcurve.cli.evaluate import validate_params

    cols = {"Md": [5e10] * u.Msun, "Rd": [3000.0] * u.pc, "Mh": [1e12] * u.Msun, "c": np.array([10.0])}
    out = validate_params(cols)
    np.testing.assert_allclose(out["Rd"], [3.0], rtol=1e-15)
    with pytest.raises(ConfigError, match="Rd has units of km / s"):
        validate_params({**cols, "Rd": [3.0] * (u.km / u.s)})
