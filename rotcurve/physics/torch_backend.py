"""The rotation-curve physics on torch tensors: same names, same formulas.

A twin of :mod:`rotcurve.physics` for use inside torch code (physics-aware
decoders, checks on a GPU, differentiable fits): tensors in, tensors out, on
any device and floating dtype.  It agrees with the numpy exact path to ~1e-13
relative in float64 (tested to 1e-9).  Import it explicitly; it is the only
physics module that imports torch::

    from rotcurve.physics import torch_backend as tb
    rc = tb.rotation_curves({"Md": md, "Rd": rd, "Mh": mh, "c": c}, radii)

The disc uses :func:`torch.special.i0e`, :func:`torch.special.i1e`,
:func:`torch.special.scaled_modified_bessel_k0` and
:func:`torch.special.scaled_modified_bessel_k1` for ``1e-30 <= y < 32``, the
same asymptotic series as numpy above and the same small-``y`` limit below.
Because torch has no derivative for the scaled ``K`` functions, :func:`disc_shape` is an autograd function with the
exact analytic derivative ``dg/dy = 2 y I0 K0 + 2 y^2 (I1 K0 - I0 K1)``; all
functions here are differentiable once (also at ``R = 0``, where the gradient
is set to 0 instead of NaN).  Lower precisions (float32, ...) evaluate the disc
shape in float64 and round once, because ``I0 K0 - I1 K1`` cancels (in plain
float32 the error would reach ~3e-4 near ``y = 30``); on Apple ``mps``, which
has no float64, they stay in their own dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rotcurve.errors import ConfigError
from rotcurve.physics.curves import PARAM_NAMES, RotationCurves
from rotcurve.physics.disc import _ASYM, Y_ASYMPTOTIC, Y_TINY
from rotcurve.physics.halo import _F_SERIES, U_SERIES, _check_cosmology
from rotcurve.units import DELTA_DEFAULT, G, H0_DEFAULT, PARAM_UNITS, hubble_kpc, to_value

__all__ = [
    "rotation_curves",
    "RotationCurves",
    "disc_shape",
    "disc_v2",
    "halo_v2",
    "nfw_f",
    "nfw_mass_fraction",
    "r_delta",
]

_ASYM_LIST = [float(a) for a in _ASYM]
_F_LIST = [float(a) for a in _F_SERIES]


def _g_and_dlogy(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``g(y)`` and ``dg/dln y`` (no autograd)."""
    big = y >= Y_ASYMPTOTIC
    tiny = (y > 0.0) & (y < Y_TINY)
    small = (y >= Y_TINY) & ~big
    ys = torch.where(small, y, torch.ones_like(y))
    i0, i1 = torch.special.i0e(ys), torch.special.i1e(ys)
    k0 = torch.special.scaled_modified_bessel_k0(ys)
    k1 = torch.special.scaled_modified_bessel_k1(ys)
    y2 = ys * ys
    g_small = y2 * (i0 * k0 - i1 * k1)
    dg_small = 2.0 * y2 * (i0 * k0 + ys * (i1 * k0 - i0 * k1))
    yb = torch.where(big, y, torch.full_like(y, Y_ASYMPTOTIC))
    w = 0.5 / yb
    w2 = w * w
    s = torch.zeros_like(y)
    ds = torch.zeros_like(y)
    for k in range(len(_ASYM_LIST) - 1, -1, -1):
        s = s * w2 + _ASYM_LIST[k]
        ds = ds * w2 + (-1.0 - 2.0 * k) * _ASYM_LIST[k]
    q = 0.5 * w
    yt = torch.where(tiny, y, torch.ones_like(y))
    log_term = (np.log(2.0) - np.euler_gamma) - torch.log(yt)
    g_tiny = yt * yt * (log_term - 0.5)
    dg_tiny = 2.0 * yt * yt * (log_term - 1.0)
    zero = torch.zeros_like(y)
    g = torch.where(big, q * s, torch.where(small, g_small, torch.where(tiny, g_tiny, zero)))
    dg = torch.where(big, q * ds, torch.where(small, dg_small, torch.where(tiny, dg_tiny, zero)))
    nan = torch.isnan(y)
    g = torch.where(nan, y, g)
    return g, dg


