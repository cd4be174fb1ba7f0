"""Read long tables of rotation curves: one row per point, a ``name`` column per galaxy.

Columns (case-insensitive; SPARC's ``Rad``, ``Vobs``, ``errV`` are accepted too):

=========================  ==========  ========================================
column                     unit        meaning
=========================  ==========  ========================================
``name``                   --          galaxy name (rows of a galaxy need not be adjacent)
``R``                      kpc         radius
``V``, ``eV``              km/s        observed velocity and its 1-sigma error
``Vgas, Vdisk, Vbul``      km/s        optional: baryons at mass-to-light ratio 1
``SBdisk, SBbul``          Lsun/pc^2   optional: surface brightness
``D``, ``eD``              Mpc         optional: distance and error (one value per galaxy)
``inc``, ``e_inc``         deg         optional: inclination and error (one value per galaxy)
=========================  ==========  ========================================

Sources: CSV (pandas), ECSV (astropy; columns with units are converted),
HDF5 (an astropy table written with ``Table.write(..., format="hdf5")``), or an
astropy ``Table`` / ``QTable`` / pandas ``DataFrame`` in memory.  Rows are
labelled ``row i`` (0-based table row) or, for CSV files, ``line k`` of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.errors import DataError
from rotcurve.inference.galaxy import BadInput, Galaxy

__all__ = ["TABLE_SUFFIXES", "read_table", "galaxies_from_table"]

#: File endings read as long tables.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".ecsv", ".h5", ".hdf5", ".hdf")

_ALIASES = {
    "name": "name", "galaxy": "name",
    "r": "R", "rad": "R",
    "v": "V", "vobs": "V",
    "ev": "eV", "errv": "eV", "e_v": "eV",
    "vgas": "Vgas", "vdisk": "Vdisk", "vbul": "Vbul",
    "sbdisk": "SBdisk", "sbbul": "SBbul",
    "d": "D", "distance": "D", "ed": "eD", "e_d": "eD",
    "inc": "inc", "inclination": "inc", "e_inc": "e_inc", "einc": "e_inc",
}
_POINT = ("R", "V", "eV", "Vgas", "Vdisk", "Vbul", "SBdisk", "SBbul")
_UNITS = {"R": "kpc", "V": "km/s", "eV": "km/s", "Vgas": "km/s", "Vdisk": "km/s", "Vbul": "km/s",
          "SBdisk": "solLum / pc2", "SBbul": "solLum / pc2", "D": "Mpc", "eD": "Mpc", "inc": "deg", "e_inc": "deg"}
_GALAXY_FIELDS = {"D": "distance", "eD": "e_distance", "inc": "inclination", "e_inc": "e_inclination"}


def _column_map(names: Sequence[str], source: str) -> dict[str, str]:
    """``canonical -> actual`` column names; DataError on missing or doubled columns."""
    found: dict[str, str] = {}
    for actual in names:
        canon = _ALIASES.get(str(actual).strip().lower())
        if canon is None:
            continue
        if canon in found:
            raise DataError(f"{source}: columns {found[canon]!r} and {actual!r} both mean {canon}; keep one")
        found[canon] = actual
    missing = [c for c in ("name", "R", "V", "eV") if c not in found]
    if missing:
        raise DataError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; a long table "
            "needs name, R [kpc], V and eV [km/s] (optional Vgas, Vdisk, Vbul, D, inc)"
        )
    return found


def _values(col: Any, canon: str, source: str) -> np.ndarray:
    """A column as float64 in rotcurve units (astropy units converted)."""
    unit = getattr(col, "unit", None)
    if unit is not None and str(unit) not in ("", "None"):
        import astropy.units as u

        try:
            data = u.Quantity(col).to_value(u.Unit(_UNITS[canon]))
        except u.UnitConversionError:
            raise DataError(f"{source}: column {canon} has unit {unit}, not convertible to {_UNITS[canon]}") from None
    else:
        data = col
    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    if np.ma.isMaskedArray(data):
        data = np.ma.filled(np.ma.asarray(data, dtype=np.float64), np.nan)
    try:
        return np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{source}: column {canon} must hold numbers") from None


def galaxies_from_table(table: Any, *, source: str = "table", line_offset: int | None = None) -> list[Galaxy | BadInput]:
    """Split a long table into galaxies (in order of first appearance).

    Parameters
    ----------
    table : astropy.table.Table or pandas.DataFrame
        One row per point (see the module docstring for the columns).
    source : str, keyword-only
        Name of the table for messages.
    line_offset : int, keyword-only
        If given, rows are labelled ``line (i + line_offset)`` (CSV files:
        2 for one header line); otherwise ``row i``.

    Returns
    -------
    list of Galaxy or BadInput
        Galaxies are not yet validated; a galaxy whose per-galaxy columns
        (``D``, ``inc``, ...) differ between its rows is a :class:`BadInput`.

    Raises
    ------
    DataError
        The table is empty or lacks a required column.
    """
    names = list(table.columns) if hasattr(table, "columns") else list(table.colnames)
    cols = _column_map([str(n) for n in names], source)
    n_rows = len(table)
    if n_rows == 0:
        raise DataError(f"{source}: the table has no rows")
    raw_names = table[cols["name"]]
    if hasattr(raw_names, "to_numpy"):
        raw_names = raw_names.to_numpy()
    gal_names = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in np.asarray(raw_names)], dtype=object)
    data = {c: _values(table[a], c, source) for c, a in cols.items() if c != "name"}
    order: dict[str, list[int]] = {}
    for i, nm in enumerate(gal_names):
        order.setdefault(nm.strip(), []).append(i)
    out: list[Galaxy | BadInput] = []
    for nm, idx_list in order.items():
        idx = np.asarray(idx_list)
        rows = tuple(f"line {i + line_offset}" if line_offset is not None else f"row {i}" for i in idx)
        kwargs: dict[str, Any] = {c: data[c][idx] for c in _POINT if c in data}
        try:
            if not nm:
                raise DataError(f"{source}, {rows[0]}: empty galaxy name")
            for c, fieldname in _GALAXY_FIELDS.items():
                if c not in data:
                    continue
                vals = data[c][idx]
                finite = vals[np.isfinite(vals)]
                if finite.size and not np.all(finite == finite[0]):
                    j = int(np.argmax(vals != finite[0]))
                    raise DataError(
                        f"{source}: galaxy {nm}, {rows[j]}: {c} = {vals[j]:g} differs from {finite[0]:g} "
                        "in an earlier row; one value per galaxy"
                    )
                kwargs[fieldname] = float(finite[0]) if finite.size else None
            out.append(Galaxy(nm, source=source, rows=rows, **kwargs))
        except DataError as exc:
            out.append(BadInput(nm or f"<unnamed at {rows[0]}>", str(exc)))
    return out


def read_table(path: str | Path) -> list[Galaxy | BadInput]:
    """Read a long table file (CSV, ECSV or HDF5) into galaxies.

    Raises
    ------
    DataError
        Unreadable file, unknown ending, missing columns, no rows.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    source = str(path)
    try:
        if suffix == ".csv":
            from rotcurve.io.csv_table import read_csv

            df = read_csv(path, source=source)
            # a CSV's first non-comment line is the header; data rows follow it
            header_line = 1 + _leading_comment_lines(path)
            return galaxies_from_table(df, source=source, line_offset=header_line + 1)
        if suffix in (".ecsv", ".h5", ".hdf5", ".hdf"):
            from astropy.table import Table

            fmt = "ascii.ecsv" if suffix == ".ecsv" else "hdf5"
            table = Table.read(path, format=fmt)
            return galaxies_from_table(table, source=source)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{source}: no such file") from None
    except Exception as exc:  # parsers raise many types; say which file and why
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{source}: cannot read the table ({reason})") from None
    raise DataError(f"{source}: unknown table format {suffix!r}; use {', '.join(TABLE_SUFFIXES)}")


def _leading_comment_lines(path: Path) -> int:
    n = 0
    with path.open("r", errors="replace") as fh:
        for line in fh:
            if line.lstrip().startswith("#") or not line.strip():
                n += 1
            else:
                break
    return n
