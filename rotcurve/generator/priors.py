"""Priors over the four galaxy parameters (Md, Rd, Mh, c).

A prior is a small frozen dataclass with a ``kind`` and a vectorised
``sample(n, rng)`` that returns ``{"Md", "Rd", "Mh", "c"}`` arrays in physical
units (Msun, kpc, Msun, dimensionless).  Priors are registered by kind in
:data:`PRIORS`, saved as JSON (:meth:`to_dict`) inside every output file, and
read from TOML files (:func:`load_prior`) such as ``data/priors/reference.toml``::

    kind = "reference"
    log10_Md_min = 9.0
    ...

Two priors ship:

``reference``  (:class:`ReferencePrior`)
    The galaxy population of the reference rotation-curve tutorial:
    ``log10 Md ~ U(9, 12)``; ``log10 Rd = 0.3 (log10 Md - 10.7) + 0.5`` with
    0.4 dex Gaussian scatter; ``log10 Mh = 0.75 (log10 Md - 10.7) + 12`` with
    0.25 dex scatter; and the z = 0 NFW concentration-mass relation of Dutton &
    Maccio (2014, MNRAS 441, 3359, for M200c)
    ``log10 c = 0.905 - 0.101 (log10(Mh h) - 12)`` with 0.11 dex scatter,
    ``h = 0.7``.
``loguniform``  (:class:`LogUniformPrior`)
    Independent log-uniform ranges for each parameter.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.serialization import from_dict, load_toml
from rotcurve.units import PARAM_NAMES
from rotcurve.validation import is_int, is_number

__all__ = [
    "PARAM_NAMES",
    "Prior",
    "ReferencePrior",
    "LogUniformPrior",
    "PRIORS",
    "prior_from_dict",
    "load_prior",
    "resolve_prior",
]


class Prior(Protocol):
    """What every prior provides."""

    kind: ClassVar[str]

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]: ...

    def to_dict(self) -> dict[str, Any]: ...


def _check_n(n: int) -> int:
    if not is_int(n) or n < 0:
        raise ConfigError(f"number of samples must be a non-negative integer, got {n!r}")
    return int(n)


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}; give a finite number")


_UNITS = {"Md": " Msun", "Rd": " kpc", "Mh": " Msun", "c": ""}


def _checked(prior: Any, out: dict[str, np.ndarray], hints: Mapping[str, str]) -> dict[str, np.ndarray]:
    """``out`` if every value is positive and finite, else a ConfigError naming the setting to fix."""
    for name in PARAM_NAMES:
        values = out[name]
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            value = float(values[np.flatnonzero(bad)[0]])
            why = "overflows" if value > 0 else "underflows to 0"
            raise ConfigError(
                f"the {prior.kind} prior gives {name} = {value:g}{_UNITS[name]} for some galaxies "
                f"(10**log10 {name} {why} in float64); {hints[name]}"
            )
    return out


def _to_dict(prior: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": prior.kind}
    for field in dataclasses.fields(prior):
        value = getattr(prior, field.name)
        out[field.name] = list(value) if isinstance(value, tuple) else value
    return out


@dataclass(frozen=True)
class ReferencePrior:
    """The reference tutorial's galaxy population (scaling relations with scatter).

    Sampling (all logarithms base 10, masses in Msun, lengths in kpc)::

        log Md ~ U(log10_Md_min, log10_Md_max)
        log Rd = Rd_slope (log Md - log10_Md_pivot) + Rd_intercept + Rd_scatter N(0, 1)
        log Mh = Mh_slope (log Md - log10_Md_pivot) + Mh_intercept + Mh_scatter N(0, 1)
        log c  = c_intercept + c_slope (log(Mh h) - c_pivot) + c_scatter N(0, 1)

    Attributes
    ----------
    log10_Md_min, log10_Md_max : float
        Range of ``log10(Md / Msun)`` (uniform), ``min < max``.
    log10_Md_pivot : float
        Pivot of the Rd and Mh relations, ``log10(Md / Msun)``.
    Rd_slope, Rd_intercept, Rd_scatter : float
        Disc size-mass relation; ``Rd_intercept`` is ``log10(Rd / kpc)`` at the
        pivot; scatter in dex (>= 0).
    Mh_slope, Mh_intercept, Mh_scatter : float
        Halo-disc mass relation; ``Mh_intercept`` is ``log10(Mh / Msun)`` at the
        pivot; scatter in dex (>= 0).
    c_intercept, c_slope, c_pivot, c_scatter : float
        Concentration-mass relation of Dutton & Maccio (2014), z = 0, M200c;
        ``c_pivot`` is ``log10(Mh h / Msun)``; scatter in dex (>= 0).
    h : float
        Dimensionless Hubble parameter used in the c-M relation (> 0); 0.7
        matches ``H0 = 70 km/s/Mpc``.
    """

    kind: ClassVar[str] = "reference"

    log10_Md_min: float = 9.0
    log10_Md_max: float = 12.0
    log10_Md_pivot: float = 10.7
    Rd_slope: float = 0.3
    Rd_intercept: float = 0.5
    Rd_scatter: float = 0.4
    Mh_slope: float = 0.75
    Mh_intercept: float = 12.0
    Mh_scatter: float = 0.25
    c_intercept: float = 0.905
    c_slope: float = -0.101
    c_pivot: float = 12.0
    c_scatter: float = 0.11
    h: float = 0.7

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not is_number(value, numpy=False):
                raise ConfigError(f"{field.name} must be a number, got {value!r}")
            _finite(field.name, float(value))
            object.__setattr__(self, field.name, float(value))
        if not self.log10_Md_min < self.log10_Md_max:
            raise ConfigError(
                f"log10_Md_min ({self.log10_Md_min}) must be below log10_Md_max "
                f"({self.log10_Md_max}); swap or fix the bounds"
            )
        for name in ("Rd_scatter", "Mh_scatter", "c_scatter"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0 dex, got {getattr(self, name)}; fix its sign")
        if self.h <= 0:
            raise ConfigError(f"h must be positive (H0 / 100 km/s/Mpc), got {self.h}")

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Draw ``n`` galaxies.

        Parameters
        ----------
        n : int
            Number of galaxies (>= 0).
        rng : numpy.random.Generator
            Source of randomness; the result is a deterministic function of its
            state.  One uniform block ``(n,)`` then one normal block ``(3, n)``
            are drawn, so the stream use does not depend on the parameters.

        Returns
        -------
        dict of str to ndarray
            ``Md`` (Msun), ``Rd`` (kpc), ``Mh`` (Msun), ``c`` (1); each ``(n,)``
            float64.
        """
        n = _check_n(n)
        rng = _check_rng(rng)
        log_md = rng.uniform(self.log10_Md_min, self.log10_Md_max, size=n)
        z = rng.standard_normal(size=(3, n))
        # Extreme settings overflow: checked below instead of numpy's warnings.
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            dm = log_md - self.log10_Md_pivot
            log_rd = self.Rd_slope * dm + self.Rd_intercept + self.Rd_scatter * z[0]
            log_mh = self.Mh_slope * dm + self.Mh_intercept + self.Mh_scatter * z[1]
            log_c = (
                self.c_intercept
                + self.c_slope * (log_mh + math.log10(self.h) - self.c_pivot)
                + self.c_scatter * z[2]
            )
            out = {
                "Md": 10.0**log_md,
                "Rd": 10.0**log_rd,
                "Mh": 10.0**log_mh,
                "c": 10.0**log_c,
            }
        hints = {
            "Md": "lower log10_Md_min / log10_Md_max",
            "Rd": "check Rd_intercept, Rd_slope and Rd_scatter (log10 kpc)",
            "Mh": "check Mh_intercept, Mh_slope and Mh_scatter (log10 Msun)",
            "c": "check c_intercept, c_slope, c_pivot and c_scatter (log10)",
        }
        return _checked(self, out, hints)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings including ``kind``."""
        return _to_dict(self)


@dataclass(frozen=True)
class LogUniformPrior:
    """Independent log-uniform distributions for the four parameters.

    Each field is a ``(low, high)`` pair in physical units with
    ``0 < low <= high`` (``low == high`` fixes the parameter).

    Attributes
    ----------
    Md : (float, float)
        Disc mass range in Msun.
    Rd : (float, float)
        Disc scale length range in kpc.
    Mh : (float, float)
        Halo mass ``M_Delta`` range in Msun.
    c : (float, float)
        NFW concentration range (dimensionless).
    """

    kind: ClassVar[str] = "loguniform"

    # Annotated ``tuple[float, ...]`` (the length is checked in __post_init__).
    Md: tuple[float, ...] = (1.0e9, 1.0e12)
    Rd: tuple[float, ...] = (0.3, 30.0)
    Mh: tuple[float, ...] = (1.0e10, 1.0e14)
    c: tuple[float, ...] = (3.0, 30.0)

    def __post_init__(self) -> None:
        units = {"Md": "Msun", "Rd": "kpc", "Mh": "Msun", "c": ""}
        for name in PARAM_NAMES:
            bounds = getattr(self, name)
            if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
                raise ConfigError(f"{name} must be a pair [low, high], got {bounds!r}")
            lo, hi = bounds
            for value in (lo, hi):
                if not is_number(value, numpy=False):
                    raise ConfigError(f"{name} bounds must be numbers, got {bounds!r}")
                _finite(name, float(value))
            lo, hi = float(lo), float(hi)
            unit = f" {units[name]}" if units[name] else ""
            if lo <= 0 or hi <= 0:
                raise ConfigError(
                    f"{name} bounds must be positive{unit} for a log-uniform prior, "
                    f"got [{lo:g}, {hi:g}]"
                )
            if lo > hi:
                raise ConfigError(
                    f"{name} bounds [{lo:g}, {hi:g}] are inverted; give [low, high] with low <= high"
                )
            object.__setattr__(self, name, (lo, hi))

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Draw ``n`` galaxies.

        Parameters
        ----------
        n : int
            Number of galaxies (>= 0).
        rng : numpy.random.Generator
            Source of randomness; one uniform ``(4, n)`` block is drawn.

        Returns
        -------
        dict of str to ndarray
            ``Md`` (Msun), ``Rd`` (kpc), ``Mh`` (Msun), ``c`` (1); each ``(n,)``
            float64, log-uniform within the bounds.
        """
        n = _check_n(n)
        rng = _check_rng(rng)
        u = rng.random(size=(4, n))
        out = {}
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            for i, name in enumerate(PARAM_NAMES):
                lo, hi = (math.log10(b) for b in getattr(self, name))
                out[name] = 10.0 ** (lo + (hi - lo) * u[i])
        return _checked(self, out, {name: f"narrow the {name} bounds" for name in PARAM_NAMES})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings including ``kind``."""
        return _to_dict(self)


#: Prior classes by ``kind``.
PRIORS: dict[str, type] = {"reference": ReferencePrior, "loguniform": LogUniformPrior}


def prior_from_dict(data: Mapping[str, Any], *, where: str = "") -> Prior:
    """Build a prior from its settings (as written by ``to_dict`` or a TOML file).

    Parameters
    ----------
    data : mapping
        ``kind`` (one of :data:`PRIORS`) and that prior's fields; missing fields
        take their defaults.
    where : str, keyword-only
        Where ``data`` came from, prefixed to error messages (e.g. a file name).

    Returns
    -------
    Prior

    Raises
    ------
    ConfigError
        Missing or unknown ``kind``, unknown keys, invalid values.
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix}a prior must be a table of settings, got {data!r}")
    settings = dict(data)
    if "kind" not in settings:
        raise ConfigError(
            f"{prefix}prior has no 'kind'; add kind = one of {', '.join(map(repr, PRIORS))}"
        )
    kind = settings.pop("kind")
    if kind not in PRIORS:
        raise ConfigError(
            f"{prefix}unknown prior kind {kind!r}; use one of {', '.join(map(repr, PRIORS))}"
        )
    try:
        return from_dict(PRIORS[kind], settings)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc}") from None


