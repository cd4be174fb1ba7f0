"""Fit one galaxy: :func:`fit_galaxy`, and the resolved settings :class:`FitSetup`.

Reproducibility: every galaxy gets its own seed sequence,
``SeedSequence(seed, spawn_key=(key(name),))`` with ``key`` the first 8 bytes
of the SHA-256 of its name, so a galaxy's result depends on the seed and its
name only: not on its position in a catalogue, the number of workers, or
whether it was refitted after ``--resume``.
"""

from __future__ import annotations

import hashlib
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from rotcurve.errors import ConfigError, DataError, RotcurveError
from rotcurve.inference.galaxy import BadInput, Galaxy
from rotcurve.inference.methods import resolve_method
from rotcurve.inference.models import FitModel, resolve_model
from rotcurve.inference.posterior import Posterior
from rotcurve.inference.priors import FitPrior, fit_prior_from_dict, resolve_fit_prior
from rotcurve.inference.result import GalaxyFit
from rotcurve.inference.sampling import Method
from rotcurve.inference.sources import load_galaxies
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT

__all__ = ["FitSetup", "fit_galaxy", "galaxy_seed", "seed_key", "choose_model"]


def seed_key(name: str) -> int:
    """The spawn key of a galaxy: the first 8 bytes of SHA-256(name), little-endian."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def galaxy_seed(seed: int, name: str) -> np.random.SeedSequence:
    """The seed sequence of galaxy ``name`` under the run seed ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    return np.random.SeedSequence(int(seed), spawn_key=(seed_key(name),))


def choose_model(galaxies: list[Galaxy | BadInput]) -> str:
    """``"sparc"`` when every readable galaxy with data has observed baryons (Vgas, Vdisk), else ``"disc-nfw"``."""
    readable = [g for g in galaxies if isinstance(g, Galaxy) and g.n > 0]
    return "sparc" if readable and all(g.has_baryons for g in readable) else "disc-nfw"


