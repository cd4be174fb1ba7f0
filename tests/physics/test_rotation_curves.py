"""rotation_curves(): composition, shapes, inputs, validation, fast == exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rotcurve.errors import ConfigError
from rotcurve.physics import (
    CompositeModel,
    ExponentialDisc,
    NFWHalo,
    RotationCurves,
    disc_shape,
    nfw_f,
    r_delta,
    rotation_curves,
)
from rotcurve.units import G

RADII = np.logspace(-1, np.log10(50.0), 50)


def _independent(params: dict[str, np.ndarray], radii: np.ndarray, H0: float = 70.0, Delta: float = 200.0):
    """v_disc, v_halo written out from the formulas, point by point."""
    n = len(params["Md"])
    vd = np.zeros((n, radii.size))
    vh = np.zeros((n, radii.size))
    h = H0 / 1000.0
    for i in range(n):
        md, rd, mh, c = (float(params[k][i]) for k in ("Md", "Rd", "Mh", "c"))
        r200 = (2 * G * mh / (Delta * h * h)) ** (1 / 3)
        for j, r in enumerate(radii):
            if r > 0:
                vd[i, j] = np.sqrt(2 * G * md / rd * float(disc_shape(r / (2 * rd))))
                vh[i, j] = np.sqrt(G * mh / r * float(nfw_f(c * r / r200)) / float(nfw_f(c)))
    return vd, vh


@pytest.mark.parametrize("method", ["fast", "exact"])
def test_components_and_quadrature_sum(method, reference_params):
    p = {k: v[:40] for k, v in reference_params.items()}
    rc = rotation_curves(p, RADII, method=method)
    assert isinstance(rc, RotationCurves)
    for arr in rc:
        assert arr.shape == (40, 50) and arr.dtype == np.float64 and arr.flags.c_contiguous
        assert np.all(np.isfinite(arr)) and np.all(arr > 0)
    np.testing.assert_allclose(rc.v_circ**2, rc.v_disc**2 + rc.v_halo**2, rtol=1e-14)
    vd, vh = _independent(p, RADII)
    np.testing.assert_allclose(rc.v_disc, vd, rtol=1e-9)
    np.testing.assert_allclose(rc.v_halo, vh, rtol=1e-12)


def test_fast_matches_exact_on_the_reference_prior(reference_params):
    radii = np.concatenate([[0.0], np.logspace(-3, 3, 61)])
    fast = rotation_curves(reference_params, radii)
    exact = rotation_curves(reference_params, radii, method="exact")
    for f, e in zip(fast, exact):
        assert np.all(f[:, 0] == 0.0) and np.all(e[:, 0] == 0.0)
        np.testing.assert_allclose(f, e, rtol=1e-9, atol=0)


def test_cosmology_options_change_the_halo_only(reference_params):
    p = {k: v[:5] for k, v in reference_params.items()}
    a = rotation_curves(p, RADII)
    b = rotation_curves(p, RADII, H0=67.4, Delta=500.0)
    np.testing.assert_array_equal(a.v_disc, b.v_disc)
    assert not np.allclose(a.v_halo, b.v_halo)
    vd, vh = _independent(p, RADII, H0=67.4, Delta=500.0)
    np.testing.assert_allclose(b.v_halo, vh, rtol=1e-12)
    # a larger Delta means a smaller, denser halo: at R_Delta the halo velocity is V_Delta
    rdel = r_delta(p["Mh"], H0=67.4, Delta=500.0)
    v_at = np.array(
        [rotation_curves({k: v[i] for k, v in p.items()}, [rdel[i]], H0=67.4, Delta=500.0).v_halo[0, 0] for i in range(5)]
    )
    np.testing.assert_allclose(v_at, np.sqrt(G * p["Mh"] / rdel), rtol=1e-13)


def test_scalars_broadcast_and_single_curve():
    rc = rotation_curves({"Md": 5e10, "Rd": 3.0, "Mh": 1e12, "c": 10.0}, RADII)
    assert rc.v_circ.shape == (1, 50)
    mixed = rotation_curves({"Md": [5e10, 1e10, 2e9], "Rd": 3.0, "Mh": 1e12, "c": [10.0, 10.0, 10.0]}, RADII)
    assert mixed.v_circ.shape == (3, 50)
    np.testing.assert_array_equal(mixed.v_halo, np.repeat(rc.v_halo, 3, axis=0))
    np.testing.assert_array_equal(mixed.v_disc[0], rc.v_disc[0])
    one_radius = rotation_curves({"Md": 5e10, "Rd": 3.0, "Mh": 1e12, "c": 10.0}, [8.0])
    assert one_radius.v_circ.shape == (1, 1)


def test_accepts_dataframe_and_structured_array(reference_params):
    p = {k: v[:7] for k, v in reference_params.items()}
    expected = rotation_curves(p, RADII)
    df = pd.DataFrame(p | {"extra": np.arange(7)})
    rec = np.zeros(7, dtype=[("Md", "f8"), ("Rd", "f8"), ("Mh", "f4"), ("c", "f8")])
    for k in p:
        rec[k] = p[k]
    got_df = rotation_curves(df, RADII)
    got_rec = rotation_curves(rec, RADII)
    for a, b, c in zip(expected, got_df, got_rec):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-6)  # Mh stored as float32


def test_zero_and_unsorted_radii():
    p = {"Md": [5e10, 1e9], "Rd": [3.0, 0.5], "Mh": [1e12, 1e11], "c": [10.0, 15.0]}
    radii = np.array([10.0, 0.0, 1.0, 0.0, 5.0])
    rc = rotation_curves(p, radii)
    order = rotation_curves(p, np.array([1.0, 5.0, 10.0]))
    for arr, ref in zip(rc, order):
        assert np.all(arr[:, [1, 3]] == 0.0)
        np.testing.assert_array_equal(arr[:, [2, 4, 0]], ref)
    only_zero = rotation_curves(p, [0.0, 0.0])
    assert all(np.all(a == 0.0) for a in only_zero)


def test_results_do_not_depend_on_the_block_size(reference_params):
    model = CompositeModel([ExponentialDisc(), NFWHalo()])
    # one curve far outside the disc table (Rd tiny) to exercise the fallback rows
    p = {k: v[:100].copy() for k, v in reference_params.items()}
    p["Rd"][37] = 1e-6
    radii = np.concatenate([RADII, [0.0]])
    ref_total, ref_parts = model.velocities(p, radii, block_elements=10**9)
    for block in (1, 51, 300, 2048):
        total, parts = model.velocities(p, radii, block_elements=block)
        np.testing.assert_array_equal(total, ref_total)
        for a, b in zip(parts, ref_parts):
            np.testing.assert_array_equal(a, b)
    exact = rotation_curves(p, radii, method="exact")
    np.testing.assert_allclose(ref_parts[0], exact.v_disc, rtol=1e-9)


def test_physical_scalings():
    """Disc v scales as sqrt(Md); the disc curve is self-similar in R/Rd; Mh -> halo grows."""
    base = {"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}
    a = rotation_curves(base, RADII)
    b = rotation_curves(base | {"Md": 4e10}, RADII)
    np.testing.assert_allclose(b.v_disc, 2.0 * a.v_disc, rtol=1e-14)
    np.testing.assert_array_equal(a.v_halo, b.v_halo)
    c = rotation_curves(base | {"Rd": 4.0}, 2.0 * RADII)
    # v^2 = 2 G Md / Rd g(R / 2Rd): doubling Rd and R divides v^2 by 2
    np.testing.assert_allclose(c.v_disc**2, a.v_disc**2 / 2.0, rtol=1e-9)
    d = rotation_curves(base | {"Mh": 2e12}, RADII)
    assert np.all(d.v_halo > a.v_halo)


@pytest.mark.parametrize(
    ("params", "radii", "match"),
    [
        ({"Md": [1e10, -1e10], "Rd": 2.0, "Mh": 1e12, "c": 10.0}, RADII, r"Md must be positive and finite; Md\[1\] = -1"),
        ({"Md": 1e10, "Rd": [2.0, 3.0, np.nan], "Mh": 1e12, "c": 10.0}, RADII, r"Rd\[2\] = nan"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 0.0, "c": 10.0}, RADII, r"Mh must be positive and finite; Mh = 0.0"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": [np.inf]}, RADII, r"c\[0\] = inf"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12}, RADII, "parameter c is missing"),
        ({"Md": [1e10, 2e10], "Rd": [2.0, 3.0, 4.0], "Mh": 1e12, "c": 10.0}, RADII, "different lengths"),
        ({"Md": [[1e10]], "Rd": 2.0, "Mh": 1e12, "c": 10.0}, RADII, "scalar or 1-D"),
        ({"Md": "heavy", "Rd": 2.0, "Mh": 1e12, "c": 10.0}, RADII, "must be numbers"),
        ({"Md": [], "Rd": [], "Mh": [], "c": []}, RADII, "empty"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}, [1.0, -2.0], r"radii must be finite and >= 0 kpc; radii\[1\] = -2"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}, [1.0, 2.0, np.nan], r"radii\[2\] = nan"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}, [[1.0, 2.0]], "1-D"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}, [], "empty"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}, ["x"], "radii must be numbers"),
        ([1e10, 2.0, 1e12, 10.0], RADII, "params must be a mapping"),
    ],
)
def test_bad_input_is_a_one_line_config_error(params, radii, match):
    with pytest.raises(ConfigError, match=match) as info:
        rotation_curves(params, radii)
    assert "\n" not in str(info.value)


def test_bad_options():
    p = {"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}
    with pytest.raises(ConfigError, match="unknown method"):
        rotation_curves(p, RADII, method="quick")
    with pytest.raises(ConfigError, match="H0 must be"):
        rotation_curves(p, RADII, H0=-1.0)
    with pytest.raises(ConfigError, match="Delta must be"):
        rotation_curves(p, RADII, Delta=np.nan)


def test_composite_refuses_clashing_parameters():
    with pytest.raises(ConfigError, match="share parameter names"):
        CompositeModel([NFWHalo(), NFWHalo(H0=60.0)])


def test_inputs_are_not_modified(reference_params):
    p = {k: v[:10].copy() for k, v in reference_params.items()}
    before = {k: v.copy() for k, v in p.items()}
    radii = RADII.copy()
    rotation_curves(p, radii)
    for k in p:
        np.testing.assert_array_equal(p[k], before[k])
    np.testing.assert_array_equal(radii, RADII)