class _DiscShape(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if y.dtype == torch.float64 or y.device.type == "mps":
            g, dg = _g_and_dlogy(y)
        else:  # I0 K0 - I1 K1 cancels (~2 y^2): evaluate in float64, round once
            g64, dg64 = _g_and_dlogy(y.to(torch.float64))
            g, dg = g64.to(y.dtype), dg64.to(y.dtype)
        ctx.save_for_backward(y, dg)
        return g

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        y, dg = ctx.saved_tensors
        pos = y > 0.0
        dgdy = torch.where(pos, dg / torch.where(pos, y, torch.ones_like(y)), torch.zeros_like(y))
        return grad * dgdy


def disc_shape(y: torch.Tensor) -> torch.Tensor:
    """``g(y) = y^2 [I0(y) K0(y) - I1(y) K1(y)]`` on a tensor; see :func:`rotcurve.physics.disc_shape`.

    Parameters
    ----------
    y : torch.Tensor, any shape, floating
        ``R / (2 Rd) >= 0``.

    Returns
    -------
    torch.Tensor, same shape, dtype and device as ``y``
        ``g(y)``; differentiable (exact analytic derivative).
    """
    return _DiscShape.apply(y)


def nfw_f(u: torch.Tensor) -> torch.Tensor:
    """``f(u) = ln(1 + u) - u / (1 + u)`` with the small-``u`` series; see :func:`rotcurve.physics.nfw_f`.

    Parameters
    ----------
    u : torch.Tensor, any shape, floating
        ``r / r_s >= 0``.

    Returns
    -------
    torch.Tensor, same shape as ``u``
    """
    small = u < U_SERIES
    us = torch.where(small, u, torch.zeros_like(u))
    s = torch.full_like(u, _F_LIST[-1])
    for coef in _F_LIST[-2::-1]:
        s = s * us + coef
    series = s * us * us
    ub = torch.where(small, torch.ones_like(u), u)
    direct = torch.log1p(ub) - ub / (1.0 + ub)
    return torch.where(small, series, direct)


def r_delta(Mh: torch.Tensor, *, H0: float = H0_DEFAULT, Delta: float = DELTA_DEFAULT) -> torch.Tensor:
    """``R_Delta = (2 G Mh / (Delta H^2))^(1/3)`` in kpc; see :func:`rotcurve.physics.r_delta`.

    Parameters
    ----------
    Mh : torch.Tensor, any shape
        Halo mass in Msun.
    H0 : float, keyword-only
        km/s/Mpc.
    Delta : float, keyword-only
        Overdensity relative to critical.

    Returns
    -------
    torch.Tensor, same shape as ``Mh``
    """
    H0, Delta = _check_cosmology(H0, Delta)
    h = hubble_kpc(H0)
    return torch.pow((2.0 * G / (Delta * h * h)) * Mh, 1.0 / 3.0)


def nfw_mass_fraction(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``f(c x) / f(c)``: fraction of ``M_Delta`` within ``x R_Delta``."""
    return nfw_f(c * x) / nfw_f(c)


def _safe_radii(radii: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pos = radii > 0.0
    return pos, torch.where(pos, radii, torch.ones_like(radii))


def disc_v2(radii: torch.Tensor, Md: torch.Tensor, Rd: torch.Tensor) -> torch.Tensor:
    """Exponential-disc ``v^2`` [(km/s)^2], shape (N, n_r), from radii (n_r,) and Md, Rd (N,)."""
    y = radii[None, :] / (2.0 * Rd[:, None])
    return (2.0 * G) * (Md / Rd)[:, None] * disc_shape(y)


def halo_v2(
    radii: torch.Tensor,
    Mh: torch.Tensor,
    c: torch.Tensor,
    *,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
) -> torch.Tensor:
    """NFW ``v^2`` [(km/s)^2], shape (N, n_r), from radii (n_r,) and Mh, c (N,); ``v2(0) = 0``."""
    pos, r = _safe_radii(radii)
    x = c / r_delta(Mh, H0=H0, Delta=Delta)
    amp = G * Mh / nfw_f(c)
    v2 = amp[:, None] * nfw_f(r[None, :] * x[:, None]) / r[None, :]
    return torch.where(pos[None, :], v2, torch.zeros_like(v2))


def _safe_sqrt(v2: torch.Tensor) -> torch.Tensor:
    pos = v2 > 0.0
    return torch.where(pos, torch.sqrt(torch.where(pos, v2, torch.ones_like(v2))), torch.zeros_like(v2))


def _check(name: str, a: torch.Tensor, *, allow_zero: bool) -> None:
    ok = torch.isfinite(a) & ((a >= 0.0) if allow_zero else (a > 0.0))
    if not bool(ok.all()):
        bad = (~ok).reshape(-1).nonzero()[0, 0].item()
        value = a.reshape(-1)[bad].item()
        what = "finite and >= 0 kpc" if allow_zero else "positive and finite"
        kind = "" if allow_zero else "parameter "
        where = f"{name}[{bad}]" if a.ndim else name
        raise ConfigError(f"{kind}{name} must be {what}; {where} = {value!r}")


def rotation_curves(
    params: Any,
    radii: Any,
    *,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    validate: bool = True,
) -> RotationCurves:
    """Disc + NFW rotation curves on tensors; see :func:`rotcurve.physics.rotation_curves`.

    Parameters
    ----------
    params : mapping (dict, DataFrame, structured array)
        ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun], ``c``: tensors, arrays or
        scalars of shape () or (N,); converted to the dtype and device of
        ``radii``.
    radii : torch.Tensor or array_like, shape (n_r,)
        Radii in kpc; a non-tensor becomes a float64 CPU tensor.
    H0, Delta : float, keyword-only
        Hubble constant [km/s/Mpc] and overdensity relative to critical
        (astropy Quantities are converted, as are non-tensor ``params`` and
        ``radii``; tensors are taken to be in kpc, Msun).
    validate : bool, keyword-only
        Check the inputs (positive, finite, radii ``>= 0``; one device sync).
        Turn off inside hot loops on trusted inputs.

    Returns
    -------
    RotationCurves
        ``v_circ``, ``v_disc``, ``v_halo``: tensors (N, n_r) in km/s, dtype and
        device of ``radii``; differentiable with respect to the inputs.
    """
    H0, Delta = _check_cosmology(H0, Delta)
    if not isinstance(radii, torch.Tensor):
        radii = torch.as_tensor(np.asarray(to_value(radii, "kpc", "radii"), dtype=np.float64))
    r = radii
    if not r.is_floating_point():
        r = r.to(torch.float64)
    if r.ndim != 1 or r.numel() == 0:
        raise ConfigError(f"radii must be a non-empty 1-D array of radii in kpc, got shape {tuple(r.shape)}")
    dtype_names = getattr(getattr(params, "dtype", None), "names", None)
    if dtype_names is not None:
        params = {n: params[n] for n in dtype_names}
    p: dict[str, torch.Tensor] = {}
    for name in PARAM_NAMES:
        if name not in params:
            raise ConfigError(f"parameter {name} is missing (need {', '.join(PARAM_NAMES)})")
        value = params[name]
        if hasattr(value, "to_numpy"):
            value = value.to_numpy()
        if not isinstance(value, torch.Tensor):
            value = to_value(value, PARAM_UNITS[name], name)
        t = torch.as_tensor(value, dtype=r.dtype, device=r.device)
        if t.ndim > 1:
            raise ConfigError(f"parameter {name} must be a scalar or 1-D array, got shape {tuple(t.shape)}")
        p[name] = t
    try:
        shape = torch.broadcast_shapes(*(t.shape for t in p.values()))
    except RuntimeError:
        sizes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in p.items())
        raise ConfigError(f"parameters have different lengths ({sizes}); give one value per curve") from None
    if validate:
        _check("radii", r, allow_zero=True)
        for name, t in p.items():
            _check(name, t, allow_zero=False)
    n = shape[0] if shape else 1
    md, rd, mh, c = (p[k].expand(n) if p[k].ndim else p[k].reshape(1).expand(n) for k in PARAM_NAMES)
    v2d = disc_v2(r, md, rd)
    v2h = halo_v2(r, mh, c, H0=H0, Delta=Delta)
    return RotationCurves(v_circ=_safe_sqrt(v2d + v2h), v_disc=_safe_sqrt(v2d), v_halo=_safe_sqrt(v2h))
