"""Dark-matter halo components of the fit models, and their 200c quantities.

A halo component contributes ``v2`` [(km/s)^2] at the galaxy's radii for a
block of walkers and knows its derived quantities ``V200`` [km/s],
``R200`` [kpc], ``C200`` and ``M200`` [Msun] (the halo at 200 times the
critical density for the fit's ``H0``).  Components are registered by name in
:data:`HALOS`; a new profile is one more subclass of :class:`Halo`.

:class:`NFW` evaluates the NFW halo of :mod:`rotcurve.physics`
(:class:`rotcurve.physics.NFWHalo`, its cache-friendly block evaluation) with
parameters ``Mh`` = ``M_Delta`` [Msun] and ``c`` = ``c_Delta``.

Distances as nuisance parameters scale every radius by ``s = D / D0``.  The
NFW profile at scaled radii is the same profile at the original radii with
other parameters, ``v2(s R; Mh, c) = s^2 v2(R; Mh / s^3, c)``, so the
component keeps working on the galaxy's fixed radii.

Halo overdensities other than 200: the 200c concentration solves
``f(C200) / C200^3 = (Delta / 200) f(c) / c^3`` with ``f(x) = ln(1 + x) - x / (1 + x)``
(same ``rho_s``, ``r_s``), and ``M200 = Mh f(C200) / f(c)``.
"""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.inference.parameters import Parameter
from rotcurve.physics import NFWHalo, nfw_f, r_delta
from rotcurve.units import DELTA_DEFAULT, G, H0_DEFAULT, hubble_kpc

__all__ = ["Halo", "NFW", "HALOS", "convert_concentration", "v200_from_m200", "m200_from_v200"]


def v200_from_m200(m200: Any, *, H0: float) -> np.ndarray:
    """``V200 = (10 G H0 M200)^(1/3)`` [km/s] for ``M200`` [Msun], ``H0`` [km/s/Mpc]."""
    return np.cbrt(10.0 * G * hubble_kpc(H0) * np.asarray(m200, dtype=np.float64))


def m200_from_v200(v200: Any, *, H0: float) -> np.ndarray:
    """Inverse of :func:`v200_from_m200`: ``M200 = V200^3 / (10 G H0)`` [Msun]."""
    v = np.asarray(v200, dtype=np.float64)
    return v**3 / (10.0 * G * hubble_kpc(H0))


def _phi(x: np.ndarray) -> np.ndarray:
    """``ln f(x) - 3 ln x``: ln of the mean density inside ``x r_s`` up to a constant."""
    return np.log(nfw_f(x)) - 3.0 * np.log(x)


def convert_concentration(c: Any, ratio: float, *, iterations: int = 8) -> np.ndarray:
    """Concentration at another overdensity: solve ``f(y)/y^3 = ratio * f(c)/c^3``.

    Parameters
    ----------
    c : array_like
        Concentration(s) at overdensity ``Delta_from`` (> 0).
    ratio : float
        ``Delta_to / Delta_from``.
    iterations : int, keyword-only
        Newton steps in ``ln y``.  ``ln f(y) - 3 ln y`` has a slope between
        -3 and -1 in ``ln y``, so Newton converges from any start; 8 steps reach
        float64 resolution for ratios within a factor of 100.

    Returns
    -------
    numpy.ndarray, shape of ``c``
        The concentration at ``Delta_to`` (equal to ``c`` when ``ratio == 1``).
    """
    c = np.asarray(c, dtype=np.float64)
    if ratio == 1.0:
        return c.copy()
    target = _phi(c) + math.log(ratio)
    t = np.log(c) - math.log(ratio) / 3.0  # exact for a singular isothermal-like slope
    for _ in range(iterations):
        y = np.exp(t)
        t = t - (_phi(y) - target) / _dlog_phi(y)
    return np.exp(t)


def _dlog_phi(x: np.ndarray) -> np.ndarray:
    """``d phi / d ln x = x^2 / ((1 + x)^2 f(x)) - 3``."""
    return x * x / ((1.0 + x) ** 2 * nfw_f(x)) - 3.0


