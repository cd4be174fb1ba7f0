"""Fixtures of the inference tests: the SPARC release, small mock galaxies, fast sampler settings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def _sparc_zip() -> Path:
    """$ROTCURVE_SPARC_ZIP, else the first shared/datasets/sparc/Rotmod_LTG.zip beside the repository or above it.

    ``../shared`` of a checkout; a git worktree under ``/work/wt/<name>`` finds ``/work/shared``.
    """
    env = os.environ.get("ROTCURVE_SPARC_ZIP")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    candidates = [up / "shared" / "datasets" / "sparc" / "Rotmod_LTG.zip" for up in repo.parents]
    return next((c for c in candidates if c.is_file()), candidates[0])


#: The real data: ../shared/datasets/sparc/Rotmod_LTG.zip next to the project
#: (Lelli, McGaugh & Schombert 2016, AJ 152, 157; CC-BY-4.0).  Never copied here.
SPARC_ZIP = _sparc_zip()

#: Sampler settings for plumbing tests: short, not meant to converge.
FAST = {"n_walkers": 16, "max_steps": 150, "check_every": 50, "min_steps": 50, "map_draws": 64, "map_starts": 2}


@pytest.fixture(scope="session")
def sparc_zip() -> Path:
    if not SPARC_ZIP.is_file():
        pytest.skip(f"SPARC data not found at {SPARC_ZIP} (../shared/datasets/sparc/Rotmod_LTG.zip or $ROTCURVE_SPARC_ZIP)")
    return SPARC_ZIP


@pytest.fixture(scope="session")
def sparc(sparc_zip):
    """name -> Galaxy of all 175 SPARC galaxies."""
    from rotcurve.inference import load_galaxies

    return {g.name: g for g in load_galaxies(sparc_zip)}


@pytest.fixture(scope="session")
def mocks():
    """Six reference-prior mock galaxies with known truth."""
    from rotcurve.inference.simulate import simulate_reference

    return simulate_reference(6, seed=11)


def rotmod_text(rows: list[list[float]], distance: float = 10.0) -> str:
    """A SPARC-format file body."""
    head = (f"# Distance = {distance} Mpc\n# Rad\tVobs\terrV\tVgas\tVdisk\tVbul\tSBdisk\tSBbul\n"
            "# kpc\tkm/s\tkm/s\tkm/s\tkm/s\tkm/s\tL/pc^2\tL/pc^2\n")
    return head + "".join("\t".join(f"{x:.3f}" for x in r) + "\n" for r in rows)


def toy_rows(n: int = 12, *, bulge: bool = False) -> list[list[float]]:
    """A plausible SPARC-like galaxy: rising curve, baryons at Upsilon = 1."""
    r = np.linspace(0.5, 12.0, n)
    vd = 80.0 * np.sqrt(r / 3.0) * np.exp(-r / 12.0)
    vb = 60.0 * np.exp(-r / 1.5) if bulge else np.zeros_like(r)
    vg = 20.0 * np.sqrt(r / 12.0)
    v = np.sqrt(0.5 * vd**2 + 0.7 * vb**2 + vg**2 + (110.0 * r / (r + 4.0)) ** 2)
    sb = 500.0 * np.exp(-r / 3.0)
    sbb = 2000.0 * np.exp(-r / 0.8) if bulge else np.zeros_like(r)
    return [[r[i], v[i], 4.0, vg[i], vd[i], vb[i], sb[i], sbb[i]] for i in range(n)]
