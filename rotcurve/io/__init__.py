"""The rotcurve file format: atomic writes, the HDF5 schema, writers and readers.

Public API::

    from rotcurve.io import open_dataset, read_dataset, write_dataset, SCHEMA_VERSION

    with open_dataset("curves.h5") as ds:     # validates; DataError on bad files
        ds.radii, ds.n, ds.v_circ[:100], ds.params, ds.attrs
    data = read_dataset("curves.h5", components=True)
    write_dataset("out.h5", radii=r, v_circ=v, params=p, attrs={"seed": 1})

For writing in blocks use :class:`CurveWriter`; for multi-shard outputs
:func:`write_virtual`.  The layout is documented in :mod:`rotcurve.io.format`, its names and
numbers are in :mod:`rotcurve.io.schema`.

Every writer creates missing parent folders, holds ``PATH.lock`` while it
writes (:func:`output_lock`: a second run writing the same path fails at
once), refuses curves that are not finite in the storage dtype
(:class:`NonFiniteError`), and on a full disk raises
:class:`~rotcurve.errors.DiskFullError` leaving nothing behind (HDF5 files go
through :func:`atomic_h5` / :mod:`rotcurve.io.h5write`, which keeps HDF5 from
ever seeing a failed write -- the cause of the old segmentation faults).

Names are loaded on first use (PEP 562) so that ``rotcurve.io.atomic``, which
:mod:`rotcurve.serialization` needs, does not pull in h5py.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    # schema (names and numbers) and format (writers)
    "SCHEMA_VERSION",
    "FORMAT_NAME",
    "CURVE_NAMES",
    "PARAM_NAMES",
    "DATASET_UNITS",
    "UNITS",
    "COMPRESSIONS",
    "compression_options",
    "CurveWriter",
    "NonFiniteError",
    "write_dataset",
    "write_virtual",
    # read
    "Dataset",
    "CurveData",
    "open_dataset",
    "read_dataset",
    # atomic
    "atomic_path",
    "atomic_write_text",
    "atomic_write_bytes",
    # robust HDF5 writing, one writer per output
    "atomic_h5",
    "output_lock",
]

_WHERE = {
    "SCHEMA_VERSION": "rotcurve.io.schema",
    "FORMAT_NAME": "rotcurve.io.schema",
    "CURVE_NAMES": "rotcurve.io.schema",
    "PARAM_NAMES": "rotcurve.io.schema",
    "DATASET_UNITS": "rotcurve.io.schema",
    "COMPRESSIONS": "rotcurve.io.schema",
    "compression_options": "rotcurve.io.schema",
    "CurveWriter": "rotcurve.io.format",
    "write_dataset": "rotcurve.io.format",
    "write_virtual": "rotcurve.io.format",
    "NonFiniteError": "rotcurve.io.format",
    "atomic_h5": "rotcurve.io.h5write",
    "output_lock": "rotcurve.io.lock",
    "UNITS": "rotcurve.units",
    "Dataset": "rotcurve.io.read",
    "CurveData": "rotcurve.io.read",
    "open_dataset": "rotcurve.io.read",
    "read_dataset": "rotcurve.io.read",
    "atomic_path": "rotcurve.io.atomic",
    "atomic_write_text": "rotcurve.io.atomic",
    "atomic_write_bytes": "rotcurve.io.atomic",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rotcurve.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
