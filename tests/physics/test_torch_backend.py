"""The torch twin agrees with numpy, differentiates, and stays optional."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rotcurve.errors import ConfigError
from rotcurve.physics import disc_shape, disc_shape_dlogy, nfw_f, r_delta, rotation_curves

torch = pytest.importorskip("torch")
tb = pytest.importorskip("rotcurve.physics.torch_backend")


def test_physics_imports_without_torch():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # any 'import torch' now raises ImportError
        import numpy as np
        import rotcurve.physics as ph
        rc = ph.rotation_curves({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}, np.array([1.0, 5.0]))
        assert rc.v_circ.shape == (1, 2)
        try:
            import rotcurve.physics.torch_backend
        except ImportError:
            print("ok")
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_rotation_curves_match_numpy_float64(reference_params):
    radii = np.concatenate([[0.0], np.logspace(-2, 2.5, 40)])
    ref = rotation_curves(reference_params, radii, method="exact")
    got = tb.rotation_curves({k: torch.from_numpy(v) for k, v in reference_params.items()}, torch.from_numpy(radii))
    for g, r in zip(got, ref):
        assert g.dtype == torch.float64 and tuple(g.shape) == r.shape
        g = g.numpy()
        assert np.all(g[:, 0] == 0.0)
        np.testing.assert_allclose(g[:, 1:], r[:, 1:], rtol=1e-9, atol=0)


def test_functions_match_numpy():
    y = np.concatenate([[0.0, 1e-300, 5e-324], np.logspace(-8, 8, 400), [31.9999, 32.0, np.inf]])
    np.testing.assert_allclose(tb.disc_shape(torch.from_numpy(y)).numpy(), disc_shape(y), rtol=1e-9, atol=0)
    u = np.concatenate([[0.0], np.logspace(-12, 6, 200)])
    np.testing.assert_allclose(tb.nfw_f(torch.from_numpy(u)).numpy(), nfw_f(u), rtol=1e-11, atol=0)
    mh = np.logspace(8, 15, 8)
    np.testing.assert_allclose(tb.r_delta(torch.from_numpy(mh), H0=67.0, Delta=500.0).numpy(), r_delta(mh, H0=67.0, Delta=500.0), rtol=1e-14)
    assert torch.isnan(tb.disc_shape(torch.tensor([float("nan")], dtype=torch.float64))).all()


def test_float32_disc_shape_is_correctly_rounded():
    """float32 inputs are evaluated in float64 internally (I0 K0 - I1 K1 cancels)."""
    y32 = torch.logspace(-5, 5, 2001, dtype=torch.float32)
    g = tb.disc_shape(y32)
    assert g.dtype == torch.float32
    ref = disc_shape(y32.double().numpy())
    np.testing.assert_allclose(g.double().numpy(), ref, rtol=1.2e-7, atol=0)


def test_disc_shape_gradient_is_the_analytic_derivative():
    y = np.logspace(-5, 5, 101)
    yt = torch.tensor(y, requires_grad=True)
    tb.disc_shape(yt).sum().backward()
    np.testing.assert_allclose(yt.grad.numpy() * y, disc_shape_dlogy(y), rtol=1e-10, atol=1e-300)
    assert torch.autograd.gradcheck(tb.disc_shape, (torch.tensor([0.01, 0.7, 1.3, 9.0, 31.0, 33.0, 200.0], dtype=torch.float64, requires_grad=True),))


def test_gradients_are_finite_at_zero_radius():
    p = {k: torch.tensor([v], dtype=torch.float64, requires_grad=True) for k, v in {"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}.items()}
    rc = tb.rotation_curves(p, torch.tensor([0.0, 0.5, 8.0], dtype=torch.float64))
    (rc.v_circ.sum() + rc.v_disc.sum() + rc.v_halo.sum()).backward()
    for k, t in p.items():
        assert torch.isfinite(t.grad).all(), k
    # d v_disc / d Md = v_disc / (2 Md)
    v = rc.v_disc.detach()
    pd = {k: t.detach().clone().requires_grad_(k == "Md") for k, t in p.items()}
    tb.rotation_curves(pd, torch.tensor([0.0, 0.5, 8.0], dtype=torch.float64)).v_disc.sum().backward()
    assert pd["Md"].grad.item() == pytest.approx((v.sum() / (2 * 1e10)).item(), rel=1e-12)


def test_dtype_scalars_and_inputs():
    radii = torch.linspace(0.1, 30.0, 7, dtype=torch.float32)
    rc = tb.rotation_curves({"Md": 5e10, "Rd": 3.0, "Mh": 1e12, "c": 10.0}, radii)
    assert rc.v_circ.dtype == torch.float32 and tuple(rc.v_circ.shape) == (1, 7)
    ref = rotation_curves({"Md": 5e10, "Rd": 3.0, "Mh": 1e12, "c": 10.0}, radii.double().numpy())
    np.testing.assert_allclose(rc.v_circ.numpy(), ref.v_circ, rtol=1e-5)
    rec = np.zeros(2, dtype=[("Md", "f8"), ("Rd", "f8"), ("Mh", "f8"), ("c", "f8")])
    rec["Md"], rec["Rd"], rec["Mh"], rec["c"] = 1e10, 2.0, 1e12, [8.0, 12.0]
    assert tuple(tb.rotation_curves(rec, [1.0, 2.0]).v_halo.shape) == (2, 2)


@pytest.mark.parametrize(
    ("params", "radii", "match"),
    [
        ({"Md": [1e10, -1.0], "Rd": 2.0, "Mh": 1e12, "c": 10.0}, [1.0], r"Md must be positive and finite; Md\[1\] = -1.0"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": float("nan")}, [1.0], "c must be positive and finite; c = nan"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}, [1.0, -1.0], r"radii must be finite and >= 0 kpc; radii\[1\] = -1.0"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12}, [1.0], "parameter c is missing"),
        ({"Md": [1e10, 2e10], "Rd": [2.0, 3.0, 1.0], "Mh": 1e12, "c": 10.0}, [1.0], "different lengths"),
        ({"Md": 1e10, "Rd": 2.0, "Mh": 1e12, "c": 10.0}, [[1.0]], "1-D"),
    ],
)
def test_validation(params, radii, match):
    with pytest.raises(ConfigError, match=match):
        tb.rotation_curves(params, torch.tensor(radii, dtype=torch.float64))


@pytest.mark.gpu
def test_cuda_matches_cpu(reference_params):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    radii = np.logspace(-1, np.log10(50.0), 50)
    ref = rotation_curves(reference_params, radii, method="exact")
    p = {k: torch.tensor(v, device="cuda") for k, v in reference_params.items()}
    got = tb.rotation_curves(p, torch.tensor(radii, device="cuda"))
    for g, r in zip(got, ref):
        assert g.device.type == "cuda"
        np.testing.assert_allclose(g.cpu().numpy(), r, rtol=1e-9)
