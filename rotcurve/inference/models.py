"""Fit models: which parameters a galaxy's curve has and how they make ``v^2``.

A model is the sum of mass components, ``v_model^2(R) = sum_k v_k^2(R)``, the
baryons (a model's own hook) plus a halo component from
:data:`rotcurve.inference.halos.HALOS`.  Models are registered by name in
:data:`MODELS`:

``disc-nfw`` (:class:`DiscNFWModel`)
    The generator's own model (:mod:`rotcurve.physics`): an exponential disc
    of mass ``Md`` [Msun] and scale length ``Rd`` [kpc] plus an NFW halo
    ``Mh`` [Msun], ``c``.  Observed baryon columns, if any, are not used.
``sparc`` (:class:`SparcModel`)
    The observed baryons of SPARC (Lelli, McGaugh & Schombert 2016, AJ 152,
    157) scaled by stellar mass-to-light ratios plus a halo::

        v^2 = |Vgas| Vgas + Ups_disk Vdisk^2 + Ups_bulge Vbul^2 + v_halo^2(Mh, c)

    ``Ups_bulge`` is a parameter only where the galaxy has a bulge (``Vbul``
    not all zero).

Every parameter is sampled as ``log10`` of its value.  Nuisance parameters
(distance, inclination) come from the prior, not from the model; the model
receives the distance factor ``s = D / D0`` (radii scale as ``s``, the
baryonic ``v^2`` as ``s``).

To add a model: subclass :class:`FitModel`, implement the hooks
(:meth:`~FitModel.baryon_parameters`, :meth:`~FitModel.prepare`,
:meth:`~FitModel.baryons`, :meth:`~FitModel.stellar_mass`) and register it in
:data:`MODELS`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rotcurve.errors import ConfigError, DataError
from rotcurve.inference.galaxy import Galaxy
from rotcurve.inference.halos import HALOS, Halo
from rotcurve.inference.parameters import Parameter
from rotcurve.physics import ExponentialDisc
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT

__all__ = ["FitModel", "DiscNFWModel", "SparcModel", "MODELS", "resolve_model", "luminosity"]


def luminosity(radii: np.ndarray, sb: np.ndarray) -> float:
    """Luminosity [Lsun] of a surface-brightness profile ``sb`` [Lsun/pc^2] at ``radii`` [kpc].

    ``L = 2 pi int SB(R) R dR``: trapezoids from ``R = 0`` (the innermost value
    held constant inwards) to the last radius, plus an exponential tail fitted
    to the last two positive points (scale length at most the last radius).
    An estimate: SPARC's rotation-curve radii do not always cover the whole
    disc, and its Table 1 luminosities are better where available.
    """
    r = np.concatenate([[0.0], np.asarray(radii, dtype=np.float64)])
    s = np.concatenate([[sb[0]], np.asarray(sb, dtype=np.float64)])
    s = np.maximum(s, 0.0)
    total = float(np.sum(0.5 * (s[1:] * r[1:] + s[:-1] * r[:-1]) * np.diff(r)))
    if s.size >= 3 and s[-1] > 0.0 and s[-2] > s[-1]:
        h = min((r[-1] - r[-2]) / math.log(s[-2] / s[-1]), r[-1])
        total += s[-1] * h * (r[-1] + h)
    return 2.0 * math.pi * total * 1.0e6  # kpc^2 -> pc^2


class FitModel(abc.ABC):
    """Baryons plus a halo component; the hooks say what the baryons are.

    Parameters
    ----------
    H0 : float, keyword-only
        Hubble constant [km/s/Mpc] of the halo's mass definition.
    Delta : float, keyword-only
        Overdensity (relative to critical) of the halo's ``Mh``.
    halo : str, keyword-only
        Halo component, a key of :data:`~rotcurve.inference.halos.HALOS`.
    """

    #: Registry name.
    name: ClassVar[str] = ""
    #: One line for --help and the docs.
    description: ClassVar[str] = ""
    #: Prior used when none is given.
    default_prior: ClassVar[str] = "flat"
    #: Data columns a galaxy must have.
    required_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, H0: float = H0_DEFAULT, Delta: float = DELTA_DEFAULT, halo: str = "nfw") -> None:
        if halo not in HALOS:
            raise ConfigError(f"unknown halo {halo!r}; choose one of {', '.join(HALOS)}")
        self.halo: Halo = HALOS[halo](H0=H0, Delta=Delta)
        self.H0 = self.halo.H0
        self.Delta = self.halo.Delta
        self.halo_kind = halo

    def __repr__(self) -> str:
        return f"{type(self).__name__}(H0={self.H0:g}, Delta={self.Delta:g}, halo={self.halo_kind!r})"

    # -- hooks -----------------------------------------------------------------------
    @abc.abstractmethod
    def baryon_parameters(self, galaxy: Galaxy) -> tuple[Parameter, ...]:
        """The baryons' parameters for this galaxy."""

    @abc.abstractmethod
    def prepare(self, galaxy: Galaxy) -> Any:
        """Per-galaxy constants (arrays on the radii), passed back to the other hooks."""

    @abc.abstractmethod
    def baryons(self, ctx: Any, values: dict[str, np.ndarray], scale: np.ndarray | None) -> dict[str, np.ndarray]:
        """Signed ``v^2`` [(km/s)^2] of each baryonic component, (W, n) each, by name."""

    @abc.abstractmethod
    def stellar_mass(self, ctx: Any, values: dict[str, np.ndarray], scale: np.ndarray | None) -> np.ndarray:
        """Stellar mass [Msun] (W,) (NaN where the data cannot tell)."""

    # -- shared ------------------------------------------------------------------------
    def check(self, galaxy: Galaxy) -> None:
        """Raise :class:`DataError` if the galaxy lacks a column the model needs."""
        missing = [c for c in self.required_columns if getattr(galaxy, c) is None]
        if missing:
            # a per-galaxy reason, listed in the outputs: worded for either interface
            raise DataError(
                f"galaxy {galaxy.name} has no {', '.join(missing)} column; the {self.name} model needs the "
                "observed baryons (fit curves without them with the disc-nfw model)"
            )

    def parameters(self, galaxy: Galaxy) -> tuple[Parameter, ...]:
        """All model parameters for this galaxy: baryons then halo."""
        return self.baryon_parameters(galaxy) + self.halo.parameters

    def setup(self, galaxy: Galaxy) -> _Context:
        """Everything the likelihood needs on the galaxy's radii."""
        return _Context(model=self.prepare(galaxy), halo=self.halo.prepare(galaxy.R), n=galaxy.n)

    def v2_total(self, ctx: _Context, values: dict[str, np.ndarray], scale: np.ndarray | None) -> np.ndarray:
        """Total ``v^2`` (W, n) [(km/s)^2]."""
        w = next(iter(values.values())).size
        out = np.empty((w, ctx.n))
        self.halo.v2(ctx.halo, values, scale, out)
        for v2 in self.baryons(ctx.model, values, scale).values():
            out += v2
        return out

    def components(self, ctx: _Context, values: dict[str, np.ndarray], scale: np.ndarray | None) -> dict[str, np.ndarray]:
        """Signed ``v^2`` of every component (baryons then ``halo``), (W, n) each."""
        w = next(iter(values.values())).size
        halo = np.empty((w, ctx.n))
        self.halo.v2(ctx.halo, values, scale, halo)
        out = dict(self.baryons(ctx.model, values, scale))
        out["halo"] = halo
        return out

    def derived(self, ctx: _Context, values: dict[str, np.ndarray], scale: np.ndarray | None) -> dict[str, np.ndarray]:
        """``V200``, ``R200``, ``C200``, ``M200`` and ``Mstar``, each (W,)."""
        out = self.halo.derived(values)
        out["Mstar"] = self.stellar_mass(ctx.model, values, scale)
        return out


