"""The shared maths of every mass component: validation, broadcasting, blocks.

A mass component (a disc, a halo, ...) contributes a squared circular velocity
``v2(R)`` [(km/s)^2] that depends on a few positive parameters per curve.
Components add by summing ``v2``; the velocity is ``v = sqrt(v2)``.

:class:`Component` holds everything that is common to all components and is
written once here:

* checking the radii (1-D, finite, ``>= 0`` kpc) and the parameters
  (positive, finite, scalars or ``(N,)`` arrays that broadcast together),
  raising :class:`rotcurve.errors.ConfigError` that names the parameter and
  the first bad index;
* broadcasting ``N`` parameter sets against ``n_r`` radii to ``(N, n_r)``;
* evaluating in cache-sized blocks of curves, writing straight into the
  output arrays (:func:`evaluate`);
* ``R = 0``: every component here encloses no mass at the centre, so
  ``v2(0) = 0`` exactly, and components only ever see positive radii;
* ``v = sqrt(v2)``.

A subclass supplies only its own ``v2`` term: :meth:`Component.prepare`
(per-radius precomputation) and :meth:`Component.v2_block` (one block of
curves).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.units import PARAM_UNITS, to_value

__all__ = [
    "BLOCK_ELEMENTS",
    "Component",
    "check_radii",
    "check_params",
    "params_from_mapping",
    "evaluate",
]

#: Points (curves x radii) evaluated per block: the temporaries of one block
#: (a few arrays of this many float64) stay in the per-core cache.
BLOCK_ELEMENTS: int = 16384


def check_radii(radii: Any) -> np.ndarray:
    """Validate radii and return them as a float64 array.

    Parameters
    ----------
    radii : array_like or astropy Quantity, shape (n_r,)
        Galactocentric radii in kpc (a Quantity of any length unit is
        converted); finite and ``>= 0``.

    Returns
    -------
    numpy.ndarray, shape (n_r,), float64
        The radii (a copy only when a conversion is needed).

    Raises
    ------
    ConfigError
        If ``radii`` is not a non-empty 1-D array of finite numbers ``>= 0``,
        or is a Quantity that is not a length; the message names the first
        bad index.
    """
    radii = to_value(radii, "kpc", "radii")
    try:
        r = np.asarray(radii, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"radii must be numbers in kpc, got {radii!r}") from None
    if r.ndim != 1:
        raise ConfigError(f"radii must be a 1-D array of radii in kpc, got shape {r.shape}")
    if r.size == 0:
        raise ConfigError("radii is empty; give at least one radius in kpc")
    bad = ~(np.isfinite(r) & (r >= 0.0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ConfigError(f"radii must be finite and >= 0 kpc; radii[{i}] = {float(r[i])!r}")
    return r


def check_params(
    params: Mapping[str, Any], names: Sequence[str], *, units: Mapping[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Validate model parameters and broadcast them to a common length ``N``.

    Parameters
    ----------
    params : mapping
        ``name -> value`` with a scalar or a 1-D array for every name in
        ``names`` (other keys are ignored); astropy Quantities are converted
        to the parameter's unit.
    names : sequence of str
        The parameters needed.
    units : mapping of str to str, optional, keyword-only
        Internal unit of each parameter (see :func:`rotcurve.units.to_value`);
        names not given here take :data:`rotcurve.units.PARAM_UNITS`, and
        dimensionless otherwise.

    Returns
    -------
    dict of str to numpy.ndarray, each shape (N,), float64
        Contiguous arrays; scalars are repeated to the common ``N`` (``N = 1``
        when every value is a scalar).

    Raises
    ------
    ConfigError
        A parameter is missing, not numeric, not 0-D or 1-D, the lengths
        disagree, a value is not positive and finite (the message names
        the parameter and its first bad index), or a Quantity has the wrong
        kind of unit.
    """
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        if name not in params:
            have = ", ".join(map(str, params)) or "none"
            raise ConfigError(f"parameter {name} is missing (need {', '.join(names)}; got {have})")
        value = params[name]
        if hasattr(value, "to_numpy"):  # pandas Series
            value = value.to_numpy()
        unit = (units or {}).get(name) or PARAM_UNITS.get(name, "1")
        value = to_value(value, unit, name)
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"parameter {name} must be numbers, got {value!r}") from None
        if a.ndim > 1:
            raise ConfigError(f"parameter {name} must be a scalar or 1-D array, got shape {a.shape}")
        arrays[name] = a
    lengths = {a.size for a in arrays.values() if a.ndim == 1}
    if len(lengths) > 1:
        shapes = ", ".join(f"{k}: {a.size}" for k, a in arrays.items() if a.ndim == 1)
        raise ConfigError(f"parameters have different lengths ({shapes}); give one value per curve")
    n = lengths.pop() if lengths else 1
    if n == 0:
        raise ConfigError("parameters are empty; give at least one parameter set")
    out: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        bad = ~(np.isfinite(a) & (a > 0.0))
        if bad.any():
            if a.ndim == 0:
                raise ConfigError(f"parameter {name} must be positive and finite; {name} = {float(a)!r}")
            i = int(np.argmax(bad))
            raise ConfigError(f"parameter {name} must be positive and finite; {name}[{i}] = {float(a[i])!r}")
        out[name] = np.ascontiguousarray(np.broadcast_to(a, (n,)))
    return out