class Halo(abc.ABC):
    """A halo component: its parameters, ``v2`` on fixed radii, and 200c quantities.

    Parameters
    ----------
    H0 : float, keyword-only
        Hubble constant [km/s/Mpc].
    Delta : float, keyword-only
        Overdensity of the halo's own mass definition (relative to critical).
    """

    #: Registry name.
    kind: ClassVar[str] = ""
    #: The component's parameters, in order.
    parameters: ClassVar[tuple[Parameter, ...]] = ()

    def __init__(self, *, H0: float = H0_DEFAULT, Delta: float = DELTA_DEFAULT) -> None:
        for name, value in (("H0", H0), ("Delta", Delta)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value!r}")
        self.H0 = float(H0)
        self.Delta = float(Delta)

    @abc.abstractmethod
    def prepare(self, radii: np.ndarray) -> Any:
        """Per-galaxy precomputation on its radii [kpc] (positive, increasing)."""

    @abc.abstractmethod
    def v2(self, prepared: Any, values: dict[str, np.ndarray], scale: np.ndarray | None, out: np.ndarray) -> None:
        """Write ``v2`` [(km/s)^2] of ``W`` walkers into ``out`` (W, n_r).

        ``values`` holds the component's parameters (W,) in physical units;
        ``scale`` (W,) or None multiplies the radii (distance nuisance).
        """

    @abc.abstractmethod
    def derived(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``V200`` [km/s], ``R200`` [kpc], ``C200``, ``M200`` [Msun], each (W,)."""

    @abc.abstractmethod
    def from_200(self, v200: np.ndarray, c200: np.ndarray) -> dict[str, np.ndarray]:
        """Component parameters from ``V200`` [km/s] and ``C200`` (inverse of :meth:`derived`)."""

    @abc.abstractmethod
    def log_jacobian_200(self, values: dict[str, np.ndarray]) -> np.ndarray | float:
        """``ln |d(log10 V200, log10 C200) / d(theta)|`` of the sampled coordinates (W,) or a constant."""

    def v_components(self, radii: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
        """``v2`` at arbitrary radii (for plots), shape (W, n_r)."""
        prep = self.prepare(np.asarray(radii, dtype=np.float64))
        w = next(iter(values.values())).size
        out = np.empty((w, np.size(radii)))
        self.v2(prep, values, None, out)
        return out


class NFW(Halo):
    """NFW halo with ``Mh`` = ``M_Delta`` [Msun] and ``c`` = ``c_Delta`` (sampled as log10)."""

    kind: ClassVar[str] = "nfw"
    parameters: ClassVar[tuple[Parameter, ...]] = (
        Parameter("Mh", "Msun", True, r"$\log_{10} M_h$ [M$_\odot$]"),
        Parameter("c", "", True, r"$\log_{10} c$"),
    )

    def __init__(self, *, H0: float = H0_DEFAULT, Delta: float = DELTA_DEFAULT) -> None:
        super().__init__(H0=H0, Delta=Delta)
        self._halo = NFWHalo(H0=self.H0, Delta=self.Delta)

    def prepare(self, radii: np.ndarray) -> Any:
        return self._halo.prepare(np.asarray(radii, dtype=np.float64))

    def v2(self, prepared: Any, values: dict[str, np.ndarray], scale: np.ndarray | None, out: np.ndarray) -> None:
        mh, c = values["Mh"], values["c"]
        if scale is None:
            self._halo.v2_block(prepared, {"Mh": mh, "c": c}, out)
            return
        # v2(s R; Mh, c) = s^2 v2(R; Mh / s^3, c)
        self._halo.v2_block(prepared, {"Mh": mh / scale**3, "c": c}, out)
        out *= (scale * scale)[:, None]

    def derived(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        mh = np.asarray(values["Mh"], dtype=np.float64)
        c = np.asarray(values["c"], dtype=np.float64)
        if self.Delta == 200.0:
            c200, m200 = c, mh
        else:
            c200 = convert_concentration(c, 200.0 / self.Delta)
            m200 = mh * nfw_f(c200) / nfw_f(c)
        r200 = r_delta(m200, H0=self.H0, Delta=200.0)
        return {"V200": np.sqrt(G * m200 / r200), "R200": r200, "C200": c200, "M200": m200}

    def from_200(self, v200: np.ndarray, c200: np.ndarray) -> dict[str, np.ndarray]:
        m200 = m200_from_v200(v200, H0=self.H0)
        c200 = np.asarray(c200, dtype=np.float64)
        if self.Delta == 200.0:
            return {"Mh": m200, "c": c200}
        c = convert_concentration(c200, self.Delta / 200.0)
        return {"Mh": m200 * nfw_f(c) / nfw_f(c200), "c": c}

    def log_jacobian_200(self, values: dict[str, np.ndarray]) -> np.ndarray | float:
        # log10 V200 = (log10 M200 + const) / 3 and log10 C200 depends on c alone:
        # the Jacobian is triangular, det = (1/3) dlnC200/dlnc.
        if self.Delta == 200.0:
            return math.log(1.0 / 3.0)
        c = np.asarray(values["c"], dtype=np.float64)
        c200 = convert_concentration(c, 200.0 / self.Delta)
        return math.log(1.0 / 3.0) + np.log(np.abs(_dlog_phi(c) / _dlog_phi(c200)))


#: Halo components by name.
HALOS: dict[str, type[Halo]] = {"nfw": NFW}
