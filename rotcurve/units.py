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
"""

from __future__ import annotations

__all__ = [
    "G",
    "H0_DEFAULT",
    "DELTA_DEFAULT",
    "KPC_PER_MPC",
    "UNITS",
    "PARAM_UNITS",
    "hubble_kpc",
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

#: Units of the four model parameters.
PARAM_UNITS: dict[str, str] = {"Md": "Msun", "Rd": "kpc", "Mh": "Msun", "c": "1"}


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
