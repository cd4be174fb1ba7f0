"""Rotation-curve physics: exponential disc + NFW halo, pure numpy/scipy.

Everything here is float64 and vectorised over ``N`` parameter sets and
``n_r`` radii; units are those of :mod:`rotcurve.units` (kpc, km/s, Msun).
Every entry point also takes astropy Quantities of any compatible unit
(``Rd=3000 * u.pc``, radii in pc, masses in kg, ``H0`` in 1/s) and converts
them; a wrong kind of unit is a one-line :class:`~rotcurve.errors.ConfigError`.
Results are plain float64 arrays in the internal units.
This package never imports torch; the same formulas on torch tensors live in
:mod:`rotcurve.physics.torch_backend` (import it explicitly).

>>> from rotcurve.physics import rotation_curves
>>> rc = rotation_curves({"Md": 5e10, "Rd": 3.0, "Mh": 1e12, "c": 10.0}, [1.0, 10.0])
>>> rc.v_circ.shape
(1, 2)
"""

from rotcurve.physics.base import Component, check_params, check_radii
from rotcurve.physics.curves import METHODS, PARAM_NAMES, CompositeModel, RotationCurves, rotation_curves
from rotcurve.physics.disc import ExponentialDisc, disc_shape, disc_shape_dlogy
from rotcurve.physics.halo import NFWHalo, nfw_f, nfw_mass_fraction, r_delta

__all__ = [
    "rotation_curves",
    "RotationCurves",
    "CompositeModel",
    "Component",
    "ExponentialDisc",
    "NFWHalo",
    "disc_shape",
    "disc_shape_dlogy",
    "nfw_f",
    "nfw_mass_fraction",
    "r_delta",
    "check_params",
    "check_radii",
    "PARAM_NAMES",
    "METHODS",
]
