"""The exponential stellar disc (Freeman 1970).

A razor-thin disc with surface density ``Sigma(R) = Md / (2 pi Rd^2) exp(-R/Rd)``
has the circular velocity

.. math::

    v^2(R) = \\frac{2 G M_d}{R_d}\\, y^2 \\left[I_0(y) K_0(y) - I_1(y) K_1(y)\\right],
    \\qquad y = \\frac{R}{2 R_d},

(Freeman 1970, ApJ 160, 811, eq. 10; Binney & Tremaine 2008, eq. 2.165).
The dimensionless shape ``g(y) = y^2 [I0 K0 - I1 K1]`` is :func:`disc_shape`.

Numerics
--------
*Exact path* (:func:`disc_shape`): for ``y < 32`` the products are formed from
exponentially scaled Bessel functions, ``I_n(y) K_n(y) = i_ne(y) k_ne(y)``
exactly (no overflow, no underflow).  The difference ``I0 K0 - I1 K1`` loses
about ``log10(2 y^2)`` digits, so for ``y >= 32`` the asymptotic expansion

.. math::

    I_\\nu K_\\nu(y) \\sim \\frac{1}{2y} \\sum_k (-1)^k
    \\frac{(2k-1)!!}{(2k)!!} \\frac{\\prod_{m=1}^k (4\\nu^2 - (2m-1)^2)}{(2y)^{2k}}

(DLMF 10.40.6 multiplied out) is subtracted term by term, analytically:
``g(y) = 1/(4y) (1 + 9/(8 y^2) + ...)``, 13 terms, truncation error below
1e-19 at ``y = 32``.  For ``y < 1e-30``, ``g = y^2 (ln(2/y) - gamma - 1/2)``
(the leading terms of the small-``y`` series).  ``g(0) = 0``; ``g(inf) = 0``.

*Fast path* (``method="fast"``): ``g`` depends on ``y`` alone, so it is
tabulated once (lazily, cached) as ``q(t) = g(e^t)`` on a uniform grid in
``t = ln y`` and evaluated as a piecewise cubic Hermite polynomial built from
exact values and exact derivatives.  Its relative error is below 2e-10
(verified against mpmath in the tests).  Since ``ln y_ij = ln R_j - ln(2 Rd_i)``
no logarithm is taken per point.  Points outside the table use the exact path.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Literal

import numpy as np
from scipy import special

from rotcurve.errors import ConfigError
from rotcurve.physics.base import Component
from rotcurve.units import G, to_value

__all__ = [
    "ExponentialDisc",
    "disc_shape",
    "disc_shape_dlogy",
    "DISC_METHODS",
    "Y_ASYMPTOTIC",
    "Y_TINY",
    "DiscTable",
    "disc_table",
]

#: Evaluation methods of the disc shape.
DISC_METHODS: tuple[str, ...] = ("fast", "exact")

#: Above this ``y`` the exact path uses the asymptotic expansion.
Y_ASYMPTOTIC: float = 32.0

#: Below this ``y`` the exact path uses ``g = y^2 (ln(2/y) - gamma - 1/2)``
#: (relative error ~ y^2 ln y; avoids 0 * inf in the Bessel products).
Y_TINY: float = 1e-30

_N_ASYM = 13  # terms of the asymptotic series (truncation < 1e-19 at y = 32)


def _asymptotic_coefficients(n_terms: int) -> np.ndarray:
    """Coefficients ``e_k`` with ``g(y) = 1/(4y) sum_k e_k (2y)^(-2k)``, ``e_0 = 1``."""

    def a(k: int, nu: int) -> Fraction:
        mu = 4 * nu * nu
        c = Fraction(1)
        for m in range(1, k + 1):
            c *= Fraction(2 * m - 1, 2 * m) * (mu - (2 * m - 1) ** 2)
        return (-1) ** k * c

    d = [a(k, 0) - a(k, 1) for k in range(1, n_terms + 1)]  # d_0 = 0
    return np.array([float(dk / d[0]) for dk in d])


_ASYM = _asymptotic_coefficients(_N_ASYM)


def _asymptotic(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``g(y)`` and ``dg/dln y`` from the asymptotic series (``y >= ~20``)."""
    w = 1.0 / (2.0 * y)
    w2 = w * w
    s = np.zeros_like(y)
    ds = np.zeros_like(y)
    for k in range(_N_ASYM - 1, -1, -1):
        s = s * w2 + _ASYM[k]
        ds = ds * w2 + (-1.0 - 2.0 * k) * _ASYM[k]
    q = w * 0.5  # 1 / (4 y)
    return q * s, q * ds


