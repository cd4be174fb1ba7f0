"""What a posterior-sampling method is and what it returns.

Methods (the ``mcmc`` sampler of :mod:`rotcurve.inference.mcmc`, a surrogate
later) are registered in :data:`rotcurve.inference.methods.METHODS`.  A method
is built from a settings dataclass and turns a
:class:`~rotcurve.inference.posterior.Posterior` and a seed into a
:class:`Sampling`: independent-enough posterior samples with the diagnostics
that say how far to trust them.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rotcurve.serialization import from_dict, to_dict
from rotcurve.errors import ConfigError
from rotcurve.inference.posterior import Posterior

__all__ = ["Sampling", "Method"]


@dataclass(frozen=True)
class Sampling:
    """Posterior samples of one galaxy and their diagnostics.

    Attributes
    ----------
    theta : numpy.ndarray, shape (S, d)
        Samples of the sampled coordinates (burn-in removed, thinned).
    log_prob : numpy.ndarray, shape (S,)
        ``ln p(theta | data)`` of each sample (up to a constant).
    map_theta : numpy.ndarray, shape (d,)
        The MAP point (the optimiser's, or the best sample if it was higher).
    map_log_prob : float
    converged : bool
        The method's convergence test passed.
    tau : numpy.ndarray, shape (d,)
        Integrated autocorrelation time per coordinate [steps] (NaN if unknown).
    acceptance : float
        Mean acceptance fraction.
    n_steps : int
        Steps per walker (or iterations).
    n_walkers : int
    n_eff : float
        Effective number of independent samples (``n_walkers (n_steps - burn) / max tau``).
    note : str
        Why the run is not converged, or empty.
    """

    theta: np.ndarray
    log_prob: np.ndarray
    map_theta: np.ndarray
    map_log_prob: float
    converged: bool
    tau: np.ndarray
    acceptance: float
    n_steps: int
    n_walkers: int
    n_eff: float
    note: str = ""


class Method(abc.ABC):
    """A posterior-sampling method with its (strict, frozen dataclass) settings."""

    #: Registry name.
    name: ClassVar[str] = ""
    #: The settings dataclass.
    settings_class: ClassVar[type] = object

    def __init__(self, settings: Any = None) -> None:
        if settings is None:
            settings = self.settings_class()
        elif isinstance(settings, dict):
            settings = from_dict(self.settings_class, settings, where=self.name)
        elif not isinstance(settings, self.settings_class):
            raise ConfigError(
                f"settings of the {self.name} method must be a {self.settings_class.__name__} or a dict, "
                f"got {type(settings).__name__}"
            )
        self.settings = settings

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., **settings}`` (JSON-ready)."""
        return {"name": self.name, **to_dict(self.settings)}

    @abc.abstractmethod
    def run(self, post: Posterior, seed: np.random.SeedSequence) -> Sampling:
        """Sample the posterior; deterministic given ``seed``."""
