"""Rotation curves for given parameter sets: tables in, curves (or a rotcurve file) out.

What ``rotcurve evaluate`` does, for scripts::

    >>> from rotcurve.generator import evaluate, evaluate_table
    >>> curves = evaluate({"Md": [5e10], "Rd": [3.0], "Mh": [1e12], "c": [10.0]}, [1.0, 10.0])
    >>> curves.v_circ.shape
    (1, 2)
    >>> evaluate_table("galaxies.csv", "curves.h5")        # doctest: +SKIP
    PosixPath('curves.h5')

A parameter table has the columns ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun]
and ``c``, one galaxy per row; the identifier columns ``name`` and ``id`` are
kept as strings and other columns are ignored.  It may be

* a CSV file with a header row;
* an HDF5 file: a rotcurve file (its ``/params``, identifiers included, and
  its ``/radii``), or any HDF5 file with 1-D datasets ``Md``, ``Rd``, ``Mh``,
  ``c`` (and string datasets ``name``/``id``) at the root or in a ``/params``
  group, and optionally a ``/radii`` dataset (kpc);
* in memory: a pandas DataFrame, an astropy Table (columns with units are
  converted), a mapping of columns (astropy Quantities of any compatible unit
  are converted) or a numpy structured array.

Every cell is checked before anything is computed: a missing, non-numeric,
non-finite or non-positive value is a :class:`~rotcurve.errors.DataError`
naming the column and the (1-based) data row.  Curves are computed in blocks
of :data:`BLOCK_ROWS` rows (bounded memory) and, with an output file, written
as they are computed (:class:`~rotcurve.io.CurveWriter`: atomic, the name and
id columns stored as ``/params/name`` and ``/params/id``).  A galaxy whose
curve is not finite once stored (``Md = 1e300`` overflows float32) is refused
with its row; nothing is written then.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.errors import ConfigError, DataError
from rotcurve.generator.radii import RadiiSpec, parse_radii
from rotcurve.io.atomic import check_output
from rotcurve.io.csv_table import read_csv
from rotcurve.io.format import CurveWriter, NonFiniteError
from rotcurve.io.read import CurveData, open_dataset
from rotcurve.physics import rotation_curves
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT, PARAM_NAMES, PARAM_UNITS, to_value
from rotcurve.validation import check_bool, check_float, check_int, first_line

__all__ = [
    "evaluate",
    "evaluate_table",
    "read_param_table",
    "validate_params",
    "BLOCK_ROWS",
    "MAX_BLOCK_VALUES",
    "LABEL_COLUMNS",
]

#: Default rows evaluated (and written) per block.
BLOCK_ROWS = 65536
#: A block never holds more values than this (rows x radii; ~6 float64 arrays
#: of it are alive at once, ~800 MB): the block size is lowered to fit.
MAX_BLOCK_VALUES = 1 << 24
#: String identifier columns carried through to the output.
LABEL_COLUMNS = ("name", "id")
#: The unit of each parameter as messages name it.
_UNITS = {"Md": "Msun", "Rd": "kpc", "Mh": "Msun", "c": "dimensionless"}


# -- reading tables -----------------------------------------------------------------------
def read_param_table(path: str | Path) -> tuple[dict[str, Any], Any]:
    """Read the four parameter columns of a CSV or HDF5 table.

    Parameters
    ----------
    path : str or Path
        The table.

    Returns
    -------
    columns : dict of str to ndarray
        ``Md``, ``Rd``, ``Mh``, ``c`` as read (object arrays for non-numeric CSV
        cells); check them with :func:`validate_params`.  Plus the identifier
        columns of :data:`LABEL_COLUMNS` that the table has (str arrays).
    radii : ndarray or None
        ``/radii`` (kpc) of an HDF5 table, if present.

    Raises
    ------
    DataError
        Missing or unreadable file, missing columns.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise DataError(f"parameter table {path}: no such file; check the path")
    if path.is_dir():
        raise DataError(f"parameter table {path} is a folder; give a CSV or HDF5 file")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise DataError(f"parameter table {path}: cannot read it ({exc})") from None
    if is_hdf5:
        return _read_hdf5_table(path)
    return _read_csv_table(path), None


