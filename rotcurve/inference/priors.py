"""Priors of the fits: by name (``flat``, ``lcdm``, ``reference``) or from a TOML file.

A fit prior is a small frozen dataclass (strict: unknown keys are errors) with
a ``kind``; :data:`FIT_PRIORS` maps kinds to classes.  The files in
``data/fit_priors/`` hold the defaults with their reasons.  For one galaxy a
prior is *bound* (:meth:`FitPrior.bind`) into a :class:`BoundPrior`: a sum of
terms over the sampled coordinates ``theta`` (``log10`` of every model
parameter; distance [Mpc] and inclination [deg] linearly) with a vectorised
log density, draws (starting points of the optimiser) and a bounding box.

``flat``  (:class:`FlatPrior`)
    ``log10 V200`` and ``log10 C200`` uniform in a box (10-500 km/s, 1-100):
    flat in the logarithm, because both are positive scale parameters spanning
    more than a decade, and a prior flat in the value would put 98 % of its
    mass above V200 = 20 km/s and 90 % above C200 = 10, pulling poorly
    constrained dwarfs to massive, concentrated halos.  Mass-to-light ratios
    log-normal: ``Ups_disk`` around 0.5 and ``Ups_bulge`` around 0.7 (3.6
    micron, stellar-population models), 0.1 dex.  For ``disc-nfw``,
    ``log10 Md`` and ``log10 Rd`` uniform in wide boxes.
``lcdm``  (:class:`LCDMPrior`)
    ``flat`` plus the concentration-mass relation of Dutton & Maccio (2014,
    MNRAS 441, 3359; NFW, 200c, z = 0):
    ``log10 C200 ~ N(0.905 - 0.101 log10(M200 / (1e12 h^-1 Msun)), 0.11)``
    with ``h = H0 / 100`` of the fit.
``reference`` (:class:`ReferenceFitPrior`, ``disc-nfw`` only)
    The generator's reference population
    (:class:`rotcurve.generator.priors.ReferencePrior`), whose density is
    :func:`rotcurve.inference.reference.reference_log_density`; a curve drawn
    from it has an exactly calibrated posterior.  The generator's own TOML
    (``data/priors/reference.toml``) is accepted as it is.

Every prior kind takes optional nuisance parameters: a ``[distance]`` table
(Gaussian in ``D`` around the galaxy's distance, truncated to ``D > 0``) and
an ``[inclination]`` table (Gaussian in ``i`` around the galaxy's inclination,
truncated to a range).  Their widths come from the galaxy's own errors
(``e_distance``, ``e_inclination``) or from the table (``sigma_frac``,
``sigma_deg``).  A galaxy without a distance (inclination) cannot take the
distance (inclination) nuisance: that galaxy fails with a clear reason.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy import special

from rotcurve.serialization import from_dict, load_toml, to_dict
from rotcurve.errors import ConfigError, DataError, Option
from rotcurve.generator.priors import ReferencePrior
from rotcurve.inference.galaxy import Galaxy
from rotcurve.inference.halos import Halo, m200_from_v200
from rotcurve.inference.models import FitModel
from rotcurve.inference.parameters import Parameter
from rotcurve.inference.reference import reference_box, reference_log_density

__all__ = [
    "LogNormal",
    "DistancePrior",
    "InclinationPrior",
    "FitPrior",
    "FlatPrior",
    "LCDMPrior",
    "ReferenceFitPrior",
    "FIT_PRIORS",
    "BoundPrior",
    "Term",
    "DISTANCE",
    "INCLINATION",
    "fit_prior_from_dict",
    "load_fit_prior",
    "resolve_fit_prior",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

#: The nuisance parameters (sampled linearly).
DISTANCE = Parameter("D", "Mpc", False, r"$D$ [Mpc]")
INCLINATION = Parameter("inc", "deg", False, r"$i$ [deg]")


# -- settings ---------------------------------------------------------------------------
def _positive(owner: str, name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{owner}.{name} must be a positive number, got {value!r}")


def _pair(owner: str, name: str, pair: tuple[float, float], *, positive: bool = True) -> None:
    lo, hi = pair
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(f"{owner}.{name} must be [low, high] with low < high, got {list(pair)}")
    if positive and lo <= 0:
        raise ConfigError(f"{owner}.{name} bounds must be positive (flat in log10), got {list(pair)}")


@dataclass(frozen=True)
class LogNormal:
    """A log-normal prior: ``log10 x ~ N(log10 median, sigma_dex)``."""

    median: float
    sigma_dex: float

    def __post_init__(self) -> None:
        _positive("LogNormal", "median", self.median)
        _positive("LogNormal", "sigma_dex", self.sigma_dex)


@dataclass(frozen=True)
class DistancePrior:
    """Distance as a nuisance parameter: ``D ~ N(D0, sigma)``, truncated to ``D > 0`` [Mpc].

    Attributes
    ----------
    sigma_frac : float, optional
        ``sigma = sigma_frac * D0`` for galaxies without their own error (or
        for all when ``use_data_errors`` is false).
    use_data_errors : bool
        Use the galaxy's ``e_distance`` where it has one.
    """

    sigma_frac: float | None = None
    use_data_errors: bool = True

    def __post_init__(self) -> None:
        _positive("distance", "sigma_frac", self.sigma_frac)


@dataclass(frozen=True)
class InclinationPrior:
    """Inclination as a nuisance parameter: ``i ~ N(i0, sigma)`` [deg], truncated to ``range_deg``.

    The observed velocities and errors scale as ``sin(i0) / sin(i)``.

    Attributes
    ----------
    sigma_deg : float, optional
        Width for galaxies without their own ``e_inclination``.
    use_data_errors : bool
        Use the galaxy's ``e_inclination`` where it has one.
    range_deg : (float, float)
        Truncation range in degrees, within (0, 90].
    """

    sigma_deg: float | None = None
    use_data_errors: bool = True
    range_deg: tuple[float, float] = (1.0, 90.0)

    def __post_init__(self) -> None:
        _positive("inclination", "sigma_deg", self.sigma_deg)
        lo, hi = self.range_deg
        if not (0 < lo < hi <= 90):
            raise ConfigError(f"inclination.range_deg must satisfy 0 < low < high <= 90, got {list(self.range_deg)}")


# -- terms ---------------------------------------------------------------------------------
class Term(abc.ABC):
    """One factor of a prior over some sampled coordinates (by parameter name).

    For speed, :class:`BoundPrior` evaluates the common cases itself, all
    coordinates at once: a term may declare an exact box :attr:`support`
    (checked for all terms in one pass), an independent :attr:`normal`
    density per coordinate (``(means, sigmas)``, vectorised), and a constant
    :attr:`log_norm`; :meth:`log_density` is called only for terms with
    :attr:`custom` set.  Every term implements :meth:`log_density` in full
    (with its support) for use on its own.
    """

    names: tuple[str, ...] = ()
    #: Exact support (k, 2) in theta, or None if the term checks it in :meth:`log_density`.
    support: np.ndarray | None = None
    #: ``(means (k,), sigmas (k,))`` of an independent normal density, or None.
    normal: tuple[np.ndarray, np.ndarray] | None = None
    #: Constant part of ``ln p`` inside the support.
    log_norm: float = 0.0
    #: :meth:`log_density` must be called (the density is not only normal + constant).
    custom: bool = True

    @abc.abstractmethod
    def log_density(self, cols: Sequence[np.ndarray], *, inside_bound: bool = False) -> np.ndarray:
        """``ln p`` (W,) of the coordinates ``cols`` (each (W,), in :attr:`names` order).

        With ``inside_bound`` (called by :class:`BoundPrior` for a :attr:`custom`
        term that has a :attr:`support`), only the part not covered by
        :attr:`support`, :attr:`normal` and :attr:`log_norm`.
        """

    @abc.abstractmethod
    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws, shape (n, len(names))."""

    @abc.abstractmethod
    def box(self) -> np.ndarray:
        """Bounds (len(names), 2) holding (almost) all of the prior mass."""


