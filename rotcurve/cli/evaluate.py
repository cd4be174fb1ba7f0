"""``rotcurve evaluate``: rotation curves for given parameter sets.

::

    rotcurve evaluate --params galaxies.csv --out curves.h5 [--radii 0.1:50:50]
                      [--H0 70] [--Delta 200] [--float64] [--no-components]
                      [--compression NAME] [--overwrite]

``--params`` is a CSV table (header row; columns ``Md`` [Msun], ``Rd`` [kpc],
``Mh`` [Msun], ``c``; the identifier columns ``name`` and ``id`` are kept as
strings, other columns are ignored) or an HDF5 file: a rotcurve file (its
``/params``, identifiers included), or any HDF5 file with 1-D datasets ``Md``,
``Rd``, ``Mh``, ``c`` (and string datasets ``name``/``id``) at the root or in
a ``/params`` group.  When the table file has a
``/radii`` dataset (kpc) and ``--radii`` is not given, those radii are used;
otherwise the default grid (50 log-spaced radii, 0.1-50 kpc).  The output is a
rotcurve file (see :mod:`rotcurve.io.format`) with the parameters stored, and
the identifier columns as string datasets ``/params/name`` (``/params/id``),
so that ``open_dataset(out).params`` has them as columns.  A galaxy whose curve
is not finite once stored (``Md = 1e300`` overflows float32) is refused with its
table row; nothing is written then.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from rotcurve.cli._common import (
    add_common_options,
    add_physics_options,
    add_radii_option,
    add_storage_options,
    check_output_path,
    physics_from_args,
    positive_int,
    storage_from_args,
)

__all__ = ["add_parser", "run", "read_param_table", "validate_params"]

#: Default rows evaluated (and written) per block.
BLOCK_ROWS = 65536
#: A block never holds more values than this (rows x radii; ~6 float64 arrays
#: of it are alive at once, ~800 MB): --block-size is lowered to fit.
MAX_BLOCK_VALUES = 1 << 24
_COLUMNS = ("Md", "Rd", "Mh", "c")
#: String identifier columns carried through to the output.
LABEL_COLUMNS = ("name", "id")
_UNITS = {"Md": "Msun", "Rd": "kpc", "Mh": "Msun", "c": "dimensionless"}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``evaluate``."""
    p = subparsers.add_parser(
        "evaluate",
        help="rotation curves for a table of galaxy parameters",
        description="Compute disc + NFW rotation curves for given parameter sets "
        "(a CSV or HDF5 table with columns Md [Msun], Rd [kpc], Mh [Msun], c) and "
        "write them as a rotcurve file.",
    )
    p.add_argument(
        "--params",
        required=True,
        metavar="TABLE",
        help="CSV with a header row, or HDF5 (a rotcurve file or 1-D datasets Md, Rd, Mh, c)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output rotcurve file (.h5)")
    add_radii_option(p)
    add_physics_options(p)
    add_storage_options(p)
    p.add_argument(
        "--block-size",
        type=positive_int,
        default=BLOCK_ROWS,
        metavar="ROWS",
        help=f"curves evaluated per block; bounds memory (default {BLOCK_ROWS})",
    )
    add_common_options(p, quiet_help="no progress bar or summary")
    p.set_defaults(func=run)
    return p


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

    from rotcurve.errors import DataError

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


def _missing_columns(path: Path, found: Any) -> Exception:
    from rotcurve.errors import DataError

    missing = [c for c in _COLUMNS if c not in found]
    shown = ", ".join(map(str, list(found)[:8])) or "none"
    return DataError(
        f"parameter table {path} lacks column{'s' if len(missing) > 1 else ''} "
        f"{', '.join(missing)} (found: {shown}); it needs Md [Msun], Rd [kpc], Mh [Msun], c"
    )


