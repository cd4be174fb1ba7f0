"""Parameters of a fit: name, unit, how they are sampled, plot label.

A :class:`Parameter` is one coordinate of the sampled vector ``theta``.
Masses, lengths, concentrations and mass-to-light ratios are sampled as
``log10`` of their value (positive scale parameters spanning decades); the
nuisance distance [Mpc] and inclination [deg] are sampled linearly.  Prior
densities are always densities over ``theta`` (i.e. over ``log10`` of a
log-sampled parameter).

Results are reported in physical units: ``Parameter.value(theta)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Parameter", "DERIVED", "derived_parameter"]


@dataclass(frozen=True)
class Parameter:
    """One fitted or derived quantity.

    Attributes
    ----------
    name : str
        Column name in the outputs (``Mh``, ``Ups_disk``, ``V200``, ...).
    unit : str
        Unit as an astropy unit string (``"Msun"``, ``"kpc"``, ``"km / s"``,
        ``"Mpc"``, ``"deg"``; ``""`` for dimensionless).
    log10 : bool
        Sampled as ``log10`` of the value (fitted parameters only).
    label : str
        Matplotlib (mathtext) label with the unit.
    """

    name: str
    unit: str
    log10: bool
    label: str

    @property
    def coordinate(self) -> str:
        """Name of the sampled coordinate: ``log10_<name>`` or ``<name>``."""
        return f"log10_{self.name}" if self.log10 else self.name

    def value(self, theta: np.ndarray) -> np.ndarray:
        """Physical value from the sampled coordinate (any shape)."""
        theta = np.asarray(theta, dtype=np.float64)
        return 10.0**theta if self.log10 else theta

    def theta(self, value: np.ndarray) -> np.ndarray:
        """Sampled coordinate from the physical value (any shape)."""
        value = np.asarray(value, dtype=np.float64)
        return np.log10(value) if self.log10 else value


#: Derived quantities reported for every fit (halo at Delta = 200 times the
#: critical density for the fit's H0, and the stellar mass).
DERIVED: tuple[Parameter, ...] = (
    Parameter("V200", "km / s", False, r"$V_{200}$ [km/s]"),
    Parameter("R200", "kpc", False, r"$R_{200}$ [kpc]"),
    Parameter("C200", "", False, r"$C_{200}$"),
    Parameter("M200", "Msun", False, r"$M_{200}$ [M$_\odot$]"),
    Parameter("Mstar", "Msun", False, r"$M_\star$ [M$_\odot$]"),
)


def derived_parameter(name: str) -> Parameter:
    """The :data:`DERIVED` entry called ``name``."""
    for p in DERIVED:
        if p.name == name:
            return p
    raise KeyError(name)
