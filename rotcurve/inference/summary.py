"""The catalogue summary: one row per galaxy, as an astropy Table with units.

Columns, in order: ``name``, ``status`` (ok | not_converged | failed),
``reason``, ``model``, ``prior``, ``n_points``, ``n_params``, ``chi2`` and
``chi2_red`` (at the MAP), ``converged``, ``tau`` (largest autocorrelation
time [steps]), ``acceptance``, ``n_steps``, ``n_eff``, ``time_s``; then for
every fitted parameter (in order of first appearance: the model's, then the
nuisance parameters) and every derived quantity (``V200``, ``R200``, ``C200``,
``M200``, ``Mstar``) the columns ``<name>_p16``, ``<name>_p50``,
``<name>_p84`` and ``<name>_map``, in physical units (not log10).  A value a
galaxy does not have (a failed galaxy, ``Ups_bulge`` without a bulge) is NaN.

Written as ``summary.csv`` (plain; the units are those of ``summary.ecsv``) and
``summary.ecsv`` (astropy, units attached), both atomically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.inference.parameters import DERIVED
from rotcurve.io.atomic import atomic_path

__all__ = ["FIXED_COLUMNS", "QUANTITY_UNITS", "summary_table", "write_summary"]

#: The identification and diagnostic columns, in order, with their units.
FIXED_COLUMNS: dict[str, str | None] = {
    "name": None,
    "status": None,
    "reason": None,
    "model": None,
    "prior": None,
    "n_points": None,
    "n_params": None,
    "chi2": "",
    "chi2_red": "",
    "converged": None,
    "tau": None,
    "acceptance": "",
    "n_steps": None,
    "n_eff": "",
    "time_s": "s",
}

#: Units of every quantity that has summary columns.
QUANTITY_UNITS: dict[str, str] = {
    "Md": "Msun",
    "Rd": "kpc",
    "Mh": "Msun",
    "c": "",
    "Ups_disk": "Msun / Lsun",
    "Ups_bulge": "Msun / Lsun",
    "D": "Mpc",
    "inc": "deg",
    **{p.name: p.unit for p in DERIVED},
}

_SUFFIXES = ("p16", "p50", "p84", "map")
_INT = {"n_points", "n_params", "n_steps"}
_BOOL = {"converged"}
_STR = {"name", "status", "reason", "model", "prior"}


def _quantities(rows: Sequence[dict[str, Any]]) -> list[str]:
    derived = [p.name for p in DERIVED]
    seen: list[str] = []
    for row in rows:
        for key in row:
            if key.endswith("_p50"):
                q = key[: -len("_p50")]
                if q not in seen and q not in derived:
                    seen.append(q)
    return seen + derived


def summary_table(rows: Sequence[dict[str, Any]]) -> Any:
    """An astropy Table (with units) from summary rows (:meth:`GalaxyFit.summary_row`)."""
    import astropy.units as u
    from astropy.table import Table

    table = Table()
    for col, unit in FIXED_COLUMNS.items():
        values = [row.get(col) for row in rows]
        if col in _STR:
            table[col] = np.array(["" if v is None else str(v) for v in values], dtype=str)
        elif col in _BOOL:
            table[col] = np.array([bool(v) for v in values], dtype=bool)
        elif col in _INT:
            table[col] = np.array([int(v) if v is not None else 0 for v in values], dtype=np.int64)
        else:
            table[col] = np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
        if unit:
            table[col].unit = u.Unit(unit)
    for q in _quantities(rows):
        unit = QUANTITY_UNITS.get(q, "")
        for suffix in _SUFFIXES:
            col = f"{q}_{suffix}"
            table[col] = np.array([float(row.get(col, math.nan)) for row in rows], dtype=np.float64)
            if unit:
                table[col].unit = u.Unit(unit)
    table.meta["description"] = "rotcurve fit summary: one row per galaxy"
    return table


def write_summary(table: Any, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``summary.csv`` and ``summary.ecsv`` into ``out_dir`` atomically; returns both paths."""
    out_dir = Path(out_dir)
    csv_path, ecsv_path = out_dir / "summary.csv", out_dir / "summary.ecsv"
    with atomic_path(csv_path) as tmp:
        table.write(tmp, format="ascii.csv", overwrite=True)
    with atomic_path(ecsv_path) as tmp:
        table.write(tmp, format="ascii.ecsv", overwrite=True)
    return csv_path, ecsv_path