def _exact(y: np.ndarray, derivative: bool) -> tuple[np.ndarray, np.ndarray | None]:
    y = np.asarray(y, dtype=np.float64)
    neg = y < 0.0
    if neg.any():
        raise ConfigError(f"disc_shape needs y >= 0; got y = {y[neg].flat[0]!r}")
    g = np.empty_like(y)
    dg = np.empty_like(y) if derivative else None
    big = y >= Y_ASYMPTOTIC
    tiny = (y > 0.0) & (y < Y_TINY)
    small = ~big & (y >= Y_TINY)
    if small.any():
        ys = y[small]
        i0, i1 = special.i0e(ys), special.i1e(ys)
        k0, k1 = special.k0e(ys), special.k1e(ys)
        y2 = ys * ys
        g[small] = y2 * (i0 * k0 - i1 * k1)
        if dg is not None:
            # d g / d ln y = 2 y^2 I0 K0 + 2 y^3 (I1 K0 - I0 K1)
            dg[small] = 2.0 * y2 * (i0 * k0 + ys * (i1 * k0 - i0 * k1))
    if big.any():
        gb, dgb = _asymptotic(y[big])
        g[big] = gb
        if dg is not None:
            dg[big] = dgb
    if tiny.any():
        yt = y[tiny]
        log_term = (np.log(2.0) - np.euler_gamma) - np.log(yt)
        g[tiny] = yt * yt * (log_term - 0.5)
        if dg is not None:
            dg[tiny] = 2.0 * yt * yt * (log_term - 1.0)
    zero = y == 0.0
    g[zero] = 0.0
    if dg is not None:
        dg[zero] = 0.0
    nan = np.isnan(y)
    g[nan] = np.nan
    if dg is not None:
        dg[nan] = np.nan
    return g, dg


def disc_shape(y: Any, *, method: Literal["exact", "fast"] = "exact") -> np.ndarray:
    """The dimensionless disc shape ``g(y) = y^2 [I0(y) K0(y) - I1(y) K1(y)]``.

    Parameters
    ----------
    y : array_like, any shape
        ``R / (2 Rd)``, ``>= 0`` (``inf`` gives 0, NaN gives NaN); a
        dimensionless Quantity (e.g. ``R / (2 * Rd)`` with units) is
        converted.
    method : {"exact", "fast"}, keyword-only
        ``"exact"``: scaled Bessel products and the asymptotic series;
        ``"fast"``: the tabulated cubic Hermite interpolant (relative error
        < 2e-10), exact outside the table.

    Returns
    -------
    numpy.ndarray, same shape as ``y``, float64
        ``g(y)``; ``v_disc^2 = 2 G Md / Rd * g(y)``.  Peak 0.1935... at
        ``y = 1.0750``; ``g -> 1/(4y)`` at large ``y``.
    """
    y = to_value(y, "1", "y")
    if method == "exact":
        return _exact(y, derivative=False)[0]
    if method == "fast":
        y = np.asarray(y, dtype=np.float64)
        neg = y < 0.0
        if neg.any():
            raise ConfigError(f"disc_shape needs y >= 0; got y = {y[neg].flat[0]!r}")
        with np.errstate(divide="ignore"):
            t = np.log(y)
        return disc_table()._eval(t, y)
    raise ConfigError(f"unknown disc method {method!r}; choose one of {', '.join(DISC_METHODS)}")


def disc_shape_dlogy(y: Any) -> np.ndarray:
    """Exact logarithmic derivative ``dg / dln y = y dg/dy`` of :func:`disc_shape`.

    Parameters
    ----------
    y : array_like, any shape
        ``>= 0``.

    Returns
    -------
    numpy.ndarray, same shape as ``y``, float64
        ``2 y^2 I0 K0 + 2 y^3 (I1 K0 - I0 K1)`` (asymptotic series for
        ``y >= 32``).
    """
    return _exact(to_value(y, "1", "y"), derivative=True)[1]  # type: ignore[return-value]


