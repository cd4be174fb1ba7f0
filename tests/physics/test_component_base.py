"""The shared Component machinery: validation, broadcasting, blocks, sqrt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

from rotcurve.errors import ConfigError
from rotcurve.physics import Component, ExponentialDisc, NFWHalo, check_params, check_radii
from rotcurve.physics.base import evaluate
from rotcurve.units import G


class UniformSphere(Component):
    """Homogeneous sphere of mass M and radius a: v2 = G M min(r, a)^3 / (a^3 r)."""

    param_names: ClassVar[tuple[str, ...]] = ("M", "a")

    def prepare(self, radii: np.ndarray) -> Any:
        return radii

    def v2_block(self, prepared: Any, params: Mapping[str, np.ndarray], out: np.ndarray) -> None:
        r = prepared[None, :]
        a = params["a"][:, None]
        out[...] = G * params["M"][:, None] * np.minimum(r, a) ** 3 / (a**3 * r)


def test_subclass_gets_validation_broadcasting_and_sqrt():
    sphere = UniformSphere()
    radii = np.array([0.0, 1.0, 2.0, 4.0])
    v2 = sphere.v2(radii, M=[1e10, 2e10], a=2.0)
    assert v2.shape == (2, 4)
    expected = G * np.array([[0, 1e10 / 8, 1e10 / 2, 1e10 / 4], [0, 2e10 / 8, 2e10 / 2, 2e10 / 4]])
    np.testing.assert_allclose(v2, expected, rtol=1e-15)
    np.testing.assert_allclose(sphere.v(radii, M=[1e10, 2e10], a=2.0), np.sqrt(expected), rtol=1e-15)
    with pytest.raises(ConfigError, match=r"parameter a must be positive and finite; a\[1\] = -1.0"):
        sphere.v2(radii, M=1e10, a=[1.0, -1.0])
    with pytest.raises(ConfigError, match="parameter M is missing"):
        sphere.v2(radii, a=1.0)


def test_evaluate_sums_components_into_total():
    radii = check_radii([0.0, 0.5, 3.0, 20.0])
    comps = [ExponentialDisc(), NFWHalo(), UniformSphere()]
    params = check_params({"Md": [1e10, 3e10], "Rd": 2.0, "Mh": 1e12, "c": 8.0, "M": 1e9, "a": 1.0}, ["Md", "Rd", "Mh", "c", "M", "a"])
    outs = [np.empty((2, 4)) for _ in comps]
    total = np.empty((2, 4))
    evaluate(comps, radii, params, outs, total=total, block_elements=4)
    singles = [
        ExponentialDisc().v2(radii, Md=[1e10, 3e10], Rd=2.0),
        NFWHalo().v2(radii, Mh=1e12, c=8.0),
        UniformSphere().v2(radii, M=1e9, a=1.0),
    ]
    singles = [np.broadcast_to(s, (2, 4)) for s in singles]
    for got, ref in zip(outs, singles):
        np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(total, singles[0] + singles[1] + singles[2], rtol=1e-15)


def test_check_params_keeps_contiguous_float64_copies():
    md = np.array([1, 2, 3], dtype=np.int32)[::-1]
    p = check_params({"Md": md, "Rd": 2}, ["Md", "Rd"])
    assert p["Md"].dtype == np.float64 and p["Md"].flags.c_contiguous
    np.testing.assert_array_equal(p["Md"], [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(p["Rd"], [2.0, 2.0, 2.0])
    assert check_params({"x": 1.5}, ["x"])["x"].shape == (1,)


def test_check_radii_messages():
    assert check_radii([0, 1]).dtype == np.float64
    with pytest.raises(ConfigError, match=r"radii\[0\] = -inf"):
        check_radii([-np.inf])
    with pytest.raises(ConfigError, match="1-D"):
        check_radii(3.0)