class _Normal(Term):
    """Truncated normal on one coordinate."""

    custom = False

    def __init__(self, name: str, mean: float, sigma: float, lo: float = -math.inf, hi: float = math.inf) -> None:
        self.names = (name,)
        self.mean, self.sigma, self.lo, self.hi = float(mean), float(sigma), float(lo), float(hi)
        a, b = (self.lo - self.mean) / self.sigma, (self.hi - self.mean) / self.sigma
        mass = float(special.ndtr(b) - special.ndtr(a))
        if not mass > 0:
            raise DataError(f"the prior on {name} has no mass inside [{lo:g}, {hi:g}]")
        self.log_norm = -math.log(self.sigma) - _LOG_SQRT_2PI - math.log(mass)
        self.support = np.array([[self.lo, self.hi]])
        self.normal = (np.array([self.mean]), np.array([self.sigma]))

    def log_density(self, cols: Sequence[np.ndarray], *, inside_bound: bool = False) -> np.ndarray:
        x = cols[0]
        z = (x - self.mean) / self.sigma
        return np.where((x >= self.lo) & (x <= self.hi), self.log_norm - 0.5 * z * z, -np.inf)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        a, b = special.ndtr((self.lo - self.mean) / self.sigma), special.ndtr((self.hi - self.mean) / self.sigma)
        u = rng.uniform(a, b, size=n)
        x = self.mean + self.sigma * special.ndtri(np.clip(u, 1e-300, 1 - 1e-16))
        return np.clip(x, np.nextafter(self.lo, np.inf), np.nextafter(self.hi, -np.inf))[:, None]

    def box(self) -> np.ndarray:
        return np.array([[max(self.lo, self.mean - 8 * self.sigma), min(self.hi, self.mean + 8 * self.sigma)]])