def params_from_mapping(
    params: Any, names: Sequence[str], *, units: Mapping[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Validated parameter arrays from a dict, a DataFrame or a structured array.

    Parameters
    ----------
    params : dict, pandas.DataFrame, numpy structured array or astropy QTable
        Holds a column (or scalar) for every name in ``names``; Quantities
        are converted.
    names : sequence of str
        The parameters needed.
    units : mapping of str to str, optional, keyword-only
        See :func:`check_params`.

    Returns
    -------
    dict of str to numpy.ndarray, each shape (N,), float64
        See :func:`check_params`.
    """
    dtype_names = getattr(getattr(params, "dtype", None), "names", None)
    if dtype_names is not None:  # numpy structured array / record
        params = {n: params[n] for n in dtype_names}
    elif not hasattr(params, "keys") or not hasattr(params, "__getitem__"):
        raise ConfigError(
            f"params must be a mapping (dict, DataFrame or structured array) with "
            f"{', '.join(names)}; got {type(params).__name__}"
        )
    return check_params(params, names, units=units)


class Component(abc.ABC):
    """A mass component: one squared circular-velocity term ``v2(R)``.

    Subclasses set :attr:`param_names` and implement :meth:`prepare` and
    :meth:`v2_block`; everything else (validation, broadcasting, blocks,
    ``R = 0``, ``v = sqrt(v2)``) is shared.
    """

    #: Names of the per-curve parameters, in order.
    param_names: ClassVar[tuple[str, ...]] = ()
    #: Internal unit of each parameter ("kpc", "Msun", "1", ...; see
    #: :func:`rotcurve.units.to_value`): Quantities are converted to it.
    param_units: ClassVar[Mapping[str, str]] = {}

    @abc.abstractmethod
    def prepare(self, radii: np.ndarray) -> Any:
        """Per-radius precomputation, done once per call.

        Parameters
        ----------
        radii : numpy.ndarray, shape (n_r,), float64
            Strictly positive, finite radii in kpc.

        Returns
        -------
        object
            Anything :meth:`v2_block` needs; passed back to it unchanged.
        """

    @abc.abstractmethod
    def v2_block(self, prepared: Any, params: Mapping[str, np.ndarray], out: np.ndarray) -> None:
        """Write ``v2`` for one block of curves into ``out``.

        Parameters
        ----------
        prepared : object
            What :meth:`prepare` returned for the radii.
        params : mapping of str to numpy.ndarray, each shape (b,)
            Validated (positive, finite) float64 parameters of the block.
        out : numpy.ndarray, shape (b, n_r), float64, C-contiguous
            Receives the squared circular velocity in (km/s)^2.
        """

    def v2(self, radii: Any, **params: Any) -> np.ndarray:
        """Squared circular velocity on a grid of radii.

        Parameters
        ----------
        radii : array_like, shape (n_r,)
            Radii in kpc, finite and ``>= 0`` (or an astropy Quantity of
            any length unit).
        **params : float or array_like, shape (N,)
            The component's parameters (:attr:`param_names`) in the units of
            :attr:`param_units` (or Quantities, converted); scalars broadcast
            against arrays.

        Returns
        -------
        numpy.ndarray, shape (N, n_r), float64
            ``v^2`` in (km/s)^2; ``N = 1`` when every parameter is a scalar.
        """
        r = check_radii(radii)
        p = check_params(params, self.param_names, units=self.param_units)
        n = next(iter(p.values())).size
        out = np.empty((n, r.size))
        evaluate([self], r, p, [out])
        return out

    def v(self, radii: Any, **params: Any) -> np.ndarray:
        """Circular velocity ``sqrt(v2)`` in km/s, shape (N, n_r); see :meth:`v2`."""
        return np.sqrt(self.v2(radii, **params))


def evaluate(
    components: Sequence[Component],
    radii: np.ndarray,
    params: Mapping[str, np.ndarray],
    outs: Sequence[np.ndarray],
    *,
    total: np.ndarray | None = None,
    sqrt: bool = False,
    block_elements: int = BLOCK_ELEMENTS,
) -> None:
    """Evaluate components block by block into preallocated outputs.

    Parameters
    ----------
    components : sequence of Component
        The mass components.
    radii : numpy.ndarray, shape (n_r,), float64
        Validated radii in kpc (see :func:`check_radii`).
    params : mapping of str to numpy.ndarray, each shape (N,)
        Validated parameters of all components (see :func:`check_params`).
    outs : sequence of numpy.ndarray, each shape (N, n_r), float64, C-contiguous
        One output per component; receives ``v2`` (or ``v`` if ``sqrt``).
    total : numpy.ndarray, shape (N, n_r), optional, keyword-only
        Receives the sum of the components' ``v2`` (or its square root if
        ``sqrt``).
    sqrt : bool, keyword-only
        Store velocities ``sqrt(v2)`` in km/s instead of ``v2``.
    block_elements : int, keyword-only
        Points per block (curves x radii).
    """
    n_r = radii.size
    n = next(iter(params.values())).size if params else outs[0].shape[0]
    pos = radii > 0.0
    all_pos = bool(pos.all())
    r_pos = radii if all_pos else radii[pos]
    n_pos = r_pos.size
    prepared = [c.prepare(r_pos) for c in components] if n_pos else []
    rows = max(1, block_elements // max(n_r, 1))
    if not all_pos:
        scratch = [np.empty((min(rows, n), n_pos)) for _ in components]
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        block = {k: v[start:stop] for k, v in params.items()}
        targets = [o[start:stop] for o in outs]
        if all_pos:
            for comp, prep, tgt in zip(components, prepared, targets):
                comp.v2_block(prep, block, tgt)
        else:
            for i, tgt in enumerate(targets):
                tgt[:, ~pos] = 0.0
                if n_pos:
                    part = scratch[i][: stop - start]
                    components[i].v2_block(prepared[i], block, part)
                    tgt[:, pos] = part
        if total is not None:
            tot = total[start:stop]
            if len(targets) >= 2:
                np.add(targets[0], targets[1], out=tot)
                for tgt in targets[2:]:
                    np.add(tot, tgt, out=tot)
            elif targets:
                np.copyto(tot, targets[0])
            else:
                tot.fill(0.0)
            if sqrt:
                np.sqrt(tot, out=tot)
        if sqrt:
            for tgt in targets:
                np.sqrt(tgt, out=tgt)
