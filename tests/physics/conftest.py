"""Fixtures for the physics tests (references from mpmath and a fixed prior sample)."""

from __future__ import annotations

from collections.abc import Callable

import mpmath as mp
import numpy as np
import pytest

#: Test points for the disc shape: log-spaced over 12 decades (20 a decade)
#: plus samples around the peak and the exact path's switch to the series.
Y_POINTS = np.unique(
    np.concatenate(
        [
            np.logspace(-6, 6, 241),
            np.linspace(0.5, 3.0, 11),
            # the exact path switches to the asymptotic series at y = 32
            # (few points: mpmath's besselk takes ~0.2 s each for 20 < y < 60)
            [30.5, 31.999999, 32.0, 32.000001, 33.5],
        ]
    )
)


def mp_disc_shape(y: float, dps: int = 40) -> float:
    """``y^2 [I0 K0 - I1 K1](y)`` with mpmath at ``dps`` digits."""
    with mp.workdps(dps):
        v = mp.mpf(float(y))
        return float(v * v * (mp.besseli(0, v) * mp.besselk(0, v) - mp.besseli(1, v) * mp.besselk(1, v)))


def mp_nfw_f(u: float, dps: int = 40) -> float:
    """``ln(1 + u) - u / (1 + u)`` with mpmath at ``dps`` digits."""
    with mp.workdps(dps):
        v = mp.mpf(float(u))
        return float(mp.log(1 + v) - v / (1 + v))


@pytest.fixture(scope="session")
def disc_reference() -> tuple[np.ndarray, np.ndarray]:
    """``(y, g(y))`` at :data:`Y_POINTS`, g from mpmath (40 digits)."""
    return Y_POINTS, np.array([mp_disc_shape(y) for y in Y_POINTS])


@pytest.fixture(scope="session")
def reference_params() -> dict[str, np.ndarray]:
    """A few hundred galaxies from the reference prior (inline, fixed seed)."""
    rng = np.random.default_rng(20240601)
    n = 300
    lmd = rng.uniform(9.0, 12.0, n)
    lrd = 0.3 * (lmd - 10.7) + 0.5 + rng.normal(0.0, 0.4, n)
    lmh = 0.75 * (lmd - 10.7) + 12.0 + rng.normal(0.0, 0.25, n)
    lc = 0.905 - 0.101 * (lmh + np.log10(0.7) - 12.0) + rng.normal(0.0, 0.11, n)
    return {"Md": 10**lmd, "Rd": 10**lrd, "Mh": 10**lmh, "c": 10**lc}


@pytest.fixture(scope="session")
def mp_nfw() -> Callable[[float], float]:
    """:func:`mp_nfw_f`, the mpmath NFW ``f(u)``."""
    return mp_nfw_f