def _missing_columns(source: str, found: Any) -> DataError:
    missing = [c for c in PARAM_NAMES if c not in found]
    shown = ", ".join(map(str, list(found)[:8])) or "none"
    return DataError(
        f"{source} lacks column{'s' if len(missing) > 1 else ''} "
        f"{', '.join(missing)} (found: {shown}); it needs Md [Msun], Rd [kpc], Mh [Msun], c"
    )


def _read_csv_table(path: Path) -> dict[str, Any]:
    frame = read_csv(
        path, source=f"parameter table {path}", dtype=str, keep_default_na=False
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    if any(c not in frame.columns for c in PARAM_NAMES):
        raise _missing_columns(f"parameter table {path}", frame.columns)
    out = {c: frame[c].to_numpy() for c in PARAM_NAMES}
    for c in LABEL_COLUMNS:
        if c in frame.columns:
            out[c] = frame[c].astype(str).str.strip().to_numpy(dtype=object)
    return out


def _read_hdf5_table(path: Path) -> tuple[dict[str, Any], Any]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            is_rotcurve = "format" in f.attrs
    except OSError as exc:
        raise DataError(
            f"parameter table {path} is truncated or corrupted (HDF5 cannot open it: {first_line(exc)}); "
            "copy or write it again"
        ) from None
    if is_rotcurve:
        with open_dataset(path) as ds:
            if not ds.has_params:
                raise DataError(
                    f"parameter table {path} is a rotcurve file without /params "
                    "(decoded or sampled curves have no true parameters)"
                )
            frame = ds.params
            out = {c: frame[c].to_numpy() for c in PARAM_NAMES}
            for c in LABEL_COLUMNS:
                if c in frame.columns:
                    out[c] = frame[c].to_numpy(dtype=object)
            return out, ds.radii.copy()
    try:
        with h5py.File(path, "r") as f:
            group = None
            for candidate in (f, f.get("params")):
                if isinstance(candidate, h5py.Group) and all(
                    isinstance(candidate.get(c), h5py.Dataset) for c in PARAM_NAMES
                ):
                    group = candidate
                    break
            if group is None:
                where = f["params"] if isinstance(f.get("params"), h5py.Group) else f
                raise _missing_columns(f"parameter table {path}", list(where.keys()))
            columns = {}
            for c in PARAM_NAMES:
                d = group[c]
                if d.ndim != 1:
                    raise DataError(
                        f"parameter table {path}: dataset {d.name} has shape {d.shape}; "
                        "expected a 1-D column"
                    )
                if d.dtype.kind not in "fiu":
                    raise DataError(
                        f"parameter table {path}: dataset {d.name} is not numeric ({d.dtype})"
                    )
                columns[c] = np.asarray(d[...], dtype=np.float64)
            for c in LABEL_COLUMNS:
                d = group.get(c)
                if isinstance(d, h5py.Dataset) and d.ndim == 1 and h5py.check_string_dtype(d.dtype):
                    columns[c] = np.asarray(d.asstr()[...], dtype=object)
            radii = None
            if isinstance(f.get("radii"), h5py.Dataset):
                radii = np.asarray(f["radii"][...], dtype=np.float64).reshape(-1)
    except OSError as exc:
        raise DataError(
            f"parameter table {path} is truncated or corrupted ({first_line(exc)}); copy or write it again"
        ) from None
    return columns, radii


def _columns_in_memory(params: Any, source: str) -> dict[str, Any]:
    """The parameter and identifier columns of a DataFrame, astropy Table, mapping or structured array."""
    names = getattr(params, "colnames", None)  # astropy Table
    if names is None:
        names = getattr(getattr(params, "dtype", None), "names", None)  # structured array
    if names is None:
        names = getattr(params, "columns", None)  # DataFrame
    if names is None and isinstance(params, Mapping):
        names = list(params.keys())
    if names is None:
        raise DataError(
            f"{source} must be a table with columns Md, Rd, Mh, c (a DataFrame, an astropy Table, "
            f"a dict of columns or a structured array), got {type(params).__name__}"
        )
    names = [str(c) for c in names]
    if any(c not in names for c in PARAM_NAMES):
        raise _missing_columns(source, names)
    out: dict[str, Any] = {}
    for c in (*PARAM_NAMES, *(c for c in LABEL_COLUMNS if c in names)):
        column = params[c]
        if getattr(column, "unit", None) is not None and hasattr(column, "quantity"):
            column = column.quantity  # an astropy Column with a unit: a Quantity, converted below
        elif hasattr(column, "to_numpy"):
            column = column.to_numpy()
        if c in LABEL_COLUMNS:
            column = np.array(["" if v is None else str(v).strip() for v in np.asarray(column, dtype=object)],
                              dtype=object)
        elif np.ndim(column) == 0:
            column = [column]  # one galaxy given as scalars
        out[c] = column
    return out


# -- checking -----------------------------------------------------------------------------
def validate_params(columns: dict[str, Any], *, source: str = "parameter table") -> dict[str, Any]:
    """Check and convert the parameter columns.

    Parameters
    ----------
    columns : dict of str to array_like
        ``Md``, ``Rd``, ``Mh``, ``c`` of equal length N (astropy Quantities of
        any compatible unit are converted to Msun and kpc).
    source : str, keyword-only
        Name used in messages.

    Returns
    -------
    dict of str to ndarray
        (N,) float64 columns.

    Raises
    ------
    DataError
        On an empty table, unequal lengths, or a cell that is missing, not a
        number, not finite or not positive; the message names the column and the
        (1-based) data row.
    """
    import pandas as pd

    lengths = {len(columns[c]) for c in PARAM_NAMES}
    if len(lengths) != 1:
        raise DataError(f"{source}: columns Md, Rd, Mh, c have different lengths {sorted(lengths)}")
    if lengths == {0}:
        raise DataError(f"{source} has no rows; give one galaxy per row")
    out = {}
    for c in PARAM_NAMES:
        raw = np.asarray(to_value(columns[c], PARAM_UNITS[c], c))  # astropy Quantities converted
        if raw.dtype.kind in "fiu":
            values = raw.astype(np.float64)
            bad_number = np.zeros(values.shape, dtype=bool)
        else:
            text = pd.Series(raw, dtype=object).astype(str).str.strip()
            values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
            bad_number = np.isnan(values) & ~text.str.lower().isin(["nan", "+nan", "-nan"]).to_numpy()
        if bad_number.any():
            i = int(np.flatnonzero(bad_number)[0])
            cell = str(raw[i]).strip()
            what = "is empty" if cell == "" else f"{cell!r} is not a number"
            raise DataError(f"{source}, row {i + 1}, column {c}: {what}; give {c} in {_UNITS[c]}")
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}, row {i + 1}, column {c}: {values[i]:g} must be positive and finite "
                f"({_UNITS[c]})"
            )
        out[c] = values
    return out


