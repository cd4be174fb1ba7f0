"""The curve normaliser: log10 v standardised per radius, and its persistence."""

from __future__ import annotations

import io
import json

import mpmath
import numpy as np
import pytest
import torch

from rotcurve.datasets.normaliser import (
    CurveNormaliser,
    IdentityNormaliser,
    RunningMoments,
    check_velocities,
    normaliser_from_state,
)
from rotcurve.errors import CheckpointError, DataError


def _curves(n=300, n_r=9, seed=0):
    rng = np.random.default_rng(seed)
    radii = np.linspace(1.0, 20.0, n_r)
    return radii, 10 ** rng.normal(2.0, 0.3, (n, n_r))


def test_fit_matches_direct_log_statistics():
    radii, v = _curves()
    norm = CurveNormaliser.fit(v, radii)
    logv = np.log10(v)
    np.testing.assert_allclose(norm.mean, logv.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(norm.std, logv.std(axis=0, ddof=0), rtol=1e-12)
    x = norm.transform(v)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=0), 1.0, rtol=1e-12)
    assert norm.n_fit == 300 and norm.input_dim == 9


def test_self_similar_curves_have_the_amplitude_scatter_at_every_radius():
    # v_i(r) = A_i g(r)  =>  log10 v = log10 A_i + log10 g(r): the standard
    # deviation is that of log10 A at every radius, the mean is shifted by log10 g.
    rng = np.random.default_rng(4)
    radii = np.geomspace(0.3, 50.0, 15)
    g = radii / (1.0 + radii)
    log_a = rng.normal(2.1, 0.25, 1000)
    v = 10 ** log_a[:, None] * g
    norm = CurveNormaliser.fit(v, radii)
    np.testing.assert_allclose(norm.std, np.full(15, log_a.std()), rtol=1e-10)
    np.testing.assert_allclose(norm.mean, log_a.mean() + np.log10(g), rtol=1e-12)


def test_inverse_of_transform_is_identity_numpy_and_torch():
    radii, v = _curves(seed=2)
    norm = CurveNormaliser.fit(v[:200], radii)
    np.testing.assert_allclose(norm.inverse(norm.transform(v)), v, rtol=1e-13)
    v32 = v.astype(np.float32)
    back32 = norm.inverse(norm.transform(v32))
    assert back32.dtype == np.float32
    np.testing.assert_allclose(back32, v32, rtol=4 * np.finfo(np.float32).eps)
    t = torch.from_numpy(v32)
    x = norm.transform(t)
    assert x.dtype == torch.float32 and x.shape == t.shape
    np.testing.assert_allclose(x.numpy(), norm.transform(v), rtol=0, atol=2e-6)
    back = norm.inverse(x)
    np.testing.assert_allclose(back.numpy(), v32, rtol=8 * np.finfo(np.float32).eps)
    t64 = torch.from_numpy(v)
    np.testing.assert_allclose(norm.inverse(norm.transform(t64)).numpy(), v, rtol=1e-13)


def test_constant_radius_gets_unit_scale():
    radii = np.array([1.0, 2.0])
    v = np.column_stack([np.full(10, 50.0), np.linspace(10, 100, 10)])
    norm = CurveNormaliser.fit(v, radii)
    assert norm.std[0] == 1.0
    np.testing.assert_allclose(norm.transform(v)[:, 0], 0.0, atol=1e-15)


@pytest.mark.parametrize("bad", [0.0, -3.0, np.nan, np.inf])
def test_bad_velocities_name_the_row(bad):
    radii, v = _curves(n=20)
    v[13, 4] = bad
    with pytest.raises(DataError, match=r"row 13 .*radius index 4"):
        CurveNormaliser.fit(v, radii)
    norm = CurveNormaliser.fit(v[:10], radii)
    with pytest.raises(DataError, match="row 3 "):
        norm.transform(v[10:])
    with pytest.raises(DataError, match="row 3 "):
        norm.transform(torch.from_numpy(v[10:]))
    with pytest.raises(DataError, match="file.h5: row 103 "):
        check_velocities(v[10:], row_offset=100, source="file.h5")


