"""Training data: rotation curves from rotcurve files, and MNIST.

Public API::

    from rotcurve.datasets import load_training_data
    data = load_training_data("curves.h5", seed=0, device="cuda")   # or "mnist:DIR"
    data.train, data.val, data.test      # float32 (n, D) tensors on the device (or streams)
    data.normaliser.inverse(x)           # back to km/s
    for x in data.batches("train", 512, epoch=e): ...

* :mod:`~rotcurve.datasets.splits` -- deterministic train/val/test splits;
* :mod:`~rotcurve.datasets.normaliser` -- log10 + per-radius standardisation;
* :mod:`~rotcurve.datasets.streaming` -- curve sets larger than memory;
* :mod:`~rotcurve.datasets.free_memory` -- free memory of host and GPU;
* :mod:`~rotcurve.datasets.idx`, :mod:`~rotcurve.datasets.mnist` -- MNIST files;
* :mod:`~rotcurve.datasets.kinds` -- the data kinds (curves, MNIST), :func:`data_fingerprint`;
* :mod:`~rotcurve.datasets.loading` -- :func:`load_training_data`.

Names are loaded on first use, so importing the package does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "load_training_data",
    "TrainingData",
    "batches",
    "resolve_device",
    "data_fingerprint",
    "CurveNormaliser",
    "IdentityNormaliser",
    "normaliser_from_state",
    "Split",
    "SPLITS",
    "split_indices",
    "StreamingSplit",
    "load_mnist",
    "download_mnist",
    "find_mnist_files",
    "verify_mnist_file",
    "write_idx",
    "read_idx",
]

_WHERE = {
    "load_training_data": "rotcurve.datasets.loading",
    "TrainingData": "rotcurve.datasets.loading",
    "batches": "rotcurve.datasets.loading",
    "resolve_device": "rotcurve.devices",
    "data_fingerprint": "rotcurve.datasets.kinds",
    "CurveNormaliser": "rotcurve.datasets.normaliser",
    "IdentityNormaliser": "rotcurve.datasets.normaliser",
    "normaliser_from_state": "rotcurve.datasets.normaliser",
    "Split": "rotcurve.datasets.splits",
    "SPLITS": "rotcurve.datasets.splits",
    "split_indices": "rotcurve.datasets.splits",
    "StreamingSplit": "rotcurve.datasets.streaming",
    "load_mnist": "rotcurve.datasets.mnist",
    "download_mnist": "rotcurve.datasets.mnist",
    "find_mnist_files": "rotcurve.datasets.mnist",
    "verify_mnist_file": "rotcurve.datasets.mnist",
    "write_idx": "rotcurve.datasets.idx",
    "read_idx": "rotcurve.datasets.idx",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rotcurve.datasets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
