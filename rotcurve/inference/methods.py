"""The registry of posterior-sampling methods.

``mcmc``: :class:`rotcurve.inference.mcmc.EmceeMethod` (emcee from the MAP).
A surrogate-based method is one more entry: a subclass of
:class:`rotcurve.inference.sampling.Method` with its settings dataclass.
"""

from __future__ import annotations

from typing import Any

from rotcurve.errors import ConfigError
from rotcurve.inference.mcmc import EmceeMethod
from rotcurve.inference.sampling import Method

__all__ = ["METHODS", "resolve_method"]

#: Sampling methods by name.
METHODS: dict[str, type[Method]] = {"mcmc": EmceeMethod}


def resolve_method(spec: str | Method = "mcmc", settings: Any = None) -> Method:
    """A method from its name and settings (a dataclass or a dict), or a method as is.

    Raises
    ------
    ConfigError
        Unknown name or invalid settings.
    """
    if isinstance(spec, Method):
        if settings is not None:
            raise ConfigError("give settings either inside the method object or separately, not both")
        return spec
    if spec not in METHODS:
        raise ConfigError(f"unknown method {spec!r}; choose one of {', '.join(METHODS)}")
    return METHODS[spec](settings)
