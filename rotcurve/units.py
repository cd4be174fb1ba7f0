"""The one internal unit system of rotcurve.

Every quantity inside rotcurve, and every number written to or read from a
rotcurve file, is in these units:

==========  ======================  ===================================
quantity    unit                    notes
==========  ======================  ===================================
radius      kpc
velocity    km/s                    circular velocity
mass        Msun                    disc mass ``Md``, halo mass ``Mh``
length      kpc                     disc scale length ``Rd``
H0          km/s/Mpc                converted to km/s/kpc internally
==========  ======================  ===================================

The gravitational constant is ``G = 4.30091e-6 kpc (km/s)^2 / Msun``
(CODATA 2018 G with the IAU nominal solar mass parameter).  Halo masses are
``M_Delta`` with ``Delta = 200`` times the critical density at z = 0 and
``H0 = 70 km/s/Mpc`` unless stated otherwise.

Every public function that takes a physical value also accepts an astropy
``Quantity`` of any compatible unit and converts it (:func:`to_value`);
plain numbers are taken to be in the units above.  Results are always plain
numbers in these units.  astropy is imported only when a Quantity is given.
"""

from __future__ import annotations

import sys
from typing import Any

from rotcurve.errors import ConfigError

__all__ = [
    "G",
    "H0_DEFAULT",
    "DELTA_DEFAULT",
    "KPC_PER_MPC",
    "UNITS",
    "PARAM_UNITS",
    "PARAM_NAMES",
    "hubble_kpc",
    "to_value",
]

#: Gravitational constant in kpc (km/s)^2 / Msun.
G: float = 4.30091e-6
#: Default Hubble constant in km/s/Mpc.
H0_DEFAULT: float = 70.0
#: Default halo overdensity relative to the critical density at z = 0.
DELTA_DEFAULT: float = 200.0
#: kpc in one Mpc.
KPC_PER_MPC: float = 1.0e3

#: Unit strings for every physical quantity stored in a rotcurve file.
UNITS: dict[str, str] = {
    "radius": "kpc",
    "velocity": "km/s",
    "mass": "Msun",
    "length": "kpc",
    "G": "kpc (km/s)^2 / Msun",
    "H0": "km/s/Mpc",
    "dimensionless": "1",
}

#: The four physical parameters (disc mass, disc scale length, halo mass,
#: halo concentration), in their canonical order: the order of the columns of
#: every parameter table, of ``/params`` in a rotcurve file and of a prior.
PARAM_NAMES: tuple[str, ...] = ("Md", "Rd", "Mh", "c")
#: Units of the four model parameters.
PARAM_UNITS: dict[str, str] = {"Md": "Msun", "Rd": "kpc", "Mh": "Msun", "c": "1"}

#: What :func:`to_value` asks for, per internal unit: (astropy unit expression, words).
_EXPECTED: dict[str, tuple[str, str]] = {
    "kpc": ("kpc", "a length such as u.kpc"),
    "km/s": ("km / s", "a velocity such as u.km / u.s"),
    "Msun": ("solMass", "a mass such as u.Msun"),
    "km/s/Mpc": ("km / (s Mpc)", "a Hubble constant such as u.km / u.s / u.Mpc"),
    "1": ("", "a plain number (it is dimensionless)"),
}


def hubble_kpc(H0: float = H0_DEFAULT) -> float:
    """Hubble constant in km/s/kpc.

    Parameters
    ----------
    H0 : float
        Hubble constant in km/s/Mpc.

    Returns
    -------
    float
        ``H0`` in km/s/kpc.
    """
    return H0 / KPC_PER_MPC


def _astropy_units() -> Any:
    """``astropy.units`` if it is imported already, else None (no Quantity can exist)."""
    return sys.modules.get("astropy.units")


def to_value(x: Any, unit: str, name: str) -> Any:
    """A value in rotcurve's internal units, from plain numbers or astropy Quantities.

    Parameters
    ----------
    x : float, array_like or astropy.units.Quantity
        Plain numbers (taken to be in ``unit`` already and returned
        unchanged), a Quantity in any compatible unit (converted), or a list
        or tuple of Quantities.
    unit : {"kpc", "km/s", "Msun", "km/s/Mpc", "1"}
        The internal unit of the quantity (see the table above; "1" is
        dimensionless).
    name : str
        The argument's name, for the message.

    Returns
    -------
    float, numpy.ndarray or the input
        ``x`` itself when it holds no Quantity; otherwise its value in
        ``unit`` as a numpy float or float64 array.

    Raises
    ------
    ConfigError
        A Quantity whose unit cannot be converted to ``unit``, or a list that
        mixes Quantities and plain numbers; one line, e.g. ``Rd has units of
        km / s; give a length such as u.kpc``.

    Examples
    --------
    >>> import astropy.units as u
    >>> float(to_value(3000 * u.pc, "kpc", "Rd"))
    3.0
    >>> to_value(3.0, "kpc", "Rd")
    3.0
    """
    au = _astropy_units()
    if au is None:
        return x
    if unit not in _EXPECTED:
        raise ValueError(f"unknown internal unit {unit!r}; one of {', '.join(_EXPECTED)}")
    expr, words = _EXPECTED[unit]
    if isinstance(x, (list, tuple)) and any(isinstance(e, au.Quantity) for e in x):
        try:
            x = au.Quantity(x)
        except (au.UnitsError, TypeError, ValueError):
            raise ConfigError(
                f"{name} mixes values with and without units (or of different kinds); "
                f"give every value as {words}, or all as plain numbers in {unit}"
            ) from None
    if not isinstance(x, au.Quantity):
        return x
    target = au.Unit(expr) if expr else au.dimensionless_unscaled
    try:
        return x.to_value(target)
    except (au.UnitsError, TypeError, ValueError):
        have = x.unit.to_string() or "1 (dimensionless)"
        raise ConfigError(f"{name} has units of {have}; give {words}") from None