@dataclass(frozen=True)
class _Context:
    model: Any
    halo: Any
    n: int


class DiscNFWModel(FitModel):
    """Exponential disc (``Md``, ``Rd``) plus halo: the generator's model."""

    name: ClassVar[str] = "disc-nfw"
    description: ClassVar[str] = "exponential disc (Md, Rd) + NFW halo (Mh, c): the generator's model"
    default_prior: ClassVar[str] = "reference"
    _PARAMS: ClassVar[tuple[Parameter, ...]] = (
        Parameter("Md", "Msun", True, r"$\log_{10} M_d$ [M$_\odot$]"),
        Parameter("Rd", "kpc", True, r"$\log_{10} R_d$ [kpc]"),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._disc = ExponentialDisc(method="fast")

    def baryon_parameters(self, galaxy: Galaxy) -> tuple[Parameter, ...]:
        return self._PARAMS

    def prepare(self, galaxy: Galaxy) -> Any:
        return (self._disc.prepare(galaxy.R), galaxy.n)

    def baryons(self, ctx: Any, values: dict[str, np.ndarray], scale: np.ndarray | None) -> dict[str, np.ndarray]:
        md, rd = values["Md"], values["Rd"]
        if scale is not None:  # v2(s R; Md, Rd) = v2(R; Md / s, Rd / s)
            md, rd = md / scale, rd / scale
        prepared, n = ctx
        out = np.empty((md.size, n))
        self._disc.v2_block(prepared, {"Md": md, "Rd": rd}, out)
        return {"disc": out}

    def stellar_mass(self, ctx: Any, values: dict[str, np.ndarray], scale: np.ndarray | None) -> np.ndarray:
        return np.asarray(values["Md"], dtype=np.float64).copy()


class SparcModel(FitModel):
    """Observed gas, disc and bulge (SPARC) scaled by mass-to-light ratios, plus a halo."""

    name: ClassVar[str] = "sparc"
    description: ClassVar[str] = "observed gas + Ups_disk Vdisk^2 + Ups_bulge Vbul^2 (SPARC) + NFW halo (Mh, c)"
    default_prior: ClassVar[str] = "flat"
    required_columns: ClassVar[tuple[str, ...]] = ("Vgas", "Vdisk")
    _DISK = Parameter("Ups_disk", "Msun / Lsun", True, r"$\log_{10} \Upsilon_d$")
    _BULGE = Parameter("Ups_bulge", "Msun / Lsun", True, r"$\log_{10} \Upsilon_b$")

    def baryon_parameters(self, galaxy: Galaxy) -> tuple[Parameter, ...]:
        return (self._DISK, self._BULGE) if galaxy.has_bulge else (self._DISK,)

    def prepare(self, galaxy: Galaxy) -> Any:
        gas = np.abs(galaxy.Vgas) * galaxy.Vgas
        disk = galaxy.Vdisk**2
        bulge = galaxy.Vbul**2 if galaxy.has_bulge else None
        l_disk = luminosity(galaxy.R, galaxy.SBdisk) if galaxy.SBdisk is not None else math.nan
        if galaxy.has_bulge:
            l_bul = luminosity(galaxy.R, galaxy.SBbul) if galaxy.SBbul is not None else math.nan
        else:
            l_bul = 0.0
        return _SparcContext(gas=gas, disk=disk, bulge=bulge, l_disk=l_disk, l_bulge=l_bul)

    def baryons(self, ctx: Any, values: dict[str, np.ndarray], scale: np.ndarray | None) -> dict[str, np.ndarray]:
        w = values["Ups_disk"].size
        s = np.ones(w) if scale is None else scale
        out = {
            "gas": s[:, None] * ctx.gas,
            "disc": (values["Ups_disk"] * s)[:, None] * ctx.disk,
        }
        if ctx.bulge is not None:
            out["bulge"] = (values["Ups_bulge"] * s)[:, None] * ctx.bulge
        return out

    def v2_total(self, ctx: _Context, values: dict[str, np.ndarray], scale: np.ndarray | None) -> np.ndarray:
        # the hot path: one (W, n) array, updated in place
        c = ctx.model
        w = values["Ups_disk"].size
        out = np.empty((w, ctx.n))
        self.halo.v2(ctx.halo, values, scale, out)
        bar = values["Ups_disk"][:, None] * c.disk
        if c.bulge is not None:
            bar += values["Ups_bulge"][:, None] * c.bulge
        bar += c.gas
        if scale is not None:
            bar *= scale[:, None]
        out += bar
        return out

    def stellar_mass(self, ctx: Any, values: dict[str, np.ndarray], scale: np.ndarray | None) -> np.ndarray:
        m = values["Ups_disk"] * ctx.l_disk
        if ctx.bulge is not None:
            m = m + values["Ups_bulge"] * ctx.l_bulge
        if scale is not None:  # L ~ D^2 at fixed surface brightness
            m = m * scale**2
        return np.asarray(m, dtype=np.float64)


@dataclass(frozen=True)
class _SparcContext:
    gas: np.ndarray
    disk: np.ndarray
    bulge: np.ndarray | None
    l_disk: float
    l_bulge: float


#: Fit models by name.
MODELS: dict[str, type[FitModel]] = {"disc-nfw": DiscNFWModel, "sparc": SparcModel}


def resolve_model(spec: str | FitModel, *, H0: float = H0_DEFAULT, Delta: float = DELTA_DEFAULT, halo: str = "nfw") -> FitModel:
    """A model from its registry name (or a model, returned as is).

    Raises
    ------
    ConfigError
        Unknown name.
    """
    if isinstance(spec, FitModel):
        return spec
    if spec not in MODELS:
        raise ConfigError(f"unknown model {spec!r}; choose one of {', '.join(MODELS)}")
    return MODELS[spec](H0=H0, Delta=Delta, halo=halo)