def test_running_moments_agree_with_mpmath_for_offset_data():
    # A large common offset defeats the naive sum-of-squares formula; the
    # merged streaming moments must still agree with high-precision references.
    rng = np.random.default_rng(9)
    data = 1e6 + rng.normal(0, 1e-3, (257, 2))
    moments = RunningMoments(2)
    for block in np.array_split(data, [1, 50, 51, 200]):
        moments.update(block)
    mpmath.mp.dps = 40
    for j in range(2):
        column = [mpmath.mpf(float(x)) for x in data[:, j]]
        mean = mpmath.fsum(column) / len(column)
        var = mpmath.fsum((x - mean) ** 2 for x in column) / len(column)
        assert abs(moments.mean[j] - float(mean)) <= 1e-15 * 1e6
        assert moments.std[j] == pytest.approx(float(mpmath.sqrt(var)), rel=1e-7)
    assert moments.count == 257


def test_running_moments_do_not_depend_on_blocking():
    rng = np.random.default_rng(1)
    data = rng.normal(2.0, 0.3, (1000, 5))
    one = RunningMoments(5)
    one.update(data)
    many = RunningMoments(5)
    for block in np.array_split(data, 37):
        many.update(block)
    np.testing.assert_allclose(many.mean, one.mean, rtol=1e-14)
    np.testing.assert_allclose(many.std, one.std, rtol=1e-12)
    with pytest.raises(DataError, match="training split is empty"):
        RunningMoments(3).std


def test_state_dict_round_trips_through_json_and_torch_weights_only():
    radii, v = _curves()
    norm = CurveNormaliser.fit(v, radii)
    state = norm.state_dict()
    restored = normaliser_from_state(json.loads(json.dumps(state)))
    np.testing.assert_array_equal(restored.mean, norm.mean)
    np.testing.assert_array_equal(restored.std, norm.std)
    np.testing.assert_array_equal(restored.radii, norm.radii)
    buf = io.BytesIO()
    torch.save({"normaliser": state}, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)["normaliser"]
    again = CurveNormaliser.from_state(loaded)
    np.testing.assert_array_equal(again.transform(v), norm.transform(v))
    ident = normaliser_from_state(IdentityNormaliser(784).state_dict())
    assert isinstance(ident, IdentityNormaliser) and ident.input_dim == 784


@pytest.mark.parametrize(
    "state, message",
    [
        ({"kind": "magic"}, "unknown normaliser kind"),
        ([1, 2], "unknown normaliser kind"),
        ({"kind": "log10-standardised", "radii": [1.0]}, "lacks mean, std"),
        ({"kind": "log10-standardised", "radii": [1.0, 2.0], "mean": [0.0], "std": [1.0]}, "same non-zero length"),
        ({"kind": "log10-standardised", "radii": [1.0], "mean": [float("nan")], "std": [1.0]}, "finite"),
        ({"kind": "identity"}, "lacks input_dim"),
    ],
)
def test_damaged_state_is_a_checkpoint_error(state, message):
    with pytest.raises(CheckpointError, match=message):
        normaliser_from_state(state)


def test_check_compatible():
    radii, v = _curves()
    norm = CurveNormaliser.fit(v, radii)
    norm.check_compatible(radii.copy())
    norm.check_compatible(radii.astype(np.float32))  # float32 rounding of the grid is fine
    with pytest.raises(DataError, match="other.h5 has 8 radii but the model was trained on 9 radii"):
        norm.check_compatible(radii[:-1], source="other.h5")
    shifted = radii.copy()
    shifted[3] *= 1.01
    with pytest.raises(DataError, match="radius 3 is"):
        norm.check_compatible(shifted)
    with pytest.raises(DataError, match="trained on images"):
        IdentityNormaliser(784).check_compatible(radii)
    with pytest.raises(DataError, match="curves have 8 radii but the normaliser has 9"):
        norm.transform(v[:, :8])


def test_identity_normaliser_leaves_data_alone():
    ident = IdentityNormaliser(4)
    x = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    assert ident.transform(x) is x and ident.inverse(x) is x
