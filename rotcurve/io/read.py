"""Opening, validating and reading rotcurve files (see :mod:`rotcurve.io.format`).

:func:`open_dataset` checks a file before anything is read from it and raises
:class:`~rotcurve.errors.DataError` with a message for a person when it is

* missing, or not an HDF5 file at all;
* an HDF5 file that is not a rotcurve file (no ``format`` attribute);
* written by a newer rotcurve (``schema_version`` above :data:`SCHEMA_VERSION`);
* truncated or corrupted: HDF5 cannot open it, datasets are missing, shapes
  disagree with ``n_curves``, or (for a multi-shard master file) a shard file is
  missing, has the wrong size or the wrong number of rows;
* holding curves that are not finite: files written by rotcurve record
  ``curves_finite`` once every value was checked; a file without that record is
  scanned when it is small (at most :data:`SCAN_VALUES` values of ``v_circ``).

Reading checks every chunk's Fletcher-32 checksum: damaged data fail loudly
(:class:`~rotcurve.errors.DataError`) instead of returning wrong numbers.
:meth:`Dataset.verify` reads a whole file through to find damage up front.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.errors import DataError
from rotcurve.io.schema import (
    CHUNK_BYTES,
    CURVE_NAMES,
    FORMAT_NAME,
    PARAM_NAMES,
    SCHEMA_VERSION,
)
from rotcurve.validation import first_line, is_int

__all__ = ["Dataset", "CheckedDataset", "CurveData", "open_dataset", "read_dataset", "SCAN_VALUES"]

#: Files without the writer's ``curves_finite`` record are scanned for NaN/inf
#: when ``v_circ`` has at most this many values (4 MiB of float32).
SCAN_VALUES: int = 1 << 20

_MAKE_ONE = "make one with `rotcurve generate` or `rotcurve evaluate`"
#: A command to run, the same advice for Python callers and command-line users.
_REGENERATE = "regenerate it (or `rotcurve generate --resume`)"


def _corrupt(path: Path, why: str) -> DataError:
    return DataError(f"{path} is truncated or corrupted ({why}); {_REGENERATE}")


class CheckedDataset:
    """An ``h5py.Dataset`` whose reads turn HDF5 errors into one :class:`DataError`
    naming the file (a damaged chunk fails only when it is read, e.g. in the middle
    of ``encode``: "filter returned failure during read" alone named nothing).

    Everything else (``shape``, ``dtype``, ``chunks``, ``attrs``, ...) is the dataset's own.
    """

    __slots__ = ("_d", "_path")

    def __init__(self, dataset: Any, path: Path) -> None:
        self._d = dataset
        self._path = path

    def __getitem__(self, key: Any) -> Any:
        try:
            return self._d[key]
        except OSError as exc:
            raise _corrupt(self._path, first_line(exc)) from None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[()], dtype=dtype)

    def __len__(self) -> int:
        return len(self._d)

    @property
    def dataset(self) -> Any:
        """The ``h5py.Dataset`` itself (its reads raise HDF5's ``OSError``)."""
        return self._d

    def __getattr__(self, name: str) -> Any:
        return getattr(self._d, name)

    def read_direct(self, dest: np.ndarray, source_sel: Any = None, dest_sel: Any = None) -> None:
        try:
            self._d.read_direct(dest, source_sel, dest_sel)
        except OSError as exc:
            raise _corrupt(self._path, first_line(exc)) from None


def _plain(value: Any) -> Any:
    """An HDF5 attribute value as plain Python."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


@dataclass
class CurveData:
    """A rotcurve file read into memory.

    Attributes
    ----------
    radii : ndarray, shape (n_r,)
        float64 radii in kpc.
    v_circ : ndarray, shape (N, n_r)
        Circular velocities in km/s, in the stored dtype (float32 by default).
    v_disc, v_halo : ndarray, shape (N, n_r), or None
        Components in km/s (None unless asked for and stored).
    params : pandas.DataFrame or None
        Columns Md (Msun), Rd (kpc), Mh (Msun), c; float64; N rows.
    attrs : dict
        Root attributes (see :attr:`Dataset.attrs`).
    """

    radii: np.ndarray
    v_circ: np.ndarray
    v_disc: np.ndarray | None = None
    v_halo: np.ndarray | None = None
    params: Any = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of curves N."""
        return int(self.v_circ.shape[0])


class Dataset:
    """An open, validated rotcurve file; use :func:`open_dataset`.

    Attributes
    ----------
    path : Path
        The file.
    radii : ndarray, shape (n_r,)
        float64 radii in kpc (read into memory).
    n, n_radii : int
        Number of curves N and of radii n_r.
    v_circ : CheckedDataset, shape (N, n_r)
        km/s, read lazily: slicing (``ds.v_circ[i:j]``) returns arrays; multi-shard
        files are transparent.
    v_disc, v_halo : CheckedDataset or None
        Components (None when the file has none).
    has_params : bool
        Whether ``/params`` is stored.
    labels : list of str
        String identifier columns stored beside the parameters (``name``);
        included in :attr:`params`.
    attrs : dict
        Root attributes as Python values: ``format``, ``schema_version``,
        ``rotcurve_version``, ``n_curves``, ``n_radii``, ``G``, ``H0``,
        ``Delta``, ``seed`` (None when absent), ``prior`` and ``radii_spec``
        (decoded from JSON; None when not applicable), ``shards`` (list, master
        files only) and the writer's extras.
    shards : list of dict
        For a multi-shard master file: ``file`` (relative to the master's
        folder), ``rows``, ``bytes`` of each shard; empty otherwise.
    """

    def __init__(self, path: str | Path) -> None:
        import h5py

        self.path = Path(path)
        self._file = None
        self._params_df = None
        if not self.path.exists():
            raise DataError(f"{self.path}: no such file; check the path")
        if self.path.is_dir():
            raise DataError(f"{self.path} is a folder, not a rotcurve file")
        try:
            is_hdf5 = h5py.is_hdf5(self.path)
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read it ({exc.strerror or exc})") from None
        if not is_hdf5 and self.path.stat().st_size == 0:
            raise DataError(f"{self.path} is empty (an interrupted write?); {_REGENERATE}")
        if not is_hdf5:
            raise DataError(f"{self.path} is not an HDF5 file; {_MAKE_ONE}")
        try:
            self._file = h5py.File(self.path, "r", rdcc_nbytes=4 * CHUNK_BYTES)
        except OSError as exc:
            raise _corrupt(self.path, f"HDF5 cannot open it: {first_line(exc)}") from None
        try:
            self._validate()
        except BaseException:
            self.close()
            raise

    # -- validation ----------------------------------------------------------------
    def _validate(self) -> None:
        f = self._file
        path = self.path
        try:
            raw = {name: _plain(f.attrs[name]) for name in f.attrs}
        except OSError as exc:
            raise _corrupt(path, f"unreadable attributes: {first_line(exc)}") from None
        if "format" not in raw:
            raise DataError(f"{path} is not a rotcurve dataset (no 'format' attribute); {_MAKE_ONE}")
        if raw["format"] != FORMAT_NAME:
            raise DataError(
                f"{path} is not a rotcurve dataset (format = {raw['format']!r}); {_MAKE_ONE}"
            )
        version = raw.get("schema_version")
        if not is_int(version, numpy=False) or version < 1:
            raise _corrupt(path, f"invalid schema_version {version!r}")
        if version > SCHEMA_VERSION:
            raise DataError(
                f"{path} was written by a newer rotcurve "
                f"(schema {version} > {SCHEMA_VERSION}); upgrade rotcurve"
            )
        self.attrs = self._decode_attrs(raw)
        try:
            if "radii" not in f or "v_circ" not in f:
                missing = [name for name in ("radii", "v_circ") if name not in f]
                raise _corrupt(path, f"no /{missing[0]} dataset")
            self.radii = np.asarray(f["radii"][...], dtype=np.float64)
            self.v_circ = CheckedDataset(f["v_circ"], path)
            self.v_disc = CheckedDataset(f["v_disc"], path) if "v_disc" in f else None
            self.v_halo = CheckedDataset(f["v_halo"], path) if "v_halo" in f else None
            self.has_params = "params" in f
            params_group = f["params"] if self.has_params else None
        except OSError as exc:
            raise _corrupt(path, first_line(exc)) from None
        n = self.attrs.get("n_curves")
        n_r = self.attrs.get("n_radii")
        if not isinstance(n, int) or not isinstance(n_r, int):
            raise _corrupt(path, "no n_curves / n_radii attributes")
        if self.radii.shape != (n_r,):
            raise _corrupt(path, f"/radii has shape {self.radii.shape}, expected ({n_r},)")
        if n_r > 0 and (
            not np.all(np.isfinite(self.radii))
            or np.any(self.radii <= 0)
            or np.any(np.diff(self.radii) <= 0)
        ):
            raise _corrupt(path, "/radii is not positive and strictly increasing")
        for name in CURVE_NAMES:
            d = getattr(self, name)
            if d is not None and d.shape != (n, n_r):
                raise _corrupt(path, f"/{name} has shape {d.shape}, expected ({n}, {n_r})")
        if (self.v_disc is None) != (self.v_halo is None):
            raise _corrupt(path, "only one of /v_disc and /v_halo is present")
        if params_group is not None:
            for name in PARAM_NAMES:
                if name not in params_group:
                    raise _corrupt(path, f"no /params/{name} dataset")
                shape = params_group[name].shape
                if shape != (n,):
                    raise _corrupt(path, f"/params/{name} has shape {shape}, expected ({n},)")
        self.labels = self._label_names(params_group)
        self.n = n
        self.n_radii = n_r
        self.shards = list(self.attrs.get("shards") or [])
        if self.shards:
            self._validate_shards()
        if self.attrs.get("curves_finite") is not True and 0 < n * n_r <= SCAN_VALUES:
            self._scan_finite("v_circ")

    def _label_names(self, group: Any) -> list[str]:
        """String datasets of ``/params`` (identifier columns such as ``name``)."""
        import h5py

        if group is None:
            return []
        out = []
        try:
            for name in group:
                if name in PARAM_NAMES:
                    continue
                d = group[name]
                if isinstance(d, h5py.Dataset) and h5py.check_string_dtype(d.dtype) and d.shape == (
                    self.attrs.get("n_curves"),
                ):
                    out.append(name)
        except OSError as exc:
            raise _corrupt(self.path, first_line(exc)) from None
        return sorted(out)

    def _scan_finite(self, name: str, block_rows: int = 65536) -> None:
        """DataError when dataset ``name`` holds a value that is not finite."""
        d = getattr(self, name)
        for start in range(0, self.n, block_rows):
            try:
                block = np.asarray(d[start : start + block_rows])
            except OSError as exc:
                raise _corrupt(self.path, first_line(exc)) from None
            if not np.isfinite(block.sum(dtype=np.float64)):
                bad = np.argwhere(~np.isfinite(block))
                if bad.size:
                    i, j = int(bad[0][0]), int(bad[0][1])
                    raise DataError(
                        f"{self.path}: /{name} row {start + i} is {block[i, j]} at r = "
                        f"{float(self.radii[j]):g} kpc; the curves must be finite (the file was "
                        f"changed, or not written by rotcurve); {_REGENERATE}"
                    )

    def verify(self, *, block_rows: int = 65536) -> None:
        """Read every dataset through, checking checksums and that the curves are finite.

        Parameters
        ----------
        block_rows : int, keyword-only
            Rows read at a time (memory is bounded by the block).

        Raises
        ------
        DataError
            A chunk fails its Fletcher-32 checksum or cannot be decompressed
            (the file was damaged), or a curve value is NaN/inf.
        """
        for name in CURVE_NAMES:
            if getattr(self, name) is not None:
                self._scan_finite(name, block_rows)
        if self.has_params:
            g = self._file["params"]
            for name in [*PARAM_NAMES, *self.labels]:
                for start in range(0, self.n, block_rows):
                    try:
                        g[name][start : start + block_rows]
                    except OSError as exc:
                        raise _corrupt(self.path, f"/params/{name}: {first_line(exc)}") from None

    def _decode_attrs(self, raw: dict[str, Any]) -> dict[str, Any]:
        attrs = dict(raw)
        json_names = ["prior", "radii_spec", "shards"]
        if "json_attrs" in attrs:
            try:
                json_names += list(json.loads(attrs.pop("json_attrs")))
            except (TypeError, ValueError):
                raise _corrupt(self.path, "malformed json_attrs attribute") from None
        for name in json_names:
            if name in attrs:
                try:
                    attrs[name] = json.loads(attrs[name])
                except (TypeError, ValueError):
                    raise _corrupt(self.path, f"attribute {name!r} is not valid JSON") from None
        attrs.setdefault("seed", None)
        attrs.setdefault("prior", None)
        attrs.setdefault("radii_spec", None)
        return attrs

    def _validate_shards(self) -> None:
        folder = self.path.parent
        total = 0
        for i, info in enumerate(self.shards):
            try:
                name, rows, size = info["file"], int(info["rows"]), int(info["bytes"])
            except (KeyError, TypeError, ValueError):
                raise _corrupt(self.path, f"malformed shard list entry {i}") from None
            shard = folder / name
            if not shard.is_file():
                raise _corrupt(self.path, f"shard {name} is missing")
            actual = shard.stat().st_size
            if actual != size:
                raise _corrupt(
                    self.path, f"shard {name} has {actual} bytes, expected {size}; it was changed"
                )
            try:
                with Dataset(shard) as sub:
                    if sub.n != rows:
                        raise _corrupt(self.path, f"shard {name} has {sub.n} rows, expected {rows}")
                    if sub.shards:
                        raise _corrupt(self.path, f"shard {name} is itself a master file")
                    if sub.radii.shape != self.radii.shape or not np.array_equal(sub.radii, self.radii):
                        raise _corrupt(self.path, f"shard {name} has different radii")
            except DataError as exc:
                if str(exc).startswith(str(self.path)):
                    raise
                raise _corrupt(self.path, f"shard {name}: {exc}") from None
            total += rows
        if total != self.n:
            raise _corrupt(self.path, f"shards hold {total} rows, expected {self.n}")

    # -- reading -------------------------------------------------------------------
    @property
    def is_virtual(self) -> bool:
        """Whether this is a multi-shard master file."""
        return bool(self.shards)

    @property
    def params(self) -> Any:
        """The true parameters as a DataFrame, or None.

        Columns Md, Rd, Mh, c (float64), then the file's string identifier
        columns (such as ``name``, str), if any.
        """
        if not self.has_params:
            return None
        if self._params_df is None:
            import pandas as pd

            g = self._file["params"]
            try:
                data: dict[str, Any] = {
                    name: np.asarray(g[name][...], dtype=np.float64) for name in PARAM_NAMES
                }
                for name in self.labels:
                    data[name] = g[name].asstr()[...]
            except OSError as exc:
                raise _corrupt(self.path, first_line(exc)) from None
            self._params_df = pd.DataFrame(data, columns=[*PARAM_NAMES, *self.labels])
        return self._params_df

    def read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` of a curve dataset (``v_circ``, ``v_disc``, ``v_halo``).

        Returns
        -------
        ndarray, shape (stop - start, n_r)
            In the stored dtype; km/s.

        Raises
        ------
        DataError
            When the dataset is absent or HDF5 reports damage.
        """
        if name not in CURVE_NAMES:
            raise DataError(f"unknown curve dataset {name!r}; use one of {', '.join(CURVE_NAMES)}")
        d = getattr(self, name)
        if d is None:
            raise DataError(f"{self.path} has no /{name} (it was written without components)")
        try:
            return d[start:stop]
        except OSError as exc:
            raise _corrupt(self.path, first_line(exc)) from None

    def iter_blocks(
        self, block_rows: int = 65536, *, components: bool = False
    ) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
        """Iterate over row blocks: ``(start, stop, {"v_circ": ..., ...})``.

        Parameters
        ----------
        block_rows : int
            Rows per block (the last block may be shorter).
        components : bool, keyword-only
            Include ``v_disc`` and ``v_halo`` (DataError if absent).
        """
        if block_rows < 1:
            raise DataError(f"block_rows must be >= 1, got {block_rows}")
        names = CURVE_NAMES if components else CURVE_NAMES[:1]
        for start in range(0, self.n, block_rows):
            stop = min(self.n, start + block_rows)
            yield start, stop, {name: self.read(name, start, stop) for name in names}

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        parts = [f"{self.path}", f"n={getattr(self, 'n', '?')}", f"n_radii={getattr(self, 'n_radii', '?')}"]
        if getattr(self, "shards", None):
            parts.append(f"shards={len(self.shards)}")
        return f"<rotcurve.io.Dataset {' '.join(parts)}>"


def open_dataset(path: str | Path) -> Dataset:
    """Open and validate a rotcurve file (a context manager).

    Parameters
    ----------
    path : str or Path
        A rotcurve file, single or multi-shard master.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        Missing, foreign, newer-schema, truncated or corrupted files (the
        message says which and what to do).

    Examples
    --------
    >>> with open_dataset("curves.h5") as ds:        # doctest: +SKIP
    ...     first = ds.v_circ[:1000]                # (1000, n_r) km/s
    """
    return Dataset(path)


def read_dataset(path: str | Path, *, components: bool = False) -> CurveData:
    """Read a rotcurve file into memory.

    Parameters
    ----------
    path : str or Path
        A rotcurve file.
    components : bool, keyword-only
        Also read ``v_disc`` and ``v_halo`` (DataError if the file has none).

    Returns
    -------
    CurveData
    """
    with open_dataset(path) as ds:
        v_circ = ds.read("v_circ")
        v_disc = ds.read("v_disc") if components else None
        v_halo = ds.read("v_halo") if components else None
        return CurveData(
            radii=ds.radii,
            v_circ=v_circ,
            v_disc=v_disc,
            v_halo=v_halo,
            params=ds.params,
            attrs=dict(ds.attrs),
        )
