"""The names and numbers of the rotcurve file format: version, datasets, units, storage.

The layout itself is described in :mod:`rotcurve.io.format` (the writers); the
readers (:mod:`rotcurve.io.read`) check files against these constants.  This
module imports only numpy, so both sides, and code that only needs a name, can
use it without pulling in h5py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.units import PARAM_NAMES, PARAM_UNITS, UNITS

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT_NAME",
    "CURVE_NAMES",
    "PARAM_NAMES",
    "DATASET_UNITS",
    "RESERVED_ATTRS",
    "STANDARD_ATTRS",
    "JSON_STANDARD",
    "DTYPES",
    "COMPRESSIONS",
    "CHUNK_BYTES",
    "PARAM_CHUNK_ROWS",
    "compression_options",
    "chunk_rows",
]

#: Version of the layout described in :mod:`rotcurve.io.format`.  Readers refuse files with a
#: larger number; bump it when a change would make old readers misread a file.
SCHEMA_VERSION: int = 1
#: Value of the root ``format`` attribute that marks a rotcurve file.
FORMAT_NAME: str = "rotcurve"
#: Curve datasets, total first.  The parameter datasets in ``/params`` are
#: :data:`~rotcurve.units.PARAM_NAMES`.
CURVE_NAMES: tuple[str, ...] = ("v_circ", "v_disc", "v_halo")
#: The ``units`` attribute of every dataset, by path.
DATASET_UNITS: dict[str, str] = {
    "radii": UNITS["radius"],
    "v_circ": UNITS["velocity"],
    "v_disc": UNITS["velocity"],
    "v_halo": UNITS["velocity"],
    **{f"params/{name}": unit for name, unit in PARAM_UNITS.items()},
}
#: Root attributes the writer sets itself; a caller cannot pass them.
RESERVED_ATTRS: tuple[str, ...] = (
    "format",
    "schema_version",
    "rotcurve_version",
    "n_curves",
    "n_radii",
    "G",
    "json_attrs",
    "shards",
    "curves_finite",
    "label_columns",
)
#: Standard root attributes a caller may pass (in this order in the file).
STANDARD_ATTRS: tuple[str, ...] = ("H0", "Delta", "seed", "prior", "radii_spec")
JSON_STANDARD: tuple[str, ...] = ("prior", "radii_spec")

#: Storage dtypes by name.
DTYPES: dict[str, type] = {"float32": np.float32, "float64": np.float64}

#: h5py filter settings by name.  ``"gzip:N"`` (N = 0..9) selects a gzip level.
COMPRESSIONS: dict[str, dict[str, Any]] = {
    "default": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
    "gzip": {"compression": "gzip", "compression_opts": 4, "shuffle": True},
    "lzf": {"compression": "lzf", "shuffle": True},
    "none": {},
}

#: Target size of one chunk of curves (bytes).  The reader enlarges the chunk
#: cache so that a chunk always fits.
CHUNK_BYTES: int = 1 << 20
#: Rows per chunk of the (N,) parameter datasets.
PARAM_CHUNK_ROWS: int = 1 << 16


def compression_options(compression: str) -> dict[str, Any]:
    """h5py dataset keyword arguments for a compression name.

    Parameters
    ----------
    compression : str
        ``"default"`` (gzip level 1 + shuffle), ``"gzip"`` (level 4 + shuffle),
        ``"gzip:N"`` (level N + shuffle), ``"lzf"`` (+ shuffle; readable only
        with h5py / PyTables) or ``"none"``.

    Returns
    -------
    dict
        ``compression``, ``compression_opts``, ``shuffle`` as h5py takes them.

    Raises
    ------
    ConfigError
        For an unknown name or level.
    """
    name = str(compression).strip().lower()
    if name in COMPRESSIONS:
        return dict(COMPRESSIONS[name])
    if name.startswith("gzip:"):
        level = name.split(":", 1)[1]
        if level.isdigit() and 0 <= int(level) <= 9:
            return {"compression": "gzip", "compression_opts": int(level), "shuffle": True}
    raise ConfigError(
        f"unknown compression {compression!r}; use one of {', '.join(COMPRESSIONS)} or gzip:0..9"
    )


def chunk_rows(n: int, n_radii: int, itemsize: int) -> int:
    """Rows per chunk for an ``(n, n_radii)`` curve dataset.

    At most :data:`CHUNK_BYTES` per chunk (at least one row), and balanced: the
    ``ceil(n / rows)`` chunks are as equal as possible, so the last one is not
    mostly empty padding.  Always whole rows (chunk shape ``(rows, n_radii)``).
    """
    target = max(1, CHUNK_BYTES // max(1, n_radii * itemsize))
    if n <= 0:
        return 1
    n_chunks = -(-n // target)
    return int(-(-n // n_chunks))