@dataclass(frozen=True)
class FitSetup:
    """Resolved settings of a fit: model, prior, method, cosmology, seed.

    Build with :meth:`FitSetup.create`; :meth:`to_dict` is saved with every
    output (and compared on ``--resume``); :meth:`from_dict` rebuilds it (in
    worker processes).
    """

    model: FitModel
    prior: FitPrior
    method: Method
    seed: int

    @classmethod
    def create(
        cls,
        *,
        model: str | FitModel = "sparc",
        prior: Any = None,
        method: str | Method = "mcmc",
        settings: Any = None,
        H0: float = H0_DEFAULT,
        Delta: float = DELTA_DEFAULT,
        halo: str = "nfw",
        seed: int = 0,
    ) -> FitSetup:
        """Resolve names, files and dicts into objects (ConfigError on anything invalid)."""
        galaxy_seed(seed, "check")
        m = resolve_model(model, H0=H0, Delta=Delta, halo=halo)
        p = resolve_fit_prior(prior, model=m)
        meth = resolve_method(method, settings)
        return cls(model=m, prior=p, method=meth, seed=int(seed))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return {
            "model": self.model.name,
            "halo": self.model.halo_kind,
            "H0": self.model.H0,
            "Delta": self.model.Delta,
            "prior": self.prior.to_dict(),
            "method": self.method.to_dict(),
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitSetup:
        """Inverse of :meth:`to_dict`."""
        method = dict(data["method"])
        name = method.pop("name")
        model = resolve_model(data["model"], H0=data["H0"], Delta=data["Delta"], halo=data.get("halo", "nfw"))
        return cls(
            model=model,
            prior=fit_prior_from_dict(data["prior"]),
            method=resolve_method(name, method),
            seed=int(data["seed"]),
        )


def _failed(name: str, reason: str, setup: FitSetup | None, galaxy: Galaxy | None, t0: float) -> GalaxyFit:
    return GalaxyFit(
        name=name,
        status="failed",
        reason=reason,
        model=setup.model.name if setup else "",
        prior=setup.prior.kind if setup else "",
        method=setup.method.name if setup else "",
        n_points=galaxy.n if galaxy is not None else 0,
        time_s=time.perf_counter() - t0,
        seed_key=seed_key(name),
        galaxy=galaxy,
    )


def run_fit(galaxy: Galaxy | BadInput, setup: FitSetup, *, catch: bool = True) -> GalaxyFit:
    """Fit one galaxy with resolved settings.

    With ``catch`` (catalogues) every error becomes a failed :class:`GalaxyFit`
    with a one-line reason; without it :class:`RotcurveError` propagates.
    """
    t0 = time.perf_counter()
    if isinstance(galaxy, BadInput):
        if not catch:
            raise DataError(galaxy.reason)
        return _failed(galaxy.name, galaxy.reason, setup, None, t0)
    try:
        post = Posterior(galaxy, setup.model, setup.prior)
        sampling = setup.method.run(post, galaxy_seed(setup.seed, galaxy.name))
    except RotcurveError as exc:
        if not catch:
            raise
        return _failed(galaxy.name, str(exc), setup, galaxy, t0)
    except Exception as exc:  # a bug or a numerical breakdown: listed, never dropped
        if not catch:
            raise
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"internal error {type(exc).__name__}: {exc} (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
        return _failed(galaxy.name, reason, setup, galaxy, t0)
    params = post.parameters
    samples = np.column_stack([p.value(sampling.theta[:, i]) for i, p in enumerate(params)])
    der = post.derived(sampling.theta)
    from rotcurve.inference.parameters import DERIVED

    derived = np.column_stack([der[p.name] for p in DERIVED])
    map_theta = sampling.map_theta[None, :]
    map_der = post.derived(map_theta)
    chi2 = float(post.chi2(map_theta)[0])
    status = "ok" if sampling.converged else "not_converged"
    return GalaxyFit(
        name=galaxy.name,
        status=status,
        reason=sampling.note,
        model=setup.model.name,
        prior=setup.prior.kind,
        method=setup.method.name,
        parameters=params,
        samples=samples,
        derived=derived,
        log_prob=sampling.log_prob,
        map=np.array([p.value(sampling.map_theta[i]) for i, p in enumerate(params)], dtype=np.float64),
        map_derived=np.array([float(map_der[p.name][0]) for p in DERIVED]),
        map_log_prob=sampling.map_log_prob,
        chi2=chi2,
        n_points=galaxy.n,
        tau=sampling.tau,
        acceptance=sampling.acceptance,
        converged=sampling.converged,
        n_steps=sampling.n_steps,
        n_walkers=sampling.n_walkers,
        n_eff=sampling.n_eff,
        time_s=time.perf_counter() - t0,
        seed_key=seed_key(galaxy.name),
        galaxy=galaxy,
    )


def fit_galaxy(
    galaxy: Any,
    *,
    model: str | FitModel = "auto",
    prior: Any = None,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    method: str | Method = "mcmc",
    settings: Any = None,
    seed: int = 0,
    name: str | None = None,
) -> GalaxyFit:
    """Sample the posterior of one galaxy's disc and halo parameters.

    Parameters
    ----------
    galaxy : Galaxy, dict of columns, or path
        The data: a :class:`~rotcurve.inference.galaxy.Galaxy`, a dict such as
        ``{"R": R, "V": V, "eV": eV}`` (arrays in kpc, km/s, or astropy
        Quantities), a SPARC ``_rotmod.dat`` file (Lelli, McGaugh & Schombert
        2016, AJ 152, 157), or a table holding one galaxy.
    model : {"auto", "sparc", "disc-nfw"} or FitModel, keyword-only
        ``"auto"``: ``sparc`` when the data have Vgas and Vdisk, else ``disc-nfw``.
    prior : str, path, dict or FitPrior, keyword-only
        ``"flat"``, ``"lcdm"``, ``"reference"`` (disc-nfw), a TOML file, a dict;
        default the model's own (sparc: flat, disc-nfw: reference).
    H0, Delta : float, keyword-only
        Hubble constant [km/s/Mpc] and overdensity of the halo mass ``Mh``.
    method : str or Method, keyword-only
        Sampling method (``"mcmc"``).
    settings : dict or MCMCSettings, keyword-only
        Method settings (e.g. ``{"n_walkers": 64, "max_steps": 5000}``).
    seed : int, keyword-only
        Run seed; the galaxy's stream derives from it and its name.
    name : str, keyword-only
        Name of a galaxy given as a dict without one.

    Returns
    -------
    GalaxyFit
        Samples, MAP, percentiles (:meth:`~GalaxyFit.summary_row`), reduced
        chi^2, tau, acceptance; ``status`` ``"not_converged"`` (with a reason)
        if the chain did not converge within ``max_steps``.

    Raises
    ------
    DataError
        Bad data (one line naming the galaxy and the row), or a source that
        holds more than one galaxy.
    ConfigError
        Invalid model, prior or settings.
    """
    items = load_galaxies(galaxy, name=name)
    if len(items) != 1:
        raise DataError(f"fit_galaxy fits one galaxy, the input holds {len(items)}; use fit_catalogue")
    item = items[0]
    if isinstance(item, BadInput):
        raise DataError(item.reason)
    if model == "auto":
        model = choose_model(items)
    setup = FitSetup.create(model=model, prior=prior, method=method, settings=settings, H0=H0, Delta=Delta, seed=seed)
    return run_fit(item, setup, catch=False)