def _radii_spec(radii: Any, table_radii: Any = None) -> RadiiSpec:
    """The grid: ``radii`` (a spec, a grid text or file, an array or Quantity of kpc), else the table's, else the default."""
    if radii is None:
        return RadiiSpec() if table_radii is None else RadiiSpec.from_values(table_radii)
    if isinstance(radii, (RadiiSpec, str, os.PathLike)):
        return parse_radii(radii)
    return RadiiSpec.from_values(np.asarray(to_value(radii, "kpc", "radii"), dtype=np.float64).reshape(-1))


def _physics(H0: Any, Delta: Any) -> dict[str, float]:
    return {
        "H0": check_float("H0", to_value(H0, "km/s/Mpc", "H0"), minimum=0.0, strict=True),
        "Delta": check_float("Delta", to_value(Delta, "1", "Delta"), minimum=0.0, strict=True),
    }


def _unstorable(exc: NonFiniteError, params: dict[str, Any], labels: dict[str, Any], source: str,
                radii: np.ndarray) -> DataError:
    """The error for a galaxy whose curve cannot be stored: its table row and parameters."""
    i = exc.row
    name = next((f" ({labels[c][i]})" for c in LABEL_COLUMNS if c in labels), "")
    galaxy = ", ".join(f"{c} = {float(params[c][i]):g}" for c in PARAM_NAMES)
    value = f"{exc.value:.4g} km/s, beyond the {exc.dtype} range" if math.isfinite(exc.value) else f"{exc.value}"
    return DataError(
        f"{source}, row {i + 1}{name}: {exc.dataset} is {value} at r = "
        f"{float(radii[exc.column]):g} kpc for {galaxy}; refusing to store non-finite velocities; "
        "check the row (Md and Mh in Msun, Rd in kpc)"
    )


