"""Fixtures for the datasets tests: small rotcurve files and synthetic MNIST folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rotcurve.datasets.idx import write_idx
from rotcurve.io import write_dataset

#: The real MNIST test set shared next to the repository (t10k files only).
SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared/datasets/mnist"


def make_curves(n: int, n_r: int = 12, *, seed: int = 0, row_ids: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Positive rising curves (km/s), their radii (kpc) and parameters.

    With ``row_ids`` the first radius holds ``1 + row`` km/s, so a row can be
    recognised after normalisation and inversion.
    """
    rng = np.random.default_rng(seed)
    radii = np.geomspace(0.5, 40.0, n_r)
    amp = 10 ** rng.normal(2.0, 0.2, (n, 1))
    scale = rng.uniform(1.0, 6.0, (n, 1))
    v = (amp * (1.0 - np.exp(-radii / scale)) + 1.0).astype(np.float32)
    if row_ids:
        v[:, 0] = 1.0 + np.arange(n)
    params = {
        "Md": 10 ** rng.uniform(9, 11, n),
        "Rd": scale[:, 0],
        "Mh": 10 ** rng.uniform(11, 13, n),
        "c": rng.uniform(5, 15, n),
    }
    return radii, v, params


@pytest.fixture
def curve_file(tmp_path):
    """Factory: write a rotcurve file and return ``(path, radii, v, params)``."""

    def make(n: int = 400, n_r: int = 12, *, seed: int = 0, row_ids: bool = False, params: bool = True, name: str = "curves.h5"):
        radii, v, p = make_curves(n, n_r, seed=seed, row_ids=row_ids)
        path = tmp_path / name
        write_dataset(path, radii=radii, v_circ=v, params=p if params else None, attrs={"seed": seed})
        return path, radii, v, (p if params else None)

    return make


def synthetic_mnist(folder: Path, *, n_train: int | None = 60, n_test: int | None = 30, gz: bool = True, seed: int = 0) -> dict:
    """Write small MNIST-like IDX files; each image is filled with ``25 * label`` (+ noise in one pixel).

    Returns the uint8 arrays written, keyed like ``"train-images"``.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        if n is None:
            continue
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = np.repeat((25 * labels)[:, None, None], 28, axis=1).repeat(28, axis=2).astype(np.uint8)
        images[:, 0, 0] = rng.integers(0, 256, n)  # makes rows distinguishable
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        out[f"{prefix}-images"], out[f"{prefix}-labels"] = images, labels
    return out


@pytest.fixture
def mnist_factory():
    """The :func:`synthetic_mnist` writer."""
    return synthetic_mnist


@pytest.fixture
def shared_mnist() -> Path:
    """The real MNIST test set (t10k files), or skip."""
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("../shared/datasets/mnist not present (real MNIST test set)")
    return SHARED_MNIST
