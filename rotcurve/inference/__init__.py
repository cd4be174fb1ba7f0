"""Bayesian fits of observed rotation curves: one galaxy or a whole catalogue.

>>> from rotcurve.inference import fit_galaxy, fit_catalogue          # doctest: +SKIP
>>> fit = fit_galaxy("NGC3198_rotmod.dat", H0=73.0)                   # doctest: +SKIP
>>> fit.summary_row()["V200_p50"]                                     # doctest: +SKIP
>>> res = fit_catalogue("Rotmod_LTG.zip", "out/", H0=73.0, workers=2) # doctest: +SKIP

Data: SPARC mass models (Lelli, McGaugh & Schombert 2016, AJ 152, 157;
CC-BY-4.0), long tables, arrays or astropy Quantities
(:mod:`~rotcurve.inference.sources`).  Models (:data:`MODELS`): ``disc-nfw``
(the generator's model) and ``sparc`` (observed baryons + NFW halo).  Priors
(:data:`FIT_PRIORS`): ``flat``, ``lcdm``, ``reference``, or TOML files
(``data/fit_priors/``).  Method (:data:`METHODS`): ``mcmc``, emcee from the
MAP to an autocorrelation-time criterion.  Outputs: ``summary.csv`` /
``summary.ecsv``, ``posteriors.h5`` (:mod:`~rotcurve.inference.schema`),
figures and an HTML report.  See ``docs/fitting.md``.

Modules (one concept each): ``galaxy`` (the data), ``sparc`` and ``tables``
(readers), ``sources`` (any input), ``parameters``, ``halos`` (halo
components), ``models``, ``reference`` (the reference prior's density),
``priors``, ``posterior`` (vectorised log posterior), ``optimize`` (MAP),
``autocorr``, ``sampling`` (method base), ``mcmc`` (emcee), ``methods``
(registry), ``result``, ``fit`` (one galaxy), ``schema`` (posteriors.h5),
``summary``, ``figures``, ``report``, ``catalogue``, ``simulate`` (mock
catalogues for validation).
"""

from rotcurve.inference.catalogue import CatalogueResult, fit_catalogue, load_fit
from rotcurve.inference.fit import FitSetup, fit_galaxy, galaxy_seed
from rotcurve.inference.galaxy import BadInput, Galaxy
from rotcurve.inference.halos import HALOS
from rotcurve.inference.mcmc import MCMCSettings
from rotcurve.inference.methods import METHODS
from rotcurve.inference.models import MODELS
from rotcurve.inference.posterior import Posterior
from rotcurve.inference.priors import FIT_PRIORS, load_fit_prior, resolve_fit_prior
from rotcurve.inference.result import GalaxyFit
from rotcurve.inference.schema import SCHEMA_VERSION, Posteriors
from rotcurve.inference.sources import load_galaxies

__all__ = [
    "fit_galaxy",
    "fit_catalogue",
    "load_fit",
    "load_galaxies",
    "Galaxy",
    "BadInput",
    "GalaxyFit",
    "CatalogueResult",
    "FitSetup",
    "Posterior",
    "Posteriors",
    "MCMCSettings",
    "MODELS",
    "HALOS",
    "FIT_PRIORS",
    "METHODS",
    "SCHEMA_VERSION",
    "galaxy_seed",
    "load_fit_prior",
    "resolve_fit_prior",
]
