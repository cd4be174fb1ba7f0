"""One observed rotation curve: the data a fit needs, in rotcurve units.

:class:`Galaxy` holds the radii ``R`` [kpc], the observed velocities ``V``
and their errors ``eV`` [km/s], and optionally the velocities of the observed
baryons at a mass-to-light ratio of 1 (``Vgas``, ``Vdisk``, ``Vbul`` [km/s],
as in SPARC, Lelli, McGaugh & Schombert 2016, AJ 152, 157), the surface
brightness profiles ``SBdisk``, ``SBbul`` [Lsun/pc^2], the distance [Mpc] and
the inclination [deg] with their errors, and known true parameters (for
simulated data).

Arrays may be numpy arrays, lists, or astropy Quantities (converted to kpc,
km/s, Mpc, deg, Lsun/pc^2).  Construction only converts; :meth:`Galaxy.validate`
checks the data and raises :class:`rotcurve.errors.DataError` with one line
naming the galaxy and the row::

    >>> g = Galaxy("toy", R=[1.0, 2.0, 3.0], V=[50.0, 60.0, 65.0], eV=[3.0, 3.0, 0.0])
    >>> g.validate()
    Traceback (most recent call last):
    ...
    rotcurve.errors.DataError: galaxy toy, row 2 (R = 3 kpc): eV = 0 km/s; errors must be positive and finite
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rotcurve.errors import DataError

__all__ = ["Galaxy", "BadInput", "POINT_COLUMNS", "BARYON_COLUMNS", "as_array", "as_scalar"]

#: Per-point columns and their units.
POINT_COLUMNS: dict[str, str] = {
    "R": "kpc",
    "V": "km/s",
    "eV": "km/s",
    "Vgas": "km/s",
    "Vdisk": "km/s",
    "Vbul": "km/s",
    "SBdisk": "Lsun/pc^2",
    "SBbul": "Lsun/pc^2",
}

#: The observed-baryon velocity columns (SPARC, mass-to-light ratio 1).
BARYON_COLUMNS: tuple[str, ...] = ("Vgas", "Vdisk", "Vbul")

_ASTROPY_UNITS = {"kpc": "kpc", "km/s": "km/s", "Mpc": "Mpc", "deg": "deg", "Lsun/pc^2": "solLum / pc2"}


def _unit_value(x: Any, unit: str, what: str) -> Any:
    """Strip an astropy unit (converting to ``unit``); plain numbers pass."""
    if hasattr(x, "unit") and hasattr(x, "to_value"):
        import astropy.units as u

        try:
            return x.to_value(u.Unit(_ASTROPY_UNITS[unit]))
        except u.UnitConversionError:
            raise DataError(f"{what} has unit {x.unit}, which cannot be converted to {unit}") from None
    return x


def as_array(x: Any, unit: str, what: str) -> np.ndarray:
    """A float64 1-D array from numbers, a list, a Series or an astropy Quantity in ``unit``."""
    x = _unit_value(x, unit, what)
    if hasattr(x, "to_numpy"):
        x = x.to_numpy()
    if np.ma.isMaskedArray(x):
        x = np.ma.filled(np.ma.asarray(x, dtype=np.float64), np.nan)
    try:
        a = np.array(x, dtype=np.float64).reshape(-1) if np.ndim(x) <= 1 else None
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numbers in {unit}") from None
    if a is None:
        raise DataError(f"{what} must be a 1-D array, got shape {np.shape(x)}")
    return a


def as_scalar(x: Any, unit: str, what: str) -> float | None:
    """A float (or None) from a number or an astropy Quantity in ``unit``."""
    if x is None:
        return None
    x = _unit_value(x, unit, what)
    try:
        value = float(x)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be a number in {unit}, got {x!r}") from None
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class BadInput:
    """A galaxy that could not even be read; listed as failed in a catalogue.

    Attributes
    ----------
    name : str
    reason : str
        One line naming the galaxy and, where known, the row.
    """

    name: str
    reason: str


@dataclass(frozen=True, eq=False)
class Galaxy:
    """An observed (or simulated) rotation curve.

    Parameters
    ----------
    name : str
        Galaxy name (unique within a catalogue).
    R : array_like or Quantity, shape (n,)
        Radii [kpc], strictly increasing and > 0.
    V, eV : array_like or Quantity, shape (n,)
        Observed circular velocities and their 1-sigma errors [km/s].
    Vgas, Vdisk, Vbul : array_like or Quantity, shape (n,), optional
        Velocities of the gas, stellar disc and bulge for a mass-to-light
        ratio of 1 [km/s] (SPARC convention; ``Vgas`` may be negative where
        the gas pulls outwards, it enters as ``|Vgas| Vgas``).
    SBdisk, SBbul : array_like or Quantity, shape (n,), optional
        Surface brightness profiles [Lsun/pc^2] (used for the stellar mass).
    distance, e_distance : float or Quantity, optional
        Distance and its error [Mpc].
    inclination, e_inclination : float or Quantity, optional
        Inclination and its error [deg].
    truth : mapping, optional
        Known true parameter values (physical units) of simulated data.
    source : str, optional
        Where the data came from (a file), for messages.
    rows : sequence of str, optional
        A label per point for messages (e.g. ``"line 7"``); default ``"row i"``.
    """

    name: str
    R: np.ndarray
    V: np.ndarray
    eV: np.ndarray
    Vgas: np.ndarray | None = None
    Vdisk: np.ndarray | None = None
    Vbul: np.ndarray | None = None
    SBdisk: np.ndarray | None = None
    SBbul: np.ndarray | None = None
    distance: float | None = None
    e_distance: float | None = None
    inclination: float | None = None
    e_inclination: float | None = None
    truth: Mapping[str, float] | None = None
    source: str = ""
    rows: tuple[str, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        name = str(self.name).strip()
        if not name:
            raise DataError(f"{self.source + ': ' if self.source else ''}a galaxy has an empty name")
        object.__setattr__(self, "name", name)
        for col, unit in POINT_COLUMNS.items():
            value = getattr(self, col)
            if value is None:
                continue
            object.__setattr__(self, col, as_array(value, unit, f"{self._where()}: {col}"))
        for col, unit in (("distance", "Mpc"), ("e_distance", "Mpc"), ("inclination", "deg"), ("e_inclination", "deg")):
            object.__setattr__(self, col, as_scalar(getattr(self, col), unit, f"{self._where()}: {col}"))
        if self.truth is not None:
            object.__setattr__(self, "truth", {str(k): float(v) for k, v in dict(self.truth).items()})
        if self.rows is not None:
            object.__setattr__(self, "rows", tuple(str(r) for r in self.rows))

    # -- helpers -----------------------------------------------------------------
    def _where(self, i: int | None = None) -> str:
        prefix = f"{self.source}: " if self.source else ""
        text = f"{prefix}galaxy {self.name}"
        if i is not None:
            label = self.rows[i] if self.rows is not None and i < len(self.rows) else f"row {i}"
            r = float(self.R[i]) if self.R is not None and i < self.R.size else float("nan")
            text += f", {label} (R = {r:g} kpc)"
        return text

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.R.size)

    @property
    def has_bulge(self) -> bool:
        """Whether a bulge is observed (``Vbul`` given and not all zero)."""
        return self.Vbul is not None and bool(np.any(self.Vbul != 0.0))

    @property
    def has_baryons(self) -> bool:
        """Whether ``Vgas`` and ``Vdisk`` are given."""
        return self.Vgas is not None and self.Vdisk is not None

    def columns(self) -> dict[str, np.ndarray]:
        """The per-point arrays that are present, by column name."""
        return {c: getattr(self, c) for c in POINT_COLUMNS if getattr(self, c) is not None}

    def replace(self, **changes: Any) -> Galaxy:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    # -- validation --------------------------------------------------------------
    def validate(self, *, min_points: int = 1) -> Galaxy:
        """Check the data; return ``self``.

        Parameters
        ----------
        min_points : int, keyword-only
            The fewest points accepted (the number of free parameters of the
            model about to be fitted).

        Raises
        ------
        DataError
            One line naming the galaxy and the first bad row: no points, fewer
            points than ``min_points``, arrays of different lengths, a radius
            that is not finite, <= 0 or not greater than the one before, a
            velocity that is not finite, an error that is not finite and > 0,
            a bad distance or inclination.
        """
        n = self.R.size
        if n == 0:
            raise DataError(f"{self._where()}: no data points (empty file or table); give at least {max(min_points, 1)}")
        for col in POINT_COLUMNS:
            a = getattr(self, col)
            if a is not None and a.size != n:
                raise DataError(f"{self._where()}: column {col} has {a.size} values but R has {n}; give one per radius")
        if n < min_points:
            raise DataError(
                f"{self._where()}: {n} point{'s' if n != 1 else ''} but the model has {min_points} free "
                f"parameters; a fit needs at least {min_points} points"
            )
        for i in range(n):
            r = self.R[i]
            if not (math.isfinite(r) and r > 0.0):
                raise DataError(f"{self._where(i)}: radius must be finite and > 0 kpc")
            if i and not r > self.R[i - 1]:
                raise DataError(
                    f"{self._where(i)}: radii must increase; the previous row has R = {self.R[i - 1]:g} kpc"
                )
        bad = ~np.isfinite(self.V)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{self._where(i)}: V = {self.V[i]:g} km/s; velocities must be finite")
        bad = ~(np.isfinite(self.eV) & (self.eV > 0.0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{self._where(i)}: eV = {self.eV[i]:g} km/s; errors must be positive and finite")
        for col in ("Vgas", "Vdisk", "Vbul", "SBdisk", "SBbul"):
            a = getattr(self, col)
            if a is None:
                continue
            bad = ~np.isfinite(a)
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(f"{self._where(i)}: {col} = {a[i]:g}; must be finite")
        for col, unit, lo, hi in (
            ("distance", "Mpc", 0.0, math.inf),
            ("e_distance", "Mpc", 0.0, math.inf),
            ("inclination", "deg", 0.0, 90.0),
            ("e_inclination", "deg", 0.0, 90.0),
        ):
            value = getattr(self, col)
            if value is not None and not (math.isfinite(value) and lo < value <= hi):
                raise DataError(f"{self._where()}: {col} = {value:g} {unit}; must be in ({lo:g}, {hi:g}]")
        return self

    # -- conversion ----------------------------------------------------------------
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, name: str | None = None, source: str = "") -> Galaxy:
        """A galaxy from a dict of columns (``R``, ``V``, ``eV`` and optional others).

        Raises
        ------
        DataError
            A required column is missing or a key is unknown.
        """
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise DataError(f"unknown galaxy field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                            f"allowed: {', '.join(sorted(allowed))}")
        missing = [c for c in ("R", "V", "eV") if c not in data]
        if missing:
            raise DataError(f"galaxy data lacks {', '.join(missing)}; give R [kpc], V and eV [km/s]")
        kwargs = dict(data)
        if name is not None:
            kwargs["name"] = name
        kwargs.setdefault("name", "galaxy")
        kwargs.setdefault("source", source)
        return cls(**kwargs)


def names_unique(items: Sequence[Galaxy | BadInput]) -> None:
    """Raise :class:`DataError` when two galaxies share a name."""
    seen: set[str] = set()
    for g in items:
        if g.name in seen:
            raise DataError(f"two galaxies are called {g.name!r}; names must be unique in a catalogue")
        seen.add(g.name)