def _read_csv_table(path: Path) -> dict[str, Any]:
    import pandas as pd

    from rotcurve.errors import DataError

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, comment="#")
    except pd.errors.EmptyDataError:
        raise DataError(f"parameter table {path} is empty; give a CSV header Md,Rd,Mh,c and rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"parameter table {path} is neither HDF5 nor readable CSV ({reason})"
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if any(c not in frame.columns for c in _COLUMNS):
        raise _missing_columns(path, frame.columns)
    out = {c: frame[c].to_numpy() for c in _COLUMNS}
    for c in LABEL_COLUMNS:
        if c in frame.columns:
            out[c] = frame[c].astype(str).str.strip().to_numpy(dtype=object)
    return out


def _read_hdf5_table(path: Path) -> tuple[dict[str, Any], Any]:
    import h5py
    import numpy as np

    from rotcurve.errors import DataError
    from rotcurve.io import open_dataset

    try:
        with h5py.File(path, "r") as f:
            is_rotcurve = "format" in f.attrs
    except OSError as exc:
        raise DataError(
            f"parameter table {path} is truncated or corrupted (HDF5 cannot open it: {_first_line(exc)}); "
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
            out = {c: frame[c].to_numpy() for c in _COLUMNS}
            for c in LABEL_COLUMNS:
                if c in frame.columns:
                    out[c] = frame[c].to_numpy(dtype=object)
            return out, ds.radii.copy()
    try:
        with h5py.File(path, "r") as f:
            group = None
            for candidate in (f, f.get("params")):
                if isinstance(candidate, h5py.Group) and all(
                    isinstance(candidate.get(c), h5py.Dataset) for c in _COLUMNS
                ):
                    group = candidate
                    break
            if group is None:
                where = f["params"] if isinstance(f.get("params"), h5py.Group) else f
                raise _missing_columns(path, list(where.keys()))
            columns = {}
            for c in _COLUMNS:
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
            f"parameter table {path} is truncated or corrupted ({_first_line(exc)}); copy or write it again"
        ) from None
    return columns, radii


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def validate_params(columns: dict[str, Any], *, source: str = "parameter table") -> dict[str, Any]:
    """Check and convert the parameter columns.

    Parameters
    ----------
    columns : dict of str to array_like
        ``Md``, ``Rd``, ``Mh``, ``c`` of equal length N.
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
    import numpy as np
    import pandas as pd

    from rotcurve.errors import DataError
    from rotcurve.units import PARAM_UNITS, to_value

    lengths = {len(columns[c]) for c in _COLUMNS}
    if len(lengths) != 1:
        raise DataError(f"{source}: columns Md, Rd, Mh, c have different lengths {sorted(lengths)}")
    if lengths == {0}:
        raise DataError(f"{source} has no rows; give one galaxy per row")
    out = {}
    for c in _COLUMNS:
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


def _unstorable(exc: Any, params: dict[str, Any], labels: dict[str, Any], table: Path, radii: Any) -> Exception:
    """The error for a galaxy whose curve cannot be stored: its table row and parameters."""
    from rotcurve.errors import DataError

    i = exc.row
    name = next((f" ({labels[c][i]})" for c in LABEL_COLUMNS if c in labels), "")
    galaxy = ", ".join(
        f"{c} = {float(params[c][i]):g}" for c in _COLUMNS
    )
    value = f"{exc.value:.4g} km/s, beyond the {exc.dtype} range" if math.isfinite(exc.value) else f"{exc.value}"
    return DataError(
        f"parameter table {table}, row {i + 1}{name}: {exc.dataset} is {value} at r = "
        f"{float(radii[exc.column]):g} kpc for {galaxy}; refusing to store non-finite velocities; "
        "check the row (Md and Mh in Msun, Rd in kpc)"
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate the curves and write the output file."""
    import numpy as np
    from tqdm import tqdm

    from rotcurve.generator.radii import RadiiSpec, parse_radii
    from rotcurve.io import CurveWriter
    from rotcurve.io.format import NonFiniteError
    from rotcurve.physics import rotation_curves

    out = check_output_path(args.out, overwrite=args.overwrite)
    table_path = Path(args.params)
    columns, table_radii = read_param_table(table_path)
    params = validate_params(columns, source=f"parameter table {table_path}")
    if args.radii is not None:
        spec = parse_radii(args.radii)
    elif table_radii is not None:
        spec = RadiiSpec.from_values(table_radii)
    else:
        spec = RadiiSpec()
    radii = spec.grid()
    physics = physics_from_args(args)
    storage = storage_from_args(args)
    n = len(params["Md"])
    labels = {c: columns[c] for c in LABEL_COLUMNS if c in columns and len(columns[c]) == n}
    block = max(1, min(args.block_size, MAX_BLOCK_VALUES // radii.size))
    attrs = {**physics, "prior": None, "radii_spec": spec.to_dict(), "params_table": table_path.name}
    with CurveWriter(out, n=n, radii=radii, params=True, labels=tuple(labels), attrs=attrs, **storage) as writer:
        with tqdm(
            total=n,
            unit="curve",
            desc="evaluate",
            disable=True if (args.quiet or n <= block) else None,
            leave=False,
        ) as bar:
            for start in range(0, n, block):
                stop = min(n, start + block)
                sub = {c: params[c][start:stop] for c in params}
                # Overflow shows as a non-finite curve, refused below with its row.
                with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                    rc = rotation_curves(sub, radii, **physics)
                try:
                    writer.write(
                        start,
                        v_circ=rc.v_circ,
                        v_disc=rc.v_disc,
                        v_halo=rc.v_halo,
                        params={**sub, **{c: v[start:stop] for c, v in labels.items()}},
                    )
                except NonFiniteError as exc:
                    raise _unstorable(exc, params, labels, table_path, radii) from None
                bar.update(stop - start)
    if not args.quiet:
        size = out.stat().st_size
        print(f"wrote {n} curves x {radii.size} radii to {out} ({size / 2**20:.2f} MiB)")
    return 0