class _Uniform(Term):
    """Uniform on one coordinate."""

    custom = False

    def __init__(self, name: str, lo: float, hi: float) -> None:
        self.names = (name,)
        self.lo, self.hi = float(lo), float(hi)
        self.log_norm = -math.log(self.hi - self.lo)
        self.support = np.array([[self.lo, self.hi]])

    def log_density(self, cols: Sequence[np.ndarray], *, inside_bound: bool = False) -> np.ndarray:
        x = cols[0]
        return np.where((x >= self.lo) & (x <= self.hi), self.log_norm, -np.inf)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.lo, self.hi, size=(n, 1))

    def box(self) -> np.ndarray:
        return np.array([[self.lo, self.hi]])


class _Halo200(Term):
    """Halo prior over ``(log10 Mh, log10 c)``: uniform in ``log10 V200`` and ``log10 C200``.

    With ``cm`` the ``log10 C200`` factor is the Dutton & Maccio normal around
    the concentration-mass relation instead (truncated to the same range).
    For ``Delta = 200`` the support is a box in ``theta`` (``M200 = Mh``,
    ``C200 = c``) and the Jacobian is constant; otherwise both are computed.
    """

    def __init__(self, halo: Halo, v200: tuple[float, float], c200: tuple[float, float],
                 cm: tuple[float, float, float, float] | None) -> None:
        self.halo = halo
        self.names = tuple(p.name for p in halo.parameters)
        self.lv = (math.log10(v200[0]), math.log10(v200[1]))
        self.lc = (math.log10(c200[0]), math.log10(c200[1]))
        self.cm = cm  # (intercept, slope, pivot, scatter) of log10 C200 vs log10(M200 h)
        self.log_h = math.log10(halo.H0 / 100.0)
        # log10 M200 = 3 log10 V200 + offset
        self._offset = math.log10(float(m200_from_v200(1.0, H0=halo.H0)))
        self._exact = halo.Delta == 200.0
        norm = -math.log(self.lv[1] - self.lv[0])
        if cm is None:
            norm -= math.log(self.lc[1] - self.lc[0])
        else:
            norm -= math.log(cm[3]) + _LOG_SQRT_2PI
        if self._exact:
            norm += math.log(1.0 / 3.0)  # d log10 V200 / d log10 Mh
            self.support = np.array([[3.0 * self.lv[0] + self._offset, 3.0 * self.lv[1] + self._offset],
                                     [self.lc[0], self.lc[1]]])
            self.log_norm = norm
            self.custom = cm is not None
        else:
            self.support = None
            self.log_norm = 0.0
            self.custom = True
        self._norm = norm

    def _log200(self, cols: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
        if self._exact:  # M200 = Mh, C200 = c: everything in log space
            lm, lc = cols
            return (lm - self._offset) / 3.0, lc, math.log(1.0 / 3.0)
        values = {n: 10.0**c for n, c in zip(self.names, cols)}
        d = self.halo.derived(values)
        return np.log10(d["V200"]), np.log10(d["C200"]), self.halo.log_jacobian_200(values)

    def _cm_part(self, lv: np.ndarray, lc: np.ndarray) -> np.ndarray:
        intercept, slope, pivot, scatter = self.cm
        z = (lc - (intercept + slope * (3.0 * lv + self._offset + self.log_h - pivot))) / scatter
        return -0.5 * z * z

    def log_density(self, cols: Sequence[np.ndarray], *, inside_bound: bool = False) -> np.ndarray:
        if inside_bound and self._exact:  # BoundPrior checked the box and added the constant
            return self._cm_part((cols[0] - self._offset) / 3.0, cols[1])
        lv, lc, logjac = self._log200(cols)
        base = self._norm - (math.log(1.0 / 3.0) if self._exact else 0.0)
        out = base + logjac + np.zeros_like(lv)
        if self.cm is not None:
            out = out + self._cm_part(lv, lc)
        inside = (lv >= self.lv[0]) & (lv <= self.lv[1]) & (lc >= self.lc[0]) & (lc <= self.lc[1])
        return np.where(inside, out, -np.inf)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        lv = rng.uniform(*self.lv, size=n)
        if self.cm is None:
            lc = rng.uniform(*self.lc, size=n)
        else:
            intercept, slope, pivot, scatter = self.cm
            lm200 = 3.0 * lv + self._offset
            lc = np.clip(intercept + slope * (lm200 + self.log_h - pivot) + scatter * rng.standard_normal(n), *self.lc)
        values = self.halo.from_200(10.0**lv, 10.0**lc)
        return np.column_stack([np.log10(values[name]) for name in self.names])

    def box(self) -> np.ndarray:
        corners = self.halo.from_200(10.0 ** np.array([self.lv[0], self.lv[1], self.lv[0], self.lv[1]]),
                                     10.0 ** np.array([self.lc[0], self.lc[0], self.lc[1], self.lc[1]]))
        out = np.array([[np.log10(corners[n]).min(), np.log10(corners[n]).max()] for n in self.names])
        if not self._exact:  # the support is not a box: widen
            out += np.array([-0.3, 0.3])
        return out


class _Reference(Term):
    """The generator's reference population over log10 (Md, Rd, Mh, c)."""

    names = ("Md", "Rd", "Mh", "c")

    def __init__(self, population: ReferencePrior) -> None:
        self.population = population
        reference_box(population)  # checks the scatters

    def log_density(self, cols: Sequence[np.ndarray], *, inside_bound: bool = False) -> np.ndarray:
        return reference_log_density(self.population, *cols)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        s = self.population.sample(n, rng)
        return np.column_stack([np.log10(s[k]) for k in self.names])

    def box(self) -> np.ndarray:
        return reference_box(self.population)


# -- bound prior -------------------------------------------------------------------------
class BoundPrior:
    """A prior for one galaxy: terms covering every sampled coordinate exactly once.

    The log density is evaluated for all walkers at once: one pass over the
    box supports of all terms, one vectorised normal density over all
    coordinates with independent normal terms, the constants, and the
    remaining (custom) terms.

    Parameters
    ----------
    parameters : sequence of Parameter
        The sampled parameters in ``theta`` order.
    terms : sequence of Term
    """

    def __init__(self, parameters: Sequence[Parameter], terms: Sequence[Term]) -> None:
        order = [p.name for p in parameters]
        covered = [n for t in terms for n in t.names]
        if sorted(covered) != sorted(order):
            raise ConfigError(f"prior terms cover {sorted(covered)} but the model samples {sorted(order)}")
        self.parameters = tuple(parameters)
        self.terms = tuple(terms)
        self._index = [[order.index(n) for n in t.names] for t in terms]
        d = len(order)
        self._lo = np.full(d, -np.inf)
        self._hi = np.full(d, np.inf)
        g_cols, g_mean, g_sigma = [], [], []
        self._const = 0.0
        self._custom: list[tuple[Term, list[int]]] = []
        for term, idx in zip(self.terms, self._index):
            if term.support is not None:
                self._lo[idx] = term.support[:, 0]
                self._hi[idx] = term.support[:, 1]
                self._const += term.log_norm
            if term.normal is not None:
                g_cols.extend(idx)
                g_mean.extend(term.normal[0])
                g_sigma.extend(term.normal[1])
            if term.custom:
                self._custom.append((term, idx))
        self._boxed = bool(np.any(np.isfinite(self._lo) | np.isfinite(self._hi)))
        self._g_cols = np.array(g_cols, dtype=np.intp)
        self._g_mean = np.array(g_mean, dtype=np.float64)
        self._g_inv = 1.0 / np.array(g_sigma, dtype=np.float64) if g_sigma else np.zeros(0)

    def log_density(self, theta: np.ndarray) -> np.ndarray:
        """``ln p(theta)`` (W,) for ``theta`` (W, d); ``-inf`` outside the support."""
        out = np.full(theta.shape[0], self._const)
        if self._g_cols.size:
            z = (theta[:, self._g_cols] - self._g_mean) * self._g_inv
            out -= 0.5 * np.einsum("ij,ij->i", z, z)
        for term, idx in self._custom:
            out += term.log_density([theta[:, i] for i in idx], inside_bound=term.support is not None)
        if self._boxed:
            inside = np.all((theta >= self._lo) & (theta <= self._hi), axis=1)
            out = np.where(inside, out, -np.inf)
        return out

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of ``theta``, shape (n, d)."""
        out = np.empty((n, len(self.parameters)))
        for term, idx in zip(self.terms, self._index):
            out[:, idx] = term.draw(n, rng)
        return out

    def box(self) -> np.ndarray:
        """Bounds (d, 2) in ``theta`` holding (almost) all of the prior mass."""
        out = np.empty((len(self.parameters), 2))
        for term, idx in zip(self.terms, self._index):
            out[idx] = term.box()
        return out


# -- prior kinds -------------------------------------------------------------------------
class FitPrior(abc.ABC):
    """Base class of the fit priors (frozen dataclasses with a ``kind``)."""

    kind: ClassVar[str] = ""
    #: Models this prior can be used with (None: all).
    models: ClassVar[tuple[str, ...] | None] = None
    distance: DistancePrior | None
    inclination: InclinationPrior | None

    def check_model(self, model: FitModel) -> None:
        """Raise :class:`ConfigError` if the prior does not apply to ``model``."""
        if self.models is not None and model.name not in self.models:
            raise ConfigError.both(
                "the {kind} prior is for the {models} model, not {name}; use {p}",
                kind=self.kind, models=", ".join(self.models), name=model.name,
                p=Option("prior='flat' or 'lcdm'", "--prior flat or lcdm"),
            )

    @abc.abstractmethod
    def model_terms(self, model: FitModel, galaxy: Galaxy) -> list[Term]:
        """The terms over the model's parameters for this galaxy."""

    def nuisance(self, galaxy: Galaxy) -> tuple[list[Parameter], list[Term]]:
        """Nuisance parameters and their terms for this galaxy (DataError if it lacks the data)."""
        params: list[Parameter] = []
        terms: list[Term] = []
        if self.distance is not None:
            d0 = galaxy.distance
            if d0 is None:
                raise DataError(f"galaxy {galaxy.name} has no distance; the distance prior needs one (column D)")
            sigma = galaxy.e_distance if (self.distance.use_data_errors and galaxy.e_distance) else None
            if sigma is None and self.distance.sigma_frac is not None:
                sigma = self.distance.sigma_frac * d0
            if sigma is None:
                raise DataError(
                    f"galaxy {galaxy.name} has no distance error; give eD in the data or distance.sigma_frac in the prior"
                )
            params.append(DISTANCE)
            terms.append(_Normal("D", d0, sigma, 0.0, math.inf))
        if self.inclination is not None:
            i0 = galaxy.inclination
            if i0 is None:
                raise DataError(f"galaxy {galaxy.name} has no inclination; the inclination prior needs one (column inc)")
            sigma = galaxy.e_inclination if (self.inclination.use_data_errors and galaxy.e_inclination) else None
            if sigma is None:
                sigma = self.inclination.sigma_deg
            if sigma is None:
                raise DataError(
                    f"galaxy {galaxy.name} has no inclination error; give e_inc in the data or "
                    "inclination.sigma_deg in the prior"
                )
            lo, hi = self.inclination.range_deg
            params.append(INCLINATION)
            terms.append(_Normal("inc", i0, sigma, lo, hi))
        return params, terms

    def bind(self, model: FitModel, galaxy: Galaxy) -> BoundPrior:
        """The prior of one galaxy, over ``model.parameters(galaxy)`` plus the nuisance parameters."""
        self.check_model(model)
        params, terms = self.nuisance(galaxy)
        return BoundPrior(model.parameters(galaxy) + tuple(params), self.model_terms(model, galaxy) + terms)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings including ``kind``."""
        return {"kind": self.kind, **to_dict(self)}

    @classmethod
    def from_settings(cls, settings: dict[str, Any], *, where: str = "") -> FitPrior:
        """Build from a settings table (strict: unknown keys are errors)."""
        return from_dict(cls, settings, where=where)


def _ups_terms(prior: FlatPrior, model: FitModel, galaxy: Galaxy) -> list[Term]:
    out: list[Term] = []
    for p in model.baryon_parameters(galaxy):
        if p.name == "Ups_disk":
            out.append(_Normal(p.name, math.log10(prior.Ups_disk.median), prior.Ups_disk.sigma_dex))
        elif p.name == "Ups_bulge":
            out.append(_Normal(p.name, math.log10(prior.Ups_bulge.median), prior.Ups_bulge.sigma_dex))
        elif p.name == "Md":
            out.append(_Uniform(p.name, math.log10(prior.Md[0]), math.log10(prior.Md[1])))
        elif p.name == "Rd":
            out.append(_Uniform(p.name, math.log10(prior.Rd[0]), math.log10(prior.Rd[1])))
        else:
            raise ConfigError(f"the {prior.kind} prior has no entry for the parameter {p.name}")
    return out


@dataclass(frozen=True)
class FlatPrior(FitPrior):
    """Flat in ``log10 V200`` and ``log10 C200``; log-normal mass-to-light ratios.

    Attributes
    ----------
    V200 : (float, float)
        Range [km/s]; ``log10 V200`` is uniform inside.
    C200 : (float, float)
        Range; ``log10 C200`` is uniform inside.
    Ups_disk, Ups_bulge : LogNormal
        3.6 micron mass-to-light ratios (``sparc`` model).
    Md : (float, float)
        Disc-mass range [Msun], flat in ``log10`` (``disc-nfw`` model).
    Rd : (float, float)
        Disc scale-length range [kpc], flat in ``log10`` (``disc-nfw`` model).
    distance, inclination : optional
        Nuisance parameters (see :class:`DistancePrior`, :class:`InclinationPrior`).
    """

    kind: ClassVar[str] = "flat"

    V200: tuple[float, float] = (10.0, 500.0)
    C200: tuple[float, float] = (1.0, 100.0)
    Ups_disk: LogNormal = LogNormal(0.5, 0.1)
    Ups_bulge: LogNormal = LogNormal(0.7, 0.1)
    Md: tuple[float, float] = (1.0e6, 1.0e13)
    Rd: tuple[float, float] = (0.05, 50.0)
    distance: DistancePrior | None = None
    inclination: InclinationPrior | None = None

    def __post_init__(self) -> None:
        for name in ("V200", "C200", "Md", "Rd"):
            value = tuple(float(v) for v in getattr(self, name))
            if len(value) != 2:
                raise ConfigError(f"{self.kind}.{name} must be [low, high]")
            _pair(self.kind, name, value)  # type: ignore[arg-type]
            object.__setattr__(self, name, value)

    def _cm(self, model: FitModel) -> tuple[float, float, float, float] | None:
        return None

    def model_terms(self, model: FitModel, galaxy: Galaxy) -> list[Term]:
        return _ups_terms(self, model, galaxy) + [_Halo200(model.halo, self.V200, self.C200, self._cm(model))]


@dataclass(frozen=True)
class LCDMPrior(FlatPrior):
    """:class:`FlatPrior` with the Dutton & Maccio (2014) concentration-mass relation.

    ``log10 C200 ~ N(cM_intercept + cM_slope (log10(M200 h) - cM_pivot), cM_scatter)``,
    ``h = H0 / 100``, truncated to the ``C200`` range.
    """

    kind: ClassVar[str] = "lcdm"

    cM_intercept: float = 0.905
    cM_slope: float = -0.101
    cM_pivot: float = 12.0
    cM_scatter: float = 0.11

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive(self.kind, "cM_scatter", self.cM_scatter)

    def _cm(self, model: FitModel) -> tuple[float, float, float, float] | None:
        return (self.cM_intercept, self.cM_slope, self.cM_pivot, self.cM_scatter)


@dataclass(frozen=True)
class ReferenceFitPrior(FitPrior):
    """The generator's reference population as the prior of ``disc-nfw`` fits.

    Attributes
    ----------
    population : ReferencePrior
        Its settings (the same keys as ``data/priors/reference.toml``, given at
        the top level of the TOML file).
    distance, inclination : optional
        Nuisance parameters.
    """

    kind: ClassVar[str] = "reference"
    models: ClassVar[tuple[str, ...] | None] = ("disc-nfw",)

    population: ReferencePrior = ReferencePrior()
    distance: DistancePrior | None = None
    inclination: InclinationPrior | None = None

    def __post_init__(self) -> None:
        reference_box(self.population)  # scatters must be > 0

    def model_terms(self, model: FitModel, galaxy: Galaxy) -> list[Term]:
        if model.halo.kind != "nfw":
            raise ConfigError("the reference prior is defined for the NFW halo (Mh, c)")
        return [_Reference(self.population)]

    def to_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, **{k: v for k, v in self.population.to_dict().items() if k != "kind"}}
        for name in ("distance", "inclination"):
            value = getattr(self, name)
            if value is not None:
                out[name] = to_dict(value)
        return out

    @classmethod
    def from_settings(cls, settings: dict[str, Any], *, where: str = "") -> FitPrior:
        settings = dict(settings)
        nuisance: dict[str, Any] = {}
        for name in ("distance", "inclination"):
            if name in settings:
                nuisance[name] = settings.pop(name)
        population = from_dict(ReferencePrior, settings, where=where)
        return from_dict(cls, {"population": population, **nuisance}, where=where)


#: Fit priors by kind.
FIT_PRIORS: dict[str, type[FitPrior]] = {"flat": FlatPrior, "lcdm": LCDMPrior, "reference": ReferenceFitPrior}


def fit_prior_from_dict(data: Mapping[str, Any], *, where: str = "") -> FitPrior:
    """A fit prior from its settings (``kind`` plus fields; missing fields take defaults).

    Raises
    ------
    ConfigError
        Missing or unknown ``kind``, unknown keys, invalid values.
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix}a prior must be a table of settings, got {data!r}")
    settings = dict(data)
    kind = settings.pop("kind", None)
    if kind is None:
        raise ConfigError(f"{prefix}prior has no 'kind'; add kind = one of {', '.join(map(repr, FIT_PRIORS))}")
    if kind not in FIT_PRIORS:
        raise ConfigError(f"{prefix}unknown fit prior kind {kind!r}; use one of {', '.join(map(repr, FIT_PRIORS))}")
    try:
        return FIT_PRIORS[kind].from_settings(settings)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc}") from None


def load_fit_prior(path: str | Path) -> FitPrior:
    """Read a fit prior from a TOML file (top-level ``kind`` and its fields)."""
    path = Path(path)
    return fit_prior_from_dict(load_toml(path), where=str(path))


def resolve_fit_prior(spec: str | Path | Mapping[str, Any] | FitPrior | None, *, model: FitModel) -> FitPrior:
    """A fit prior from a kind name, a TOML path, a dict, a prior, or None (the model's default).

    Raises
    ------
    ConfigError
        Unknown name, missing file, invalid settings, or a prior that does not
        apply to ``model``.
    """
    if spec is None:
        prior: FitPrior = FIT_PRIORS[model.default_prior]()
    elif isinstance(spec, FitPrior):
        prior = spec
    elif isinstance(spec, Mapping):
        prior = fit_prior_from_dict(spec)
    elif isinstance(spec, str) and spec in FIT_PRIORS:
        prior = FIT_PRIORS[spec]()
    else:
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(
                f"prior {str(spec)!r} is neither a known kind ({', '.join(FIT_PRIORS)}) nor an existing "
                "TOML file; check the name or path"
            )
        prior = load_fit_prior(path)
    prior.check_model(model)
    return prior