# -- computing ----------------------------------------------------------------------------
def _curves(params: dict[str, np.ndarray], radii: np.ndarray, physics: dict[str, float]) -> Any:
    # Overflow shows as a non-finite curve, refused where it is stored (with its row).
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return rotation_curves(params, radii, **physics)


def _run(
    columns: dict[str, Any],
    spec: RadiiSpec,
    out: Path | None,
    *,
    source: str,
    physics: dict[str, float],
    storage: dict[str, Any],
    block_size: int,
    progress: bool,
    extra_attrs: dict[str, Any],
) -> Path | CurveData:
    params = validate_params(columns, source=source)
    radii = spec.grid()
    n = len(params["Md"])
    labels = {c: columns[c] for c in LABEL_COLUMNS if c in columns and len(columns[c]) == n}
    attrs = {**physics, "prior": None, "radii_spec": spec.to_dict(), **extra_attrs}
    if out is None:
        import pandas as pd

        rc = _curves(params, radii, physics)
        table = pd.DataFrame({**params, **{c: np.asarray(v, dtype=object) for c, v in labels.items()}})
        keep = storage["components"]
        return CurveData(radii, rc.v_circ, rc.v_disc if keep else None, rc.v_halo if keep else None, table, attrs)
    from tqdm import tqdm

    block = max(1, min(block_size, MAX_BLOCK_VALUES // radii.size))
    with CurveWriter(out, n=n, radii=radii, params=True, labels=tuple(labels), attrs=attrs, **storage) as writer:
        with tqdm(total=n, unit="curve", desc="evaluate", disable=True if (not progress or n <= block) else None,
                  leave=False) as bar:
            for start in range(0, n, block):
                stop = min(n, start + block)
                sub = {c: params[c][start:stop] for c in params}
                rc = _curves(sub, radii, physics)
                try:
                    writer.write(
                        start,
                        v_circ=rc.v_circ,
                        v_disc=rc.v_disc,
                        v_halo=rc.v_halo,
                        params={**sub, **{c: v[start:stop] for c, v in labels.items()}},
                    )
                except NonFiniteError as exc:
                    raise _unstorable(exc, params, labels, source, radii) from None
                bar.update(stop - start)
    return out


def _settings(out: Any, overwrite: bool, dtype: str, components: bool, compression: str, block_size: Any,
              H0: Any, Delta: Any) -> tuple[Path | None, dict[str, Any], int, dict[str, float]]:
    """Every setting checked before a table is read."""
    if out is not None:
        if not isinstance(out, (str, os.PathLike)) or not str(out).strip():
            raise ConfigError(f"out must be a file path or None, got {out!r}")
        out = check_output(Path(out), overwrite=check_bool("overwrite", overwrite))
    storage = {"dtype": dtype, "components": check_bool("components", components),
               "compression": compression, "overwrite": bool(overwrite)}
    return out, storage, check_int("block_size", block_size), _physics(H0, Delta)


def evaluate(
    params: Any,
    radii: Any = None,
    *,
    out: str | os.PathLike[str] | None = None,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    dtype: str = "float32",
    components: bool = True,
    compression: str = "default",
    overwrite: bool = False,
    block_size: int = BLOCK_ROWS,
    progress: bool = False,
) -> Path | CurveData:
    """Rotation curves of the galaxies of a parameter table held in memory.

    Parameters
    ----------
    params : DataFrame, astropy Table, mapping or structured array
        Columns ``Md`` [Msun], ``Rd`` [kpc], ``Mh`` [Msun], ``c`` of N rows
        (scalars for one galaxy; astropy Quantities of any compatible unit);
        ``name`` and ``id`` columns are kept; other columns are ignored.
    radii : RadiiSpec, str, array_like or Quantity, optional
        The grid: a :class:`RadiiSpec`, ``"RMIN:RMAX:N[:log|linear]"`` or a
        radii file (see :func:`parse_radii`), or the radii themselves (kpc).
        Default: 50 log-spaced radii from 0.1 to 50 kpc.
    out : str or Path, optional, keyword-only
        A rotcurve file to write (atomically; missing folders are created).
        Without it the curves are returned in memory.
    H0 : float or Quantity, keyword-only
        Hubble constant in km/s/Mpc.
    Delta : float, keyword-only
        Halo overdensity relative to the critical density.
    dtype : {"float32", "float64"}, keyword-only
        Storage dtype of the curves in ``out``.
    components : bool, keyword-only
        Keep the disc and halo components (stored or returned) besides ``v_circ``.
    compression : str, keyword-only
        Compression of ``out`` (:func:`rotcurve.io.compression_options`).
    overwrite : bool, keyword-only
        Replace an existing ``out``.
    block_size : int, keyword-only
        Rows computed and written at once (bounds memory; lowered so that a
        block holds at most :data:`MAX_BLOCK_VALUES` values).
    progress : bool, keyword-only
        Show a progress bar while writing ``out``.

    Returns
    -------
    Path or rotcurve.io.CurveData
        ``out`` when given.  Otherwise the curves: ``radii`` (n_r,) kpc,
        ``v_circ`` (N, n_r) float64 km/s, ``v_disc``/``v_halo`` (None without
        ``components``), ``params`` (a DataFrame: the float64 parameters and the
        identifier columns) and ``attrs`` (``H0``, ``Delta``, ``prior``,
        ``radii_spec``).

    Raises
    ------
    DataError
        A missing column or a bad cell (named with its 1-based row); a galaxy
        whose curve cannot be stored in ``dtype``.
    ConfigError
        An invalid grid or setting.
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    """
    out, storage, block, physics = _settings(out, overwrite, dtype, components, compression, block_size, H0, Delta)
    columns = _columns_in_memory(params, "params")
    return _run(columns, _radii_spec(radii), out, source="params", physics=physics, storage=storage,
                block_size=block, progress=progress, extra_attrs={})


def evaluate_table(
    table: Any,
    out: str | os.PathLike[str],
    *,
    radii: Any = None,
    H0: float = H0_DEFAULT,
    Delta: float = DELTA_DEFAULT,
    dtype: str = "float32",
    components: bool = True,
    compression: str = "default",
    overwrite: bool = False,
    block_size: int = BLOCK_ROWS,
    progress: bool = False,
) -> Path:
    """Rotation curves of the galaxies of a parameter table, written to a rotcurve file.

    Parameters
    ----------
    table : str, Path, DataFrame, astropy Table or mapping
        A CSV or HDF5 table file (see the module notes; the output records its
        file name as the ``params_table`` attribute), or a table in memory as
        for :func:`evaluate`.
    out : str or Path
        The rotcurve file to write.
    radii : optional, keyword-only
        The grid as for :func:`evaluate`; default: the ``/radii`` of an HDF5
        table when it has them, else the default grid.
    H0, Delta, dtype, components, compression, overwrite, block_size, progress
        As for :func:`evaluate`.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    DataError
        A missing or unreadable table, a missing column, a bad cell (named with
        its 1-based row), a galaxy whose curve cannot be stored.
    ConfigError
        An invalid grid or setting.
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    """
    if out is None:
        raise ConfigError("evaluate_table needs an output file out; use evaluate() for curves in memory")
    out, storage, block, physics = _settings(out, overwrite, dtype, components, compression, block_size, H0, Delta)
    if isinstance(table, (str, os.PathLike)):
        path = Path(table)
        columns, table_radii = read_param_table(path)
        source, extra = f"parameter table {path}", {"params_table": path.name}
    else:
        columns, table_radii = _columns_in_memory(table, "parameter table"), None
        source, extra = "parameter table", {}
    return _run(columns, _radii_spec(radii, table_radii), out, source=source, physics=physics, storage=storage,
                block_size=block, progress=progress, extra_attrs=extra)
