"""Rotation curves: an exponential disc plus an NFW halo, components kept.

The total circular velocity is the quadrature sum of the components,
``v_circ^2 = v_disc^2 + v_halo^2`` (the potentials add).  The simulator is a
pure function of the parameters and radii.

Example
-------
>>> import numpy as np
>>> from rotcurve.physics import rotation_curves
>>> params = {"Md": [5e10, 1e10], "Rd": [3.0, 2.0], "Mh": [1e12, 3e11], "c": [10.0, 12.0]}
>>> rc = rotation_curves(params, np.logspace(-1, np.log10(50), 50))
>>> rc.v_circ.shape
(2, 50)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.physics.base import BLOCK_ELEMENTS, Component, check_radii, evaluate, params_from_mapping
from rotcurve.physics.disc import DISC_METHODS, ExponentialDisc
from rotcurve.physics.halo import NFWHalo
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT, PARAM_NAMES

__all__ = ["RotationCurves", "CompositeModel", "rotation_curves", "PARAM_NAMES", "METHODS"]

#: Evaluation methods of :func:`rotation_curves`.
METHODS: tuple[str, ...] = DISC_METHODS


class RotationCurves(NamedTuple):
    """Circular velocities of ``N`` galaxies at ``n_r`` radii.

    Attributes
    ----------
    v_circ : numpy.ndarray, shape (N, n_r), float64
        Total circular velocity in km/s, ``sqrt(v_disc^2 + v_halo^2)``.
    v_disc : numpy.ndarray, shape (N, n_r), float64
        Exponential-disc contribution in km/s.
    v_halo : numpy.ndarray, shape (N, n_r), float64
        NFW-halo contribution in km/s.
    """

    v_circ: np.ndarray
    v_disc: np.ndarray
    v_halo: np.ndarray


class CompositeModel:
    """Several mass components whose squared velocities add.

    Parameters
    ----------
    components : sequence of Component
        The components; their parameter names must not clash.
    """

    def __init__(self, components: Sequence[Component]) -> None:
        names: list[str] = []
        for comp in components:
            clash = set(names) & set(comp.param_names)
            if clash:
                raise ConfigError(f"components share parameter names {sorted(clash)}")
            names.extend(comp.param_names)
        self.components = tuple(components)
        self.param_names = tuple(names)

    def __repr__(self) -> str:
        return f"CompositeModel({list(self.components)!r})"

    def velocities(
        self, params: Any, radii: Any, *, block_elements: int = BLOCK_ELEMENTS
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Total and per-component circular velocities.

        Parameters
        ----------
        params : dict, pandas.DataFrame or numpy structured array
            Every name in :attr:`param_names`: scalars or ``(N,)`` arrays.
        radii : array_like, shape (n_r,)
            Radii in kpc (finite, ``>= 0``).
        block_elements : int, keyword-only
            Points evaluated per block (memory/cache trade-off).

        Returns
        -------
        v_total : numpy.ndarray, shape (N, n_r), float64
            ``sqrt(sum of v2)`` in km/s.
        v_components : list of numpy.ndarray, each shape (N, n_r), float64
            ``sqrt(v2)`` of each component in km/s, in component order.
        """
        r = check_radii(radii)
        units = {k: v for comp in self.components for k, v in comp.param_units.items()}
        p = params_from_mapping(params, self.param_names, units=units)
        n = next(iter(p.values())).size
        outs = [np.empty((n, r.size)) for _ in self.components]
        total = np.empty((n, r.size))
        evaluate(self.components, r, p, outs, total=total, sqrt=True, block_elements=block_elements)
        return total, outs


def rotation_curves(
    params: Any,
    radii: Any,
    *,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    method: Literal["fast", "exact"] = "fast",
) -> RotationCurves:
    """Rotation curves of exponential-disc + NFW-halo galaxies.

    Parameters
    ----------
    params : dict, pandas.DataFrame or numpy structured array
        ``Md`` disc mass [Msun], ``Rd`` disc scale length [kpc], ``Mh`` halo
        mass ``M_Delta`` [Msun], ``c`` concentration; each a positive finite
        scalar or an ``(N,)`` array (scalars broadcast; other keys ignored).
        astropy Quantities (e.g. ``Rd=3000 * u.pc``, ``Md=1e41 * u.kg``, an
        astropy ``QTable``) are converted; plain numbers are in the units
        above.
    radii : array_like, shape (n_r,)
        Radii in kpc, finite and ``>= 0`` (or a Quantity of any length unit).
    H0 : float, keyword-only
        Hubble constant in km/s/Mpc defining ``rho_crit`` (or a Quantity).
    Delta : float, keyword-only
        Halo overdensity relative to the critical density at z = 0.
    method : {"fast", "exact"}, keyword-only
        ``"fast"`` evaluates the disc shape from a cached table (relative
        error < 2e-10); ``"exact"`` uses the Bessel functions directly.

    Returns
    -------
    RotationCurves
        ``v_circ``, ``v_disc``, ``v_halo``: (N, n_r) float64 km/s with
        ``v_circ^2 = v_disc^2 + v_halo^2``; ``N = 1`` when every parameter is
        a scalar.

    Raises
    ------
    ConfigError
        A parameter is missing, not positive and finite, lengths disagree,
        radii are not 1-D, finite and ``>= 0``, ``H0``/``Delta``/``method``
        are invalid, or a Quantity has the wrong kind of unit.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    model = CompositeModel([ExponentialDisc(method=method), NFWHalo(H0=H0, Delta=Delta)])
    total, (v_disc, v_halo) = model.velocities(params, radii)
    return RotationCurves(v_circ=total, v_disc=v_disc, v_halo=v_halo)
