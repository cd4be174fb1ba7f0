"""The version of rotcurve, and the versions recorded next to every output."""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable

__version__ = "0.1.0"

__all__ = ["__version__", "versions"]


def versions(libraries: Iterable[str] = (), *, python: bool = False, suffix: str = "") -> dict[str, str]:
    """rotcurve's version and those of the installed ``libraries``, for provenance records.

    Parameters
    ----------
    libraries : iterable of str
        Distribution names (``"torch"``, ``"scikit-learn"``); the version is
        the installed distribution's (``importlib.metadata``), ``"not
        installed"`` for one that is missing.
    python : bool, keyword-only
        Start with ``"python"``: the interpreter's version.
    suffix : str, keyword-only
        Appended to every key but ``"python"`` (``"_version"`` gives the
        ``rotcurve_version``, ``torch_version``, ... attributes of the files
        a run writes).

    Returns
    -------
    dict
        ``{"python": ..., "rotcurve" + suffix: __version__, name + suffix: version, ...}`` in that order.
    """
    out = {"python": platform.python_version()} if python else {}
    out["rotcurve" + suffix] = __version__
    for name in libraries:
        try:
            out[name + suffix] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name + suffix] = "not installed"
    return out