@dataclass(frozen=True)
class DiscTable:
    """Piecewise cubic Hermite table of ``q(t) = g(e^t)`` on a uniform grid.

    Attributes
    ----------
    t0 : float
        ``ln y`` of the first node.
    inv_h : float
        Nodes per unit of ``ln y``.
    n : int
        Number of intervals.
    coef : numpy.ndarray, shape (n, 4), float64
        ``q(t0 + (k + s) h) = c0 + s (c1 + s (c2 + s c3))`` on interval ``k``,
        ``0 <= s < 1``.
    """

    t0: float
    inv_h: float
    n: int
    coef: np.ndarray
    _columns: tuple[np.ndarray, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # one contiguous array per coefficient: four 8-byte gathers are faster
        # than one 32-byte gather followed by strided arithmetic
        columns = tuple(np.ascontiguousarray(self.coef[:, i]) for i in range(4))
        for c in columns:
            c.setflags(write=False)
        object.__setattr__(self, "_columns", columns)

    @property
    def t1(self) -> float:
        """``ln y`` of the last node."""
        return self.t0 + self.n / self.inv_h

    def eval_scaled(self, u: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Evaluate at table coordinates ``u = (ln y - t0) inv_h``, in place.

        Parameters
        ----------
        u : numpy.ndarray, float64, any shape
            Table coordinates, must lie in ``[0, n)``; overwritten.
        out : numpy.ndarray, same shape as ``u``, float64
            Receives ``g``.  May not alias ``u``.

        Returns
        -------
        numpy.ndarray
            ``out``.
        """
        k = u.astype(np.intp)  # interval (u >= 0, so truncation is floor)
        np.subtract(u, k, out=u)  # s in [0, 1)
        c0, c1, c2, c3 = self._columns
        np.multiply(c3.take(k), u, out=out)
        np.add(out, c2.take(k), out=out)
        np.multiply(out, u, out=out)
        np.add(out, c1.take(k), out=out)
        np.multiply(out, u, out=out)
        np.add(out, c0.take(k), out=out)
        return out

    def eval_log(self, t: Any) -> np.ndarray:
        """``g(e^t)`` for any ``t = ln y`` (exact outside the table).

        Parameters
        ----------
        t : array_like, any shape
            ``ln y``; ``-inf`` gives 0.

        Returns
        -------
        numpy.ndarray, same shape as ``t``, float64
        """
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(over="ignore"):
            return self._eval(t, np.exp(t))

    def _eval(self, t: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Table inside its range, exact :func:`disc_shape` of ``y = e^t`` outside."""
        u = (t - self.t0) * self.inv_h
        inside = (u >= 0.0) & (u < self.n)
        out = np.empty_like(t)
        ui = np.ascontiguousarray(u[inside])
        out[inside] = self.eval_scaled(ui, np.empty_like(ui))
        if not inside.all():
            out[~inside] = disc_shape(y[~inside])
        return out


#: Table range in ln y and resolution (intervals per unit ln y).
_TABLE_T0 = float(np.log(1e-6))
_TABLE_T1 = float(np.log(1e6))
_TABLE_PER_UNIT = 128


@functools.cache
def disc_table() -> DiscTable:
    """The cached :class:`DiscTable` for ``1e-6 <= y < 1e6`` (built on first use, ~ms)."""
    inv_h = float(_TABLE_PER_UNIT)
    n = int(np.ceil((_TABLE_T1 - _TABLE_T0) * inv_h))
    t = _TABLE_T0 + np.arange(n + 1) / inv_h
    g, dg = _exact(np.exp(t), derivative=True)
    assert dg is not None
    h = 1.0 / inv_h
    g0, g1 = g[:-1], g[1:]
    d0, d1 = dg[:-1] * h, dg[1:] * h
    coef = np.empty((n, 4))
    coef[:, 0] = g0
    coef[:, 1] = d0
    coef[:, 2] = 3.0 * (g1 - g0) - 2.0 * d0 - d1
    coef[:, 3] = 2.0 * (g0 - g1) + d0 + d1
    coef.setflags(write=False)
    return DiscTable(t0=_TABLE_T0, inv_h=inv_h, n=n, coef=coef)


class ExponentialDisc(Component):
    """Exponential (Freeman) disc: ``v^2 = 2 G Md / Rd * g(R / (2 Rd))``.

    Parameters
    ----------
    method : {"fast", "exact"}, keyword-only
        How :func:`disc_shape` is evaluated (both agree to < 2e-10 relative).

    Notes
    -----
    Parameters of :meth:`v2`: ``Md`` [Msun] disc mass, ``Rd`` [kpc] scale
    length.  ``v2(0) = 0``; ``v2 -> G Md / R (1 + 4.5 (Rd/R)^2)`` at large R.
    """

    param_names: ClassVar[tuple[str, ...]] = ("Md", "Rd")
    param_units: ClassVar[Mapping[str, str]] = {"Md": "Msun", "Rd": "kpc"}

    def __init__(self, *, method: Literal["fast", "exact"] = "fast") -> None:
        if method not in DISC_METHODS:
            raise ConfigError(f"unknown disc method {method!r}; choose one of {', '.join(DISC_METHODS)}")
        self.method = method

    def __repr__(self) -> str:
        return f"ExponentialDisc(method={self.method!r})"

    def prepare(self, radii: np.ndarray) -> Any:
        if self.method == "exact":
            return radii
        table = disc_table()
        # table coordinate of the point (i, j): a_j - b_i
        a = (np.log(radii) - table.t0) * table.inv_h
        return _DiscPrepared(table, radii, a, float(a.min()), float(a.max()))

    def v2_block(self, prepared: Any, params: Mapping[str, np.ndarray], out: np.ndarray) -> None:
        md, rd = params["Md"], params["Rd"]
        amp = (2.0 * G) * md / rd  # (b,) (km/s)^2
        if self.method == "exact":
            out[...] = disc_shape(prepared[None, :] / (2.0 * rd[:, None]))
            np.multiply(out, amp[:, None], out=out)
            return
        p: _DiscPrepared = prepared
        table = p.table
        b = np.log(2.0 * rd) * table.inv_h  # (b,)
        # curves whose every point lies inside the table
        ok = (p.a_min - b >= 0.0) & (p.a_max - b < table.n)
        u = np.subtract(p.a[None, :], b[:, None])
        table.eval_scaled(np.clip(u, 0.0, table.n - 0.5, out=u) if not ok.all() else u, out)
        if not ok.all():
            rows = np.flatnonzero(~ok)
            out[rows] = disc_shape(p.radii[None, :] / (2.0 * rd[rows, None]))
        np.multiply(out, amp[:, None], out=out)


@dataclass(frozen=True)
class _DiscPrepared:
    table: DiscTable
    radii: np.ndarray
    a: np.ndarray
    a_min: float
    a_max: float
