"""Galaxy: unit conversion, validation messages that name the galaxy and the row."""

from __future__ import annotations

import numpy as np
import pytest

from rotcurve.errors import DataError
from rotcurve.inference import Galaxy, load_galaxies


def good(**kw):
    base = dict(R=[1.0, 2.0, 3.0, 4.0], V=[50.0, 60.0, 65.0, 66.0], eV=[3.0, 3.0, 3.0, 3.0])
    base.update(kw)
    return Galaxy("G1", **base)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(eV=[3.0, 0.0, 3.0, 3.0]), r"galaxy G1, row 1 \(R = 2 kpc\): eV = 0 km/s; errors must be positive"),
        (dict(eV=[3.0, 3.0, np.nan, 3.0]), r"row 2 .*errors must be positive and finite"),
        (dict(eV=[3.0, 3.0, 3.0, -1.0]), r"row 3 .*eV = -1"),
        (dict(R=[1.0, 2.0, 2.0, 4.0]), r"row 2 \(R = 2 kpc\): radii must increase"),
        (dict(R=[0.0, 2.0, 3.0, 4.0]), r"row 0 .*radius must be finite and > 0"),
        (dict(R=[1.0, 2.0, np.inf, 4.0]), r"row 2 .*radius must be finite"),
        (dict(V=[50.0, np.nan, 65.0, 66.0]), r"row 1 \(R = 2 kpc\): V = nan km/s; velocities must be finite"),
        (dict(Vgas=[1.0, 2.0, 3.0]), r"column Vgas has 3 values but R has 4"),
        (dict(R=[], V=[], eV=[]), r"galaxy G1: no data points"),
        (dict(inclination=0.0), r"inclination = 0 deg"),
        (dict(distance=-3.0), r"distance = -3 Mpc"),
    ],
)
def test_bad_data_is_one_line_naming_galaxy_and_row(change, match):
    g = good(**change)
    with pytest.raises(DataError, match=match) as info:
        g.validate(min_points=3)
    assert "\n" not in str(info.value)


def test_fewer_points_than_parameters():
    with pytest.raises(DataError, match=r"galaxy G1: 4 points but the model has 5 free parameters"):
        good().validate(min_points=5)
    good().validate(min_points=4)


def test_row_labels_come_from_the_source():
    g = good(eV=[3.0, 3.0, 0.0, 3.0], rows=("line 4", "line 5", "line 6", "line 7"), source="x.dat")
    with pytest.raises(DataError, match=r"^x.dat: galaxy G1, line 6 \(R = 3 kpc\)"):
        g.validate()


def test_quantities_are_converted():
    u = pytest.importorskip("astropy.units")
    g = Galaxy("Q", R=np.array([1000.0, 2000.0, 3000.0]) * u.pc, V=[50, 60, 70] * u.km / u.s,
               eV=[1000, 2000, 3000] * u.m / u.s, distance=5000 * u.kpc, inclination=np.pi / 4 * u.rad)
    np.testing.assert_allclose(g.R, [1, 2, 3])
    np.testing.assert_allclose(g.eV, [1, 2, 3])
    assert g.distance == pytest.approx(5.0)
    assert g.inclination == pytest.approx(45.0)
    with pytest.raises(DataError, match="cannot be converted to kpc"):
        Galaxy("Q", R=[1, 2] * u.s, V=[1, 2], eV=[1, 1])


def test_dict_input_and_unknown_keys():
    (g,) = load_galaxies({"R": [1, 2, 3], "V": [1, 2, 3], "eV": [1, 1, 1]}, name="D")
    assert g.name == "D" and g.n == 3
    with pytest.raises(DataError, match="unknown galaxy field Vobs"):
        load_galaxies({"R": [1], "V": [1], "eV": [1], "Vobs": [1]})
    with pytest.raises(DataError, match="lacks eV"):
        load_galaxies({"R": [1], "V": [1]})


def test_bulge_flag():
    assert not good(Vbul=[0.0, 0.0, 0.0, 0.0]).has_bulge
    assert good(Vbul=[0.0, 1.0, 0.0, 0.0]).has_bulge
    assert not good().has_baryons