def load_prior(path: str | Path) -> Prior:
    """Read a prior from a TOML file (top-level ``kind`` plus that prior's fields).

    Raises
    ------
    ConfigError
        Missing or malformed file, or invalid settings (the message names the
        file and the key).
    """
    path = Path(path)
    return prior_from_dict(load_toml(path), where=str(path))


def resolve_prior(spec: str | Path | Mapping[str, Any] | Prior | None = None) -> Prior:
    """A prior from a kind name (default settings), a TOML path, a dict or a prior.

    ``None`` gives the default :class:`ReferencePrior`.  A string that names a
    registered kind (``"reference"``, ``"loguniform"``) gives that prior with
    its defaults; any other string is read as a TOML file.
    """
    if spec is None:
        return ReferencePrior()
    if isinstance(spec, tuple(PRIORS.values())):
        return spec  # type: ignore[return-value]
    if isinstance(spec, Mapping):
        return prior_from_dict(spec)
    if isinstance(spec, str) and spec in PRIORS:
        return PRIORS[spec]()
    path = Path(spec)
    if not path.exists():
        raise ConfigError(
            f"prior {str(spec)!r} is neither a known kind ({', '.join(PRIORS)}) "
            "nor an existing TOML file; check the name or path"
        )
    return load_prior(path)
