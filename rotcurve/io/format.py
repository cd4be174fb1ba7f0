"""The rotcurve HDF5 file format (schema version 1) and its writers.

Layout
------
::

    /                     root attributes, see below
    /radii                (n_r,)    float64  kpc      strictly increasing
    /v_circ               (N, n_r)  float32  km/s     total circular velocity
    /v_disc               (N, n_r)  float32  km/s     disc component  (optional)
    /v_halo               (N, n_r)  float32  km/s     halo component  (optional)
    /params/Md            (N,)      float64  Msun     disc mass       (optional group)
    /params/Rd            (N,)      float64  kpc      disc scale length
    /params/Mh            (N,)      float64  Msun     halo mass M_Delta
    /params/c             (N,)      float64  1        NFW concentration
    /params/name          (N,)      string   -        galaxy identifier (optional; any
                                                      other string column likewise)

``v_circ**2 = v_disc**2 + v_halo**2`` (to float32 rounding).  Curves are float32
by default (float64 on request), chunked along N with whole rows in each chunk
(about 1 MiB per chunk), compressed, and carry a Fletcher-32 checksum per chunk
so that a damaged file fails loudly instead of returning wrong numbers.  Every
dataset has a ``units`` attribute.  The ``/params`` group is absent from files
of curves that have no true parameters (decoded or sampled curves).  String
identifier columns of the parameter table (``name``) are stored beside the
parameters as variable-length UTF-8 string datasets (unfiltered: HDF5 cannot
compress them) and named in the root attribute ``label_columns``; readers that
do not know them ignore them, :attr:`rotcurve.io.Dataset.params` returns them
as extra DataFrame columns.  Multi-shard masters do not carry them.

Root attributes: ``format = "rotcurve"``, ``schema_version`` (int),
``rotcurve_version`` (str), ``n_curves`` (N), ``n_radii`` (n_r), ``G``
(kpc (km/s)^2/Msun), ``H0`` (km/s/Mpc), ``Delta``, ``seed`` (int, absent when the
curves are not random), ``prior`` and ``radii_spec`` (JSON text; ``"null"`` when
not applicable), then any extra attributes of the writer's caller (sorted by
name; dicts and lists are stored as JSON text and their names listed in the
``json_attrs`` attribute).  ``curves_finite = True`` is set by the writer when
it closes a file after checking every stored value of every curve dataset
(after the conversion to the storage dtype): readers trust it instead of
scanning the data; a file without it is scanned when small.  A multi-shard *master* file additionally has
``shards`` (JSON: a list of ``{"file", "rows", "bytes"}``), and its curve and
parameter datasets are HDF5 virtual datasets over the shard files, named
relative to the master's folder (so the folder can be moved as a whole).

Files hold no timestamps and nothing machine-dependent: the same inputs give
bit-identical files.

Compression
-----------
Measured on 100 000 reference-prior curves x 50 radii (v_circ, v_disc, v_halo;
float32; 57.2 MiB raw; chunks of (5000, 50)) on a shared 2-core machine, best of
3 (throughput noisy to about +-30 %; the benchmark script is
``bench/io_compression.py``)::

    setting             MiB   ratio  write MB/s  read MB/s
    none               57.2   1.00       930       4955
    gzip-1             51.8   1.10        18        160
    gzip-1 + shuffle   39.2   1.46        79        514   <- default
    gzip-2 + shuffle   38.6   1.48        75        357
    gzip-3 + shuffle   38.2   1.50        51        327
    gzip-4             51.6   1.11        28        203
    gzip-4 + shuffle   38.1   1.50        54        496
    lzf                57.2   1.00       171       8734
    lzf + shuffle      44.2   1.30       161        451
    gzip-1 + shuffle + fletcher32   39.2  1.46  72  418

Float32 velocities have noisy low mantissa bits, so no lossless filter does
much better than 1.5.  The default is **gzip level 1 with the byte-shuffle
filter**: gzip (deflate) is built into every HDF5 library, so the files open in
any HDF5 reader (C, Fortran, Julia, MATLAB, IDL, h5dump), unlike LZF, which needs
the h5py/PyTables plugin; shuffle is what makes float32 compress at all (1.10 ->
1.46) and speeds gzip up; levels 2-4 save at most 3 % more space for a slower
write.  LZF + shuffle writes about twice as fast but is 13 % larger and not
portable (``--compression lzf`` when speed matters and only Python reads the
files).  The Fletcher-32 checksum costs little and makes damaged data fail
loudly for every compression setting.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve._version import __version__
from rotcurve.errors import OVERWRITE, ConfigError, DataError, Option, OutputExistsError
from rotcurve.io.atomic import atomic_path, make_parents
from rotcurve.io.h5write import h5_create
from rotcurve.io.lock import output_lock
from rotcurve.io.read import open_dataset
from rotcurve.io.schema import (  # the names and numbers of the format; re-exported here
    CHUNK_BYTES,
    COMPRESSIONS,
    CURVE_NAMES,
    DATASET_UNITS,
    DTYPES,
    FORMAT_NAME,
    PARAM_CHUNK_ROWS,
    PARAM_NAMES,
    RESERVED_ATTRS,
    SCHEMA_VERSION,
    chunk_rows,
    compression_options,
)
from rotcurve.io.schema import JSON_STANDARD as _JSON_STANDARD
from rotcurve.io.schema import STANDARD_ATTRS as _STANDARD_ATTRS
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT, G
from rotcurve.validation import is_int, is_number

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT_NAME",
    "CURVE_NAMES",
    "PARAM_NAMES",
    "DATASET_UNITS",
    "RESERVED_ATTRS",
    "COMPRESSIONS",
    "DTYPES",
    "compression_options",
    "chunk_rows",
    "CurveWriter",
    "NonFiniteError",
    "write_dataset",
    "write_virtual",
]


def _dtype(dtype: Any) -> np.dtype:
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in DTYPES:
        raise ConfigError(f"unknown storage dtype {dtype!r}; use 'float32' or 'float64'")
    return np.dtype(DTYPES[key])


def _json(value: Any, name: str) -> str:
    if value is not None and hasattr(value, "to_dict"):
        value = value.to_dict()
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"attribute {name!r} cannot be stored as JSON ({exc})") from None


def _scalar_attr(name: str, value: Any) -> Any:
    """A value h5py stores as a plain, portable attribute."""
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, str):
        return value
    raise ConfigError(
        f"attribute {name!r} has unsupported type {type(value).__name__}; "
        "use a number, string, bool, list or dict"
    )


def _root_attrs(attrs: Mapping[str, Any] | None, *, n: int, n_radii: int) -> list[tuple[str, Any]]:
    """The root attributes in their fixed order (name, value ready for h5py)."""
    attrs = dict(attrs or {})
    reserved = sorted(set(attrs) & set(RESERVED_ATTRS))
    if reserved:
        raise ConfigError(f"attributes {', '.join(reserved)} are set by the writer; do not pass them")
    out: list[tuple[str, Any]] = [
        ("format", FORMAT_NAME),
        ("schema_version", np.int64(SCHEMA_VERSION)),
        ("rotcurve_version", __version__),
        ("n_curves", np.int64(n)),
        ("n_radii", np.int64(n_radii)),
        ("G", np.float64(G)),
    ]
    for name, default in (("H0", H0_DEFAULT), ("Delta", DELTA_DEFAULT)):
        value = attrs.pop(name, default)
        if not is_number(value):
            raise ConfigError(f"attribute {name!r} must be a number, got {value!r}")
        if not (math.isfinite(float(value)) and float(value) > 0):
            raise ConfigError(f"attribute {name!r} must be positive and finite, got {value!r}")
        out.append((name, np.float64(value)))
    seed = attrs.pop("seed", None)
    if seed is not None:
        if not is_int(seed):
            raise ConfigError(f"attribute 'seed' must be an integer, got {seed!r}")
        out.append(("seed", np.int64(seed) if -(2**63) <= seed < 2**63 else str(seed)))
    for name in _JSON_STANDARD:
        out.append((name, _json(attrs.pop(name, None), name)))
    json_names = []
    for name in sorted(attrs):
        value = attrs[name]
        if not isinstance(name, str) or not name or "/" in name:
            raise ConfigError(f"attribute name {name!r} is not a plain non-empty string")
        if value is None or isinstance(value, (dict, list, tuple)) or hasattr(value, "to_dict"):
            out.append((name, _json(value, name)))
            json_names.append(name)
        else:
            out.append((name, _scalar_attr(name, value)))
    if json_names:
        out.append(("json_attrs", json.dumps(json_names)))
    return out


def _group(parent: Any, name: str) -> Any:
    """Create a group without modification times (bit-reproducible files)."""
    import h5py

    gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
    gcpl.set_obj_track_times(False)
    gid = h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl)
    return h5py.Group(gid)


def _virtual_dataset(parent: Any, name: str, layout: Any, fillvalue: float) -> Any:
    """``parent.create_virtual_dataset`` without modification times (bit-reproducible files).

    h5py's ``create_virtual_dataset`` has no ``track_times`` option, so the
    dataset is created here from the layout's creation property list.
    """
    import h5py

    dcpl = layout._get_dcpl(parent.file.filename)
    dcpl.set_fill_value(np.array([fillvalue], dtype=layout.dtype))
    dcpl.set_obj_track_times(False)
    space = h5py.h5s.create_simple(layout.shape)
    tid = h5py.h5t.py_create(np.dtype(layout.dtype), logical=1)
    return h5py.Dataset(h5py.h5d.create(parent.id, name.encode(), tid, space, dcpl=dcpl))


def _as_params(params: Any, n: int | None = None) -> dict[str, np.ndarray]:
    """Coerce a mapping / DataFrame / structured array to four (n,) float64 arrays."""
    out = {}
    for name in PARAM_NAMES:
        try:
            column = params[name]
        except (KeyError, ValueError, IndexError, TypeError):
            raise DataError(
                f"parameters lack column {name!r}; give Md, Rd, Mh and c"
            ) from None
        arr = np.asarray(column, dtype=np.float64).reshape(-1)
        out[name] = arr
    sizes = {a.shape[0] for a in out.values()}
    if len(sizes) != 1 or (n is not None and sizes != {n}):
        raise DataError(
            f"parameter columns have lengths {sorted(sizes)}, expected {n if n is not None else 'equal'}"
        )
    return out


def _check_radii(radii: Any) -> np.ndarray:
    r = np.asarray(radii, dtype=np.float64)
    if r.ndim != 1 or r.size < 1:
        raise DataError(f"radii must be a non-empty 1-D array (kpc), got shape {r.shape}")
    if not np.all(np.isfinite(r)) or np.any(r <= 0) or np.any(np.diff(r) <= 0):
        raise DataError("radii must be positive, finite and strictly increasing (kpc)")
    return r


class NonFiniteError(DataError):
    """A curve value is not finite once converted to the storage dtype.

    Attributes
    ----------
    dataset : str
        ``v_circ``, ``v_disc`` or ``v_halo``.
    row : int
        The first offending row (of the file).
    column : int
        Its radius index.
    value : float
        The value before the conversion (float64 km/s; finite when only the
        conversion overflowed).
    dtype : str
        The storage dtype.
    """

    def __init__(self, *args: Any, dataset: str = "", row: int = -1, column: int = -1,
                 value: float = math.nan, dtype: str = "", cli: str | None = None) -> None:
        super().__init__(*args, cli=cli)
        self.dataset, self.row, self.column, self.value, self.dtype = dataset, row, column, value, dtype


def _first_nonfinite(stored: np.ndarray) -> tuple[int, int] | None:
    """(row, column) of the first non-finite value of a 2-D block, or None (cheap when all finite)."""
    if stored.size == 0 or np.isfinite(stored.sum(dtype=np.float64)):  # NaN and inf propagate
        return None
    bad = np.argwhere(~np.isfinite(stored))
    if not bad.size:  # finite float64 values whose sum overflowed
        return None
    return int(bad[0][0]), int(bad[0][1])


def _label_values(params: Any, name: str, b: int) -> np.ndarray:
    try:
        column = params[name]
    except (KeyError, ValueError, IndexError, TypeError):
        raise DataError(f"parameters lack the label column {name!r}") from None
    values = np.asarray(column, dtype=object).reshape(-1)
    if values.shape[0] != b:
        raise DataError(f"label column {name!r} has {values.shape[0]} rows, expected {b}")
    return np.array(["" if v is None else str(v) for v in values], dtype=object)


class CurveWriter:
    """Write a rotcurve file of ``n`` curves in blocks, with bounded memory.

    The file is written to a temporary name in the destination folder and renamed
    into place by :meth:`close` only when every row has been written; an
    exception inside the ``with`` block (or :meth:`abort`) removes it, so no
    partial file is ever visible under ``path``.  Every block is checked after
    its conversion to the storage dtype: a value that is not finite there
    (NaN, inf, or a float64 velocity beyond the float32 range) raises
    :class:`NonFiniteError` naming its row, and nothing is kept.  A full disk
    raises :class:`~rotcurve.errors.DiskFullError` (nothing is kept either).

    Parameters
    ----------
    path : str or Path
        Destination; missing parent folders are created.
    n : int
        Number of curves N (>= 0).
    radii : array_like, shape (n_r,)
        Radii in kpc, strictly increasing.
    components : bool, keyword-only
        Store ``v_disc`` and ``v_halo`` (default True).  When false, components
        passed to :meth:`write` are ignored.
    params : bool, keyword-only
        Store ``/params`` (default True); :meth:`write` then requires them.
    labels : sequence of str, keyword-only
        String identifier columns (e.g. ``("name",)``) to store in ``/params``
        beside the parameters; :meth:`write` then takes them in ``params``.
        They are held in memory until :meth:`close` writes them at once.
    attrs : mapping, keyword-only
        Root attributes: ``H0``, ``Delta``, ``seed``, ``prior``, ``radii_spec``
        (dicts or config objects with ``to_dict``) and any extras.
    dtype : {"float32", "float64"}, keyword-only
        Storage type of the curves (parameters are always float64).
    compression : str, keyword-only
        See :func:`compression_options`.
    overwrite : bool, keyword-only
        Replace an existing ``path``; otherwise :class:`OutputExistsError`.
    lock : bool, keyword-only
        Hold ``path``'s lock file while writing (default True), so that a
        second run writing the same path fails at once
        (:class:`~rotcurve.errors.OutputLockedError`).
    overwrite_option : Option, keyword-only
        How messages spell ``overwrite`` (default ``overwrite=True`` /
        ``--overwrite``).

    Examples
    --------
    >>> with CurveWriter("out.h5", n=n, radii=r, attrs={"seed": 1}) as w:   # doctest: +SKIP
    ...     for start in range(0, n, block):
    ...         c = rotation_curves(p[start:start + block], r)
    ...         w.write(start, v_circ=c.v_circ, v_disc=c.v_disc, v_halo=c.v_halo,
    ...                 params=p[start:start + block])
    """

    def __init__(
        self,
        path: str | Path,
        *,
        n: int,
        radii: Any,
        components: bool = True,
        params: bool = True,
        labels: Sequence[str] = (),
        attrs: Mapping[str, Any] | None = None,
        dtype: str = "float32",
        compression: str = "default",
        overwrite: bool = False,
        lock: bool = True,
        overwrite_option: Option = OVERWRITE,
    ) -> None:
        import h5py


        self._closed = True  # until the file is open
        self.path = Path(path)
        if not is_int(n) or n < 0:
            raise ConfigError(f"number of curves must be a non-negative integer, got {n!r}")
        self.n = int(n)
        self.radii = _check_radii(radii)
        self.n_radii = int(self.radii.size)
        self.components = bool(components)
        self.has_params = bool(params)
        self.labels = tuple(str(x) for x in labels)
        bad = [x for x in self.labels if x in PARAM_NAMES or not x or "/" in x]
        if bad:
            raise ConfigError(f"label column {bad[0]!r} cannot be stored; use another name")
        if self.labels and not self.has_params:
            raise ConfigError("label columns are stored in /params; the writer needs params=True")
        self.dtype = _dtype(dtype)
        filters = compression_options(compression)
        root = _root_attrs(attrs, n=self.n, n_radii=self.n_radii)
        if self.labels:
            root.append(("label_columns", json.dumps(list(self.labels))))
        self.overwrite = bool(overwrite)
        self._option = overwrite_option
        self._written = np.zeros(self.n, dtype=bool)
        self._cursor = 0
        self._stack = contextlib.ExitStack()
        try:
            if lock:
                self._stack.enter_context(output_lock(self.path))
            if not self.overwrite and self.path.exists():
                raise OutputExistsError.both(
                    "{path} exists; pass {o} to replace it", path=str(self.path), o=self._option
                )
            make_parents(self.path)
            tmp = self._stack.enter_context(atomic_path(self.path, overwrite=self.overwrite))
            self._file = self._stack.enter_context(h5_create(tmp, libver="earliest"))
            self._closed = False
            f = self._file
            for name, value in root:
                f.attrs[name] = value
            d = f.create_dataset("radii", data=self.radii, dtype=np.float64, track_times=False)
            d.attrs["units"] = DATASET_UNITS["radii"]
            names = CURVE_NAMES if self.components else CURVE_NAMES[:1]
            rows = chunk_rows(self.n, self.n_radii, self.dtype.itemsize)
            chunked = self.n > 0
            self._curves = {}
            for name in names:
                d = f.create_dataset(
                    name,
                    shape=(self.n, self.n_radii),
                    dtype=self.dtype,
                    chunks=(rows, self.n_radii) if chunked else None,
                    fillvalue=np.nan,
                    fletcher32=chunked,
                    track_times=False,
                    **(filters if chunked else {}),
                )
                d.attrs["units"] = DATASET_UNITS[name]
                self._curves[name] = d
            self._params = {}
            self._labels = {}
            if self.has_params:
                g = _group(f, "params")
                for name in PARAM_NAMES:
                    d = g.create_dataset(
                        name,
                        shape=(self.n,),
                        dtype=np.float64,
                        chunks=(min(self.n, PARAM_CHUNK_ROWS),) if chunked else None,
                        fillvalue=np.nan,
                        fletcher32=chunked,
                        track_times=False,
                        **(filters if chunked else {}),
                    )
                    d.attrs["units"] = DATASET_UNITS[f"params/{name}"]
                    self._params[name] = d
                for name in self.labels:
                    d = g.create_dataset(name, shape=(self.n,), dtype=h5py.string_dtype(), track_times=False)
                    d.attrs["units"] = ""
                    # Kept in memory and written once at close: the strings' heap
                    # layout (the file's bytes) then does not depend on the blocks.
                    self._labels[name] = (d, np.full(self.n, "", dtype=object))
        except BaseException:
            self._closed = True
            self._stack.__exit__(*sys.exc_info())
            raise

    # -- writing -------------------------------------------------------------------
    def write(
        self,
        start: int,
        *,
        v_circ: Any,
        v_disc: Any = None,
        v_halo: Any = None,
        params: Any = None,
    ) -> None:
        """Write rows ``start : start + len(v_circ)``.

        Parameters
        ----------
        start : int
            First row.
        v_circ, v_disc, v_halo : array_like, shape (B, n_r)
            Velocities in km/s; finite in the storage dtype.  Components are
            required when the writer stores them.
        params : mapping, optional
            ``Md``, ``Rd``, ``Mh``, ``c`` arrays of shape (B,) (and the label
            columns); required when the writer stores parameters.

        Raises
        ------
        NonFiniteError
            A value is NaN or inf after the conversion to the storage dtype
            (the message names the dataset, the row and the value).
        """
        self._check_open()
        block = {"v_circ": v_circ, "v_disc": v_disc, "v_halo": v_halo}
        arrays = {}
        for name in self._curves:
            value = block[name]
            if value is None:
                raise DataError(f"write() needs {name} (the file stores components)")
            arr = np.asarray(value)
            if arr.ndim != 2 or arr.shape[1] != self.n_radii:
                raise DataError(
                    f"{name} has shape {arr.shape}, expected (rows, {self.n_radii})"
                )
            arrays[name] = arr
        b = arrays["v_circ"].shape[0]
        if any(a.shape[0] != b for a in arrays.values()):
            raise DataError("v_circ, v_disc and v_halo blocks have different numbers of rows")
        start = int(start)
        if start < 0 or start + b > self.n:
            raise DataError(f"rows {start}:{start + b} are outside the file's {self.n} rows")
        stored = {}
        for name, arr in arrays.items():
            if arr.dtype.kind not in "fiu":
                raise DataError(f"{name} must hold numbers (km/s), got dtype {arr.dtype}")
            with np.errstate(over="ignore", invalid="ignore"):
                cast = arr.astype(self.dtype, copy=False)
            where = _first_nonfinite(cast)
            if where is not None:
                self._raise_nonfinite(name, arr, start, *where)
            stored[name] = cast
        if self.has_params:
            if params is None:
                raise DataError("write() needs params (the file stores parameters)")
            pars = _as_params(params, b)
            labels = {name: _label_values(params, name, b) for name in self._labels}
        for name, arr in stored.items():
            self._curves[name][start : start + b] = arr
        if self.has_params:
            for name, arr in pars.items():
                self._params[name][start : start + b] = arr
            for name, arr in labels.items():
                self._labels[name][1][start : start + b] = arr
        self._written[start : start + b] = True
        self._cursor = max(self._cursor, start + b)

    def _raise_nonfinite(self, name: str, arr: np.ndarray, start: int, i: int, j: int) -> None:
        value = float(arr[i, j])
        r = float(self.radii[j])
        dtype = self.dtype.name
        if math.isfinite(value):
            why = (
                f"is not finite as {dtype} ({value:.4g} km/s at r = {r:g} kpc exceeds the {dtype} "
                f"range, largest {float(np.finfo(self.dtype).max):.3g}); refusing to store it as inf"
            )
        else:
            why = f"is not finite ({value} km/s at r = {r:g} kpc); refusing to store non-finite velocities"
        raise NonFiniteError(
            f"{name} row {start + i} {why}", dataset=name, row=start + i, column=j, value=value, dtype=dtype
        )

    def append(self, *, v_circ: Any, v_disc: Any = None, v_halo: Any = None, params: Any = None) -> None:
        """Write the next block after the last row written so far."""
        self.write(self._cursor, v_circ=v_circ, v_disc=v_disc, v_halo=v_halo, params=params)

    @property
    def rows_written(self) -> int:
        """Number of distinct rows written so far."""
        return int(self._written.sum())

    # -- finishing -----------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise DataError(f"writer for {self.path} is already closed")

    def close(self) -> Path:
        """Finish: check every row was written, then rename the file into place.

        Raises
        ------
        DataError
            When rows are missing (the temporary file is removed).
        DiskFullError
            When the disk filled up (the temporary file is removed).
        """
        if self._closed:
            return self.path
        missing = np.flatnonzero(~self._written)
        if missing.size:
            self.abort()
            raise DataError(
                f"{self.path}: {missing.size} of {self.n} rows were never written "
                f"(first: {missing[0]}); nothing was saved"
            )
        self._closed = True
        try:
            for d, values in self._labels.values():
                if self.n:
                    d[...] = values
            # Every value of every curve dataset was checked in write().
            self._file.attrs["curves_finite"] = np.bool_(True)
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        try:
            self._stack.close()
        except FileExistsError as exc:
            if isinstance(exc, OutputExistsError):
                raise
            raise OutputExistsError.both(
                "{path} appeared while writing; pass {o} to replace it", path=str(self.path), o=self._option
            ) from None
        return self.path

    def abort(self) -> None:
        """Discard the temporary file."""
        if self._closed:
            return
        self._closed = True
        err = DataError("aborted")
        with contextlib.suppress(DataError):
            self._stack.__exit__(DataError, err, None)

    def __enter__(self) -> CurveWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        elif not self._closed:
            self._closed = True
            self._stack.__exit__(exc_type, exc, tb)

    def __del__(self) -> None:  # an abandoned writer leaves no temp file
        with contextlib.suppress(Exception):
            if not getattr(self, "_closed", True):
                self.abort()


def write_dataset(
    path: str | Path,
    *,
    radii: Any,
    v_circ: Any,
    v_disc: Any = None,
    v_halo: Any = None,
    params: Any = None,
    labels: Sequence[str] = (),
    attrs: Mapping[str, Any] | None = None,
    components: bool = True,
    dtype: str = "float32",
    compression: str = "default",
    overwrite: bool = False,
) -> Path:
    """Write curves held in memory to a rotcurve file, atomically.

    Parameters
    ----------
    path : str or Path
        Destination; missing parent folders are created.
    radii : array_like, shape (n_r,)
        Radii in kpc.
    v_circ : array_like, shape (N, n_r)
        Circular velocities in km/s.
    v_disc, v_halo : array_like, shape (N, n_r), optional
        Components in km/s; stored when both are given and ``components`` is
        true.
    params : mapping, optional
        ``Md`` (Msun), ``Rd`` (kpc), ``Mh`` (Msun), ``c`` arrays of shape (N,)
        (dict, DataFrame or structured array); stored when given.
    labels : sequence of str, keyword-only
        String columns of ``params`` to store too (e.g. ``("name",)``).
    components : bool, keyword-only
        False drops the components even when given (``--no-components``).
    attrs, dtype, compression, overwrite
        As for :class:`CurveWriter`.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    NonFiniteError
        A value is not finite in the storage dtype; nothing is written.
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    DiskFullError
        No space left; nothing is left behind.
    """
    v = np.asarray(v_circ)
    if v.ndim != 2:
        raise DataError(f"v_circ must be 2-D (N, n_r), got shape {v.shape}")
    if (v_disc is None) != (v_halo is None):
        raise DataError("give both v_disc and v_halo, or neither")
    with CurveWriter(
        path,
        n=v.shape[0],
        radii=radii,
        components=components and v_disc is not None,
        params=params is not None,
        labels=labels,
        attrs=attrs,
        dtype=dtype,
        compression=compression,
        overwrite=overwrite,
    ) as writer:
        writer.write(0, v_circ=v, v_disc=v_disc, v_halo=v_halo, params=params)
    return Path(path)


def _file_size(path: Path) -> int:
    return path.stat().st_size


def write_virtual(
    path: str | Path,
    shard_paths: Sequence[str | Path] | Iterable[str | Path],
    *,
    attrs: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Build a master file that reads a list of shard files as one data set.

    ``/v_circ``, ``/v_disc``, ``/v_halo`` and ``/params/*`` of the master are
    HDF5 virtual datasets that concatenate the shards' rows in the given order;
    ``/radii`` is a copy.  Shard files are referred to relative to the master's
    folder, so the folder can be moved or copied as a whole.  The ``shards``
    root attribute lists every shard's relative name, rows and size in bytes so
    that :func:`rotcurve.io.open_dataset` can refuse a master whose shards are
    missing, truncated or replaced (HDF5 itself would silently return fill
    values).

    Parameters
    ----------
    path : str or Path
        The master file.
    shard_paths : sequence of str or Path
        Complete rotcurve files with the same radii, dtype, components and
        parameters; in row order.  They must stay in (a subfolder of) the
        master's folder tree or next to it.
    attrs : mapping, keyword-only
        Root attributes (as for :class:`CurveWriter`).  Default: ``H0``,
        ``Delta``, ``seed``, ``prior`` and ``radii_spec`` of the first shard.
    overwrite : bool, keyword-only
        Replace an existing master.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    DataError
        A shard is missing, not a rotcurve file, or inconsistent with the others.
    """
    import h5py

    path = Path(path)
    shards = [Path(p) for p in shard_paths]
    if not shards:
        raise DataError("write_virtual needs at least one shard file")
    if not overwrite and path.exists():
        raise OutputExistsError.both("{path} exists; pass {o} to replace it", path=str(path), o=OVERWRITE)
    make_parents(path)
    folder = path.parent.resolve()
    all_finite = True
    infos = []
    radii = None
    first_attrs: dict[str, Any] = {}
    layout_key = None
    for shard in shards:
        if shard.resolve() == path.resolve():
            raise DataError(f"{shard}: a shard cannot be the master file itself")
        with open_dataset(shard) as ds:
            if ds.shards:
                raise DataError(f"{shard} is itself a master file; list its shards instead")
            key = (
                ds.v_circ.dtype.str,
                ds.v_disc is not None,
                ds.has_params,
            )
            if radii is None:
                radii = ds.radii.copy()
                layout_key = key
                first_attrs = {k: ds.attrs.get(k) for k in _STANDARD_ATTRS}
            else:
                if ds.radii.shape != radii.shape or not np.array_equal(ds.radii, radii):
                    raise DataError(f"{shard}: its radii differ from those of {shards[0]}")
                if key != layout_key:
                    raise DataError(
                        f"{shard}: dtype/components/params differ from those of {shards[0]}"
                    )
            all_finite = all_finite and ds.attrs.get("curves_finite") is True
            rel = os.path.relpath(shard.resolve(), folder)
            infos.append({"file": Path(rel).as_posix(), "rows": ds.n, "bytes": _file_size(shard)})
    assert radii is not None and layout_key is not None
    dtype_str, has_components, has_params = layout_key
    n = sum(info["rows"] for info in infos)
    n_r = radii.size
    if attrs is None:
        attrs = {k: v for k, v in first_attrs.items() if v is not None}
    root = _root_attrs(attrs, n=n, n_radii=n_r)
    root.append(("shards", json.dumps(infos)))
    if all_finite:
        root.append(("curves_finite", np.bool_(True)))

    def layout(name: str, shape_of: Any, dtype: Any) -> Any:
        lay = h5py.VirtualLayout(shape=shape_of(n), dtype=dtype)
        offset = 0
        for info in infos:
            rows = info["rows"]
            if rows:
                lay[offset : offset + rows] = h5py.VirtualSource(
                    info["file"], name, shape=shape_of(rows)
                )
            offset += rows
        return lay

    curve_names = CURVE_NAMES if has_components else CURVE_NAMES[:1]

    with output_lock(path), atomic_path(path, overwrite=True) as tmp:
        with h5_create(tmp, libver="earliest") as f:
            for name, value in root:
                f.attrs[name] = value
            d = f.create_dataset("radii", data=radii, dtype=np.float64, track_times=False)
            d.attrs["units"] = DATASET_UNITS["radii"]
            for name in curve_names:
                d = _virtual_dataset(
                    f, name, layout(name, lambda k: (k, n_r), np.dtype(dtype_str)), np.nan
                )
                d.attrs["units"] = DATASET_UNITS[name]
            if has_params:
                g = _group(f, "params")
                for name in PARAM_NAMES:
                    d = _virtual_dataset(
                        g, name, layout(f"params/{name}", lambda k: (k,), np.float64), np.nan
                    )
                    d.attrs["units"] = DATASET_UNITS[f"params/{name}"]
    return path
