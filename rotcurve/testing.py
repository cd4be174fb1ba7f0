"""Helpers for tests, ours and users': small physical data sets, a quiet torch.

>>> from rotcurve.testing import write_curves
>>> v, params = write_curves("tiny.h5", 200, seed=1)        # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.generator import ReferencePrior
from rotcurve.io.format import write_dataset
from rotcurve.physics import rotation_curves

__all__ = ["write_curves", "torch_threads"]


def write_curves(
    path: str | Path,
    n: int = 500,
    *,
    seed: int = 0,
    radii: np.ndarray | None = None,
    params: bool = True,
    attrs: dict[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Write ``n`` disc + NFW curves drawn from the reference prior to a rotcurve file.

    Parameters
    ----------
    path : str or Path
        Output file (overwritten).
    n : int
        Number of curves.
    seed : int, keyword-only
        Seed of the parameter draws (``numpy.random.default_rng(seed)``); recorded in the file.
    radii : (n_r,) array, keyword-only
        Radii in kpc; default 24 log-spaced radii from 0.1 to 50 kpc.
    params : bool, keyword-only
        Store the true parameters (``False`` makes a file without ``/params``).
    attrs : dict, keyword-only
        Extra root attributes.

    Returns
    -------
    v_circ : (n, n_r) float64 ndarray
        The curves in km/s.
    params : dict of (n,) float64 ndarrays
        ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun], ``c``.
    """
    r = np.geomspace(0.1, 50.0, 24) if radii is None else np.asarray(radii, dtype=float)
    p = ReferencePrior().sample(n, np.random.default_rng(seed))
    v = rotation_curves(p, r).v_circ
    write_dataset(
        path,
        radii=r,
        v_circ=v,
        params=p if params else None,
        attrs={"seed": seed, **(attrs or {})},
        overwrite=True,
    )
    return v, p


@contextlib.contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run a block with ``n`` torch intra-op threads, then restore the old count.

    Small models gain nothing from threads, and oversubscribed threads on a
    busy machine can make them ten times slower.
    """
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
