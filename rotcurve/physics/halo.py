"""The NFW dark-matter halo (Navarro, Frenk & White 1996, 1997).

The density ``rho(r) = rho_s / [(r/r_s) (1 + r/r_s)^2]`` encloses

.. math::

    M(<r) = M_\\Delta \\frac{f(c\\, r / R_\\Delta)}{f(c)}, \\qquad
    f(u) = \\ln(1 + u) - \\frac{u}{1 + u},

so ``v^2(R) = G M(<R) / R``.  The halo mass ``Mh = M_Delta`` is the mass within
``R_Delta``, the radius enclosing a mean density ``Delta`` times the critical
density ``rho_crit = 3 H0^2 / (8 pi G)`` at z = 0:

.. math::

    R_\\Delta = \\left(\\frac{2 G M_h}{\\Delta H_0^2}\\right)^{1/3}
    \\quad (= (G M_h / (100 H_0^2))^{1/3} \\text{ for } \\Delta = 200),

with ``H0`` in km/s/kpc (:func:`rotcurve.units.hubble_kpc`).  ``c = R_Delta / r_s``.

Numerics: ``f(u)`` uses ``log1p``; the two terms cancel for small ``u``,
losing about ``1.5 eps / u`` relative, so for ``u < 1e-4`` the series
``f(u) = sum_{n>=2} (-1)^n (n-1)/n u^n`` is used instead (10 terms, truncation
< 1e-36 relative).  The relative error is below 4e-12 everywhere (largest
just above ``u = 1e-4``; < 3e-13 for ``u > 1e-3``, which covers the
innermost radii of typical halos).  The threshold is this low so that the series branch, which
costs as much as the rest of the halo, is almost never taken (it needs
``r_s > 1e4 R``).  ``v(0) = 0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.physics.base import Component
from rotcurve.units import DELTA_DEFAULT, G, H0_DEFAULT, hubble_kpc, to_value

__all__ = ["NFWHalo", "nfw_f", "nfw_mass_fraction", "r_delta", "U_SERIES"]

#: Below this ``u`` :func:`nfw_f` uses its Taylor series.  Above it the direct
#: formula's cancellation error is ~1.5 eps / u < 4e-12 relative.
U_SERIES: float = 1e-4

# f(u) = u^2 * sum_{m>=0} _F_SERIES[m] u^m,  _F_SERIES[m] = (-1)^m (m+1)/(m+2)
_F_SERIES = np.array([(-1.0) ** m * (m + 1) / (m + 2) for m in range(10)])


def _check_cosmology(H0: Any, Delta: Any) -> tuple[float, float]:
    """``(H0 [km/s/Mpc], Delta)`` as floats (Quantities converted), or ConfigError."""
    H0 = to_value(H0, "km/s/Mpc", "H0")
    Delta = to_value(Delta, "1", "Delta")
    if isinstance(H0, np.ndarray) and H0.ndim == 0:
        H0 = H0[()]
    if isinstance(Delta, np.ndarray) and Delta.ndim == 0:
        Delta = Delta[()]
    for name, value in (("H0", H0), ("Delta", Delta)):
        if not (
            isinstance(value, (int, float, np.floating, np.integer))
            and not isinstance(value, bool)
            and np.isfinite(value)
            and value > 0
        ):
            raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return float(H0), float(Delta)


def _f_series(u: np.ndarray) -> np.ndarray:
    s = np.full_like(u, _F_SERIES[-1])
    for coef in _F_SERIES[-2::-1]:
        s *= u
        s += coef
    return s * u * u


def nfw_f(u: Any) -> np.ndarray:
    """The NFW mass profile ``f(u) = ln(1 + u) - u / (1 + u)``.

    Parameters
    ----------
    u : array_like, any shape
        ``r / r_s >= 0`` (a dimensionless Quantity is converted).

    Returns
    -------
    numpy.ndarray, same shape as ``u``, float64
        ``f(u)``, relative error < 4e-12 for every ``u`` (largest just above
        :data:`U_SERIES`, below which the series ``u^2/2 - 2u^3/3 + ...``
        takes over); ``f(0) = 0``.
    """
    u = np.asarray(to_value(u, "1", "u"), dtype=np.float64)
    flat = u.reshape(-1)
    out = np.log1p(flat) - flat / (1.0 + flat)
    small = flat < U_SERIES
    if small.any():
        out[small] = _f_series(flat[small])
    return out.reshape(u.shape)


def r_delta(Mh: Any, *, H0: float = H0_DEFAULT, Delta: float = DELTA_DEFAULT) -> np.ndarray:
    """Halo radius ``R_Delta`` enclosing mean density ``Delta rho_crit``.

    Parameters
    ----------
    Mh : array_like, any shape
        Halo mass ``M_Delta`` in Msun (or an astropy Quantity of any mass
        unit).
    H0 : float, keyword-only
        Hubble constant in km/s/Mpc (or a Quantity, e.g. in 1/s).
    Delta : float, keyword-only
        Overdensity relative to the critical density at z = 0.

    Returns
    -------
    numpy.ndarray, same shape as ``Mh``, float64
        ``R_Delta = (2 G Mh / (Delta H^2))^(1/3)`` in kpc (plain numbers).
    """
    H0, Delta = _check_cosmology(H0, Delta)
    h = hubble_kpc(H0)
    mh = np.asarray(to_value(Mh, "Msun", "Mh"), dtype=np.float64)
    return np.cbrt(2.0 * G * mh / (Delta * h * h))


def nfw_mass_fraction(x: Any, c: Any) -> np.ndarray:
    """Fraction of ``M_Delta`` enclosed within ``r = x R_Delta``: ``f(c x) / f(c)``.

    Parameters
    ----------
    x : array_like
        ``r / R_Delta >= 0``.
    c : array_like
        Concentration ``R_Delta / r_s > 0``; broadcasts with ``x``.

    Returns
    -------
    numpy.ndarray, broadcast shape, float64
    """
    x = np.asarray(to_value(x, "1", "x"), dtype=np.float64)
    c = np.asarray(to_value(c, "1", "c"), dtype=np.float64)
    return nfw_f(c * x) / nfw_f(c)


class NFWHalo(Component):
    """NFW halo: ``v^2 = G Mh / R * f(c R / R_Delta) / f(c)``.

    Parameters
    ----------
    H0 : float, keyword
        Hubble constant in km/s/Mpc (default 70; an astropy Quantity is
        converted).
    Delta : float, keyword
        Overdensity relative to the critical density at z = 0 (default 200).

    Notes
    -----
    Parameters of :meth:`v2`: ``Mh`` [Msun] = ``M_Delta``, ``c`` concentration.
    """

    param_names: ClassVar[tuple[str, ...]] = ("Mh", "c")
    param_units: ClassVar[Mapping[str, str]] = {"Mh": "Msun", "c": "1"}

    def __init__(self, H0: float = H0_DEFAULT, Delta: float = DELTA_DEFAULT) -> None:
        self.H0, self.Delta = _check_cosmology(H0, Delta)

    def __repr__(self) -> str:
        return f"NFWHalo(H0={self.H0!r}, Delta={self.Delta!r})"

    def r_delta(self, Mh: Any) -> np.ndarray:
        """``R_Delta`` in kpc for this halo's ``H0`` and ``Delta``; see :func:`r_delta`."""
        return r_delta(Mh, H0=self.H0, Delta=self.Delta)

    def prepare(self, radii: np.ndarray) -> Any:
        return _HaloPrepared(radii, 1.0 / radii, float(radii.min()))

    def v2_block(self, prepared: Any, params: Mapping[str, np.ndarray], out: np.ndarray) -> None:
        p: _HaloPrepared = prepared
        mh, c = params["Mh"], params["c"]
        x = c / self.r_delta(mh)  # 1 / r_s, (b,)
        amp = G * mh / nfw_f(c)  # (b,)
        u = np.multiply(p.radii[None, :], x[:, None])
        # f(u) = log1p(u) - u / (1 + u), in place
        np.log1p(u, out=out)
        w = np.add(u, 1.0)
        np.divide(u, w, out=w)
        np.subtract(out, w, out=out)
        rows = np.flatnonzero(p.r_min * x < U_SERIES)  # almost never: needs r_s > 1e4 r_min
        if rows.size:
            ub = u[rows]
            small = ub < U_SERIES
            fb = out[rows]
            fb[small] = _f_series(ub[small])
            out[rows] = fb
        np.multiply(out, amp[:, None], out=out)
        np.multiply(out, p.inv_r[None, :], out=out)


@dataclass(frozen=True)
class _HaloPrepared:
    radii: np.ndarray
    inv_r: np.ndarray
    r_min: float
