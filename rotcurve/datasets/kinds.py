"""Kinds of data: rotation curves and MNIST images, one :class:`DataKind` each.

Curves versus MNIST is the axis along which training, runs and reports
vary.  Everything that differs lives here, as hooks of a small base class
(emcee-moves style: :class:`DataKind` does the shared work, the members
:class:`CurveKind` and :class:`MnistKind` supply the hooks), so that call
sites ask the kind instead of testing ``kind == "mnist"``::

    from rotcurve.datasets.kinds import kind_for_spec, kind_named
    kind = kind_for_spec("mnist:data/mnist")     # the kind of a --data spec
    kind = kind_named(run.kind)                  # the kind a run was trained on

The hooks (for rotcurve.run, rotcurve.reports, training and the CLI)
--------------------------------------------------------------------
Registry
    ``DATA_KINDS`` (name -> class), ``kind_for_spec(spec)``, ``kind_named(name)``.
Names for messages (class attributes)
    ``name`` ("curves", "mnist"), ``noun`` ("curves", "images"), ``held``
    (what such data hold: "rotation curves", "images"), ``trained_on``
    ("rotation curves", "MNIST images"), ``spec_hint`` ("a curve file",
    "mnist:DIR"), ``noun_in_units`` ("curves (km/s)", "images"),
    ``source_noun`` ("file", "folder").
Capabilities (class attributes)
    ``file_format``: the format examples of the kind are written in
    (``"rotcurve"``, the curve files of :mod:`rotcurve.io`, or
    :data:`IMAGES_FORMAT`); ``default_split``: what is encoded when no split
    is given (every row of a curve file; MNIST's test split);
    ``can_download``; ``claims_the_rest`` (the kind of every spec no other
    kind matches: curve files).
Specs
    ``matches(spec)`` (does a ``--data`` spec belong to this kind),
    ``source(spec)`` (the file or folder), ``exists(spec)``,
    ``normalise_spec(spec)`` (the absolute form saved in a run),
    ``recorded_spec(spec)`` (the form written into output files),
    ``fingerprint(spec)`` (a short content hash; None for MNIST),
    ``check_spec(spec)`` (refuse data of another kind, one line),
    ``check_whole(spec)`` / ``read_all(spec, normaliser=)`` (every example of
    a file), ``download(spec)``.
Reading a split
    ``open(spec, record=, normaliser=)`` -> :class:`DataSet`, whose
    ``same_as_training``, ``rows(split)``, ``read({split: rows})``,
    ``blocks(split)``, ``rows_note(split)`` serve scoring, encoding, the
    latent aggregates and reports alike; :func:`read_curve_rows` reads rows of
    a curve file.  ``MnistKind.read_splits`` is MNIST's split layout (also
    used by :func:`~rotcurve.datasets.training.load_training_data`).
Physical units <-> model space
    ``as_array(data)`` (Quantities converted), ``model_input(data,
    normaliser=, input_dim=)`` (-> normalised float32 ``(N, D)``),
    ``to_physical(x, normaliser=, shape=, what=)`` (-> km/s or pixels, checked
    with ``check_output(values, what=)``: never a silent ``inf`` or 0 km/s).
Scores
    ``extra_metrics()``: an accumulator of the kind's own metrics
    (``update(truth, recon)``, ``result()``), or None.

The held-out examples of a run, for example (what a report analyses)::

    kind = run.data_kind                         # kind_named(run.kind)
    spec = kind.check_spec(data)                 # DataError for data of another kind
    data_set = kind.open(spec, record=run.data, normaliser=run.normaliser)
    split = "test" if data_set.same_as_training else "all"
    rows = data_set.rows(split)                  # then subsample as you like
    examples = data_set.read({split: rows}, params=True)[split]   # .x, .params, .labels

This module imports neither torch nor h5py at import time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rotcurve.datasets.mnist import MNIST_FILES, download_mnist, find_mnist_files, load_mnist
from rotcurve.datasets.splits import SPLITS, check_fractions, split_indices
from rotcurve.errors import DOWNLOAD, ConfigError, DataError
from rotcurve.io.read import open_dataset
from rotcurve.units import to_value

__all__ = [
    "DataKind",
    "CurveKind",
    "MnistKind",
    "DATA_KINDS",
    "kind_for_spec",
    "kind_named",
    "data_fingerprint",
    "DataSet",
    "Examples",
    "Block",
    "MnistSplits",
    "read_curve_rows",
    "CURVE_FORMAT",
    "IMAGES_FORMAT",
    "SPEED_OF_LIGHT_KMS",
    "BLOCK_ROWS",
]

#: ``format`` of the curve files of :mod:`rotcurve.io` (what curve runs write).
CURVE_FORMAT: str = "rotcurve"
#: ``format`` attribute of the image files written for MNIST runs (``/images``).
IMAGES_FORMAT: str = "rotcurve-images"
#: Speed of light in km/s: a decoded circular velocity must stay below it.
SPEED_OF_LIGHT_KMS: float = 299792.458
#: Rows per block when a curve file is read in blocks.
BLOCK_ROWS: int = 65536


# ----------------------------------------------------------------- read results
@dataclasses.dataclass
class Examples:
    """Examples read from a data set (:meth:`DataSet.read`).

    Attributes
    ----------
    x : ndarray, shape (N, D)
        Physical units: float64 km/s for curves, float32 pixels in [0, 1]
        (flattened) for images.
    params : pandas.DataFrame or None
        True parameters (Md, Rd, Mh, c) when asked for and present, index 0..N-1.
    labels : ndarray of int64 or None
        Digit labels (MNIST).
    """

    x: np.ndarray
    params: Any = None
    labels: np.ndarray | None = None


@dataclasses.dataclass
class Block:
    """One block of a split (:meth:`DataSet.blocks`).

    Attributes
    ----------
    start : int
        Position of the block's first example in the split.
    x : ndarray, shape (b, D)
        Physical units, as stored (float32 km/s for curve files).
    params : pandas.DataFrame or None
        The block's true parameters, when asked for and present.
    labels : ndarray of int64 or None
        The block's digit labels (MNIST).
    """

    start: int
    x: np.ndarray
    params: Any = None
    labels: np.ndarray | None = None


class DataSet:
    """Data of one kind opened for a run: its rows, split as the run split them.

    Made by :meth:`DataKind.open`.

    Attributes
    ----------
    kind : DataKind
    spec : str
        The spec as given.
    n_total : int
        Examples in the source.
    same_as_training : bool
        The run's own training data, so the run's split applies (always for
        MNIST; for curves: the same file, by fingerprint and size).
    radii : ndarray or None
        kpc (curves).
    has_params, has_labels : bool
    """

    kind: DataKind
    spec: str
    n_total: int
    same_as_training: bool
    radii: np.ndarray | None = None
    has_params: bool = False
    has_labels: bool = False

    def rows(self, split: str) -> np.ndarray:
        """Sorted int64 rows of ``split`` ("train", "val", "test"; "all" for every row of a file)."""
        raise NotImplementedError

    def rows_note(self, split: str) -> str:
        """What the rows of ``split`` index (the ``description`` of a latents file's ``/rows``)."""
        raise NotImplementedError

    def read(self, wanted: Mapping[str, np.ndarray], *, params: bool = False) -> dict[str, Examples]:
        """The examples at sorted ``rows`` of each ``split`` in ``wanted`` (one pass)."""
        raise NotImplementedError

    def blocks(self, split: str, *, block_rows: int = BLOCK_ROWS, params: bool = False) -> Iterator[Block]:
        """Every example of ``split`` in blocks of at most ``block_rows`` (bounded memory for curves)."""
        raise NotImplementedError


# ------------------------------------------------------------------ the base class
class DataKind:
    """A kind of data: what differs between rotation curves and MNIST.

    The base class does the shared work (refusing data of another kind,
    checking decoded output, reading a whole file); members supply the
    hooks listed in the module docstring.  Instances are stateless; get them
    with :func:`kind_for_spec` or :func:`kind_named`.
    """

    name: ClassVar[str] = ""
    noun: ClassVar[str] = ""
    held: ClassVar[str] = ""
    trained_on: ClassVar[str] = ""
    spec_hint: ClassVar[str] = ""
    noun_in_units: ClassVar[str] = ""
    source_noun: ClassVar[str] = "file"
    file_format: ClassVar[str] = ""
    default_split: ClassVar[str] = "test"
    can_download: ClassVar[bool] = False
    #: True for the one kind that takes every spec no other kind claims (curve files).
    claims_the_rest: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    # ---------------------------------------------------------------- specs
    def matches(self, spec: str | os.PathLike[str]) -> bool:
        """True when a ``--data`` spec names data of this kind."""
        raise NotImplementedError

    def source(self, spec: str | os.PathLike[str]) -> Path:
        """The file or folder ``spec`` names (:class:`ConfigError` when it names none)."""
        raise NotImplementedError

    def exists(self, spec: str | os.PathLike[str]) -> bool:
        """True when the file or folder ``spec`` names is there."""
        raise NotImplementedError

    def normalise_spec(self, spec: str | os.PathLike[str]) -> str:
        """``spec`` in the form saved in a run (absolute paths)."""
        raise NotImplementedError

    def recorded_spec(self, spec: str | os.PathLike[str]) -> str:
        """``spec`` in the form written into the files made from it."""
        return os.fspath(spec)

    def fingerprint(self, spec: str | os.PathLike[str]) -> str | None:
        """A short hash of the data's contents, or None where the kind has none."""
        return None

    def check_spec(self, spec: str | os.PathLike[str], *, hint: str | None = None) -> str:
        """``spec`` as a string, after refusing data of another kind for a run of this kind.

        Raises
        ------
        DataError
            One line: ``"X holds images but the run was trained on
            rotation curves; use a curve file"`` (``hint`` replaces the advice).
        """
        text = os.fspath(spec)
        other = kind_for_spec(text)
        if other != self:
            advice = hint or f"use {self.spec_hint}"
            raise DataError(f"{text} holds {other.held} but the run was trained on {self.trained_on}; {advice}")
        return text

    def check_whole(self, spec: str) -> None:
        """Refuse a spec whose examples cannot be read as one whole file (hook; default: fine)."""

    def read_all(self, spec: str | os.PathLike[str], *, normaliser: Any) -> np.ndarray:
        """Every example of the file ``spec``, in physical units, for a run of this kind.

        The spec's own kind may refuse to be read whole (MNIST is a folder
        the run splits); data of another kind are refused; curves must be on
        the normaliser's radius grid.
        """
        text = os.fspath(spec)
        kind_for_spec(text).check_whole(text)
        self.check_spec(text, hint=f"give {self.noun}")
        return self._read_all(text, normaliser=normaliser)

    def _read_all(self, spec: str, *, normaliser: Any) -> np.ndarray:
        raise NotImplementedError

    def download(self, spec: str | os.PathLike[str], *, progress: bool = False) -> Any:
        """Fetch the data into the place ``spec`` names (only where ``can_download``)."""
        raise ConfigError(f"{self.name} data cannot be downloaded; give {self.spec_hint} that exists")

    def open(self, spec: str | os.PathLike[str], *, record: Mapping[str, Any] | None = None,
             normaliser: Any = None) -> DataSet:
        """Open ``spec`` for a run: ``record`` is the run's data description
        (``seed``, ``fractions``, ``n``, ``fingerprint``); with ``normaliser``
        the data are checked to fit the model (radius grid, image size)."""
        raise NotImplementedError

    # ------------------------------------------------------------ physical units
    def as_array(self, data: Any) -> np.ndarray:
        """``data`` as a numpy array in the kind's physical units (Quantities converted)."""
        return np.asarray(data)

    def model_input(self, data: Any, *, normaliser: Any, input_dim: int) -> np.ndarray:
        """Physical-unit data -> the model's normalised float32 ``(N, input_dim)``."""
        raise NotImplementedError

    def to_physical(self, x: np.ndarray, *, normaliser: Any, shape: tuple[int, ...] | None = None,
                    what: str = "decoded") -> np.ndarray:
        """Model space ``(N, D)`` -> physical units, checked by :meth:`check_output`.

        ``what`` names the examples in the message ("decoded", "sampled",
        "reconstructed"); ``shape`` is the shape of one image.
        """
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            values = self._from_model(np.asarray(x), normaliser)
            self.check_output(values, what=what)
        return self._finish(values, shape)

    def _from_model(self, x: np.ndarray, normaliser: Any) -> np.ndarray:
        raise NotImplementedError

    def _finish(self, values: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
        return values

    def check_output(self, values: np.ndarray, *, what: str = "decoded") -> None:
        """Raise a one-line :class:`DataError` (how many rows) for unusable decoded output."""
        raise NotImplementedError

    def extra_metrics(self) -> Any:
        """An accumulator of this kind's own score metrics, or None (none beyond the ELBO)."""
        return None


# ------------------------------------------------------------------------ curves
def read_curve_rows(
    spec: str | os.PathLike[str], rows: np.ndarray | None, *, params: bool = False
) -> tuple[np.ndarray, Any]:
    """Curves (float64 km/s) and, with ``params``, the parameter DataFrame (or None) of sorted ``rows``.

    Parameters
    ----------
    spec : path
        A rotcurve curve file.
    rows : ndarray of int or None
        Sorted rows to read; None reads every row.
    params : bool, keyword-only
        Also return the true parameters of the rows (index 0..N-1), or None
        when the file has none.

    Returns
    -------
    (ndarray (N, n_r) float64, DataFrame or None)
    """
    parts: list[np.ndarray] = []
    with open_dataset(os.fspath(spec)) as ds:
        n_r = len(ds.radii)
        for start, stop, block in ds.iter_blocks(BLOCK_ROWS):
            v = block["v_circ"]
            if rows is not None:
                lo, hi = np.searchsorted(rows, [start, stop])
                v = v[rows[lo:hi] - start]
            parts.append(np.asarray(v, dtype=np.float64))
        frame = None
        if params and ds.has_params:
            frame = ds.params if rows is None else ds.params.iloc[rows]
            frame = frame.reset_index(drop=True)
    v = np.concatenate(parts) if parts else np.zeros((0, n_r))
    return v, frame


class _CurveErrors:
    """Score metrics of curves: fractional errors and RMS in km/s of reconstructions."""

    def __init__(self) -> None:
        self.sq_err = 0.0
        self.frac: list[np.ndarray] = []
        self.curve_max: list[np.ndarray] = []

    def update(self, truth: np.ndarray, recon: np.ndarray) -> None:
        """Add a batch: ``truth`` and ``recon`` in km/s, shape (b, n_r)."""
        v = np.asarray(truth, dtype=np.float64).reshape(len(recon), -1)
        err = recon - v
        self.sq_err += float(np.sum(err * err))
        frac = np.abs(err) / v
        self.frac.append(frac.astype(np.float32).ravel())
        self.curve_max.append(frac.max(axis=1) if frac.shape[1] else np.zeros(len(frac)))

    def result(self) -> dict[str, float]:
        """``median_frac_error``, ``p95_frac_error``, ``mean_frac_error``, ``rms_kms``, and the tails:
        ``p99_max_frac_error`` (99th percentile over curves of each curve's largest fractional
        error) and ``max_frac_error`` (the worst point of the worst curve)."""
        f = np.concatenate(self.frac)
        m = np.concatenate(self.curve_max)
        return {
            "median_frac_error": float(np.median(f)),
            "p95_frac_error": float(np.quantile(f, 0.95)),
            "mean_frac_error": float(np.mean(f, dtype=np.float64)),
            "rms_kms": math.sqrt(self.sq_err / f.size),
            "p99_max_frac_error": float(np.quantile(m, 0.99)),
            "max_frac_error": float(np.max(m)),
        }


class _CurveDataSet(DataSet):
    def __init__(self, spec: str, record: Mapping[str, Any] | None, normaliser: Any) -> None:
        self.kind = CurveKind()
        self.spec = spec
        self.record = dict(record or {})
        with open_dataset(spec) as ds:
            if normaliser is not None:
                normaliser.check_compatible(ds.radii, source=spec)
            self.n_total, self.radii, self.has_params = ds.n, np.asarray(ds.radii), ds.has_params
        self.same_as_training = (
            record is not None
            and self.n_total == int(self.record.get("n", -1))
            and self.kind.fingerprint(spec) == self.record.get("fingerprint")
        )

    def rows(self, split: str) -> np.ndarray:
        if split == "all":
            return np.arange(self.n_total, dtype=np.int64)
        seed, fractions = int(self.record["seed"]), tuple(self.record["fractions"])
        return split_indices(self.n_total, seed, fractions)[split]

    def rows_note(self, split: str) -> str:
        return "row of each curve in the source file"

    def read(self, wanted: Mapping[str, np.ndarray], *, params: bool = False) -> dict[str, Examples]:
        both = np.unique(np.concatenate([np.asarray(r, dtype=np.int64) for r in wanted.values()] or [[]]))
        v, frame = read_curve_rows(self.spec, both.astype(np.int64), params=params)
        out = {}
        for split, rows in wanted.items():
            at = np.searchsorted(both, rows)
            part = None if frame is None else frame.iloc[at].reset_index(drop=True)
            out[split] = Examples(x=v[at], params=part)
        return out

    def blocks(self, split: str, *, block_rows: int = BLOCK_ROWS, params: bool = False) -> Iterator[Block]:
        picked = None if split == "all" else self.rows(split)
        done = 0
        with open_dataset(self.spec) as ds:
            frame = ds.params if params and ds.has_params else None
            for start, stop, block in ds.iter_blocks(block_rows):
                v = block["v_circ"]
                sel = np.arange(start, stop)
                if picked is not None:
                    lo, hi = np.searchsorted(picked, [start, stop])
                    sel = picked[lo:hi]
                    v = v[sel - start]
                if len(sel):
                    yield Block(done, v, None if frame is None else frame.iloc[sel])
                    done += len(sel)


class CurveKind(DataKind):
    """Rotation curves in rotcurve HDF5 files: km/s on a radius grid, ``log10 v`` standardised."""

    name = "curves"
    noun = "curves"
    held = "rotation curves"
    trained_on = "rotation curves"
    spec_hint = "a curve file"
    noun_in_units = "curves (km/s)"
    source_noun = "file"
    file_format = CURVE_FORMAT
    default_split = "all"
    claims_the_rest = True

    def matches(self, spec: str | os.PathLike[str]) -> bool:
        """Any spec that no other kind claims is a curve file."""
        text = os.fspath(spec)
        return not any(k().matches(text) for k in DATA_KINDS.values() if not k.claims_the_rest)

    def source(self, spec: str | os.PathLike[str]) -> Path:
        return Path(os.fspath(spec))

    def exists(self, spec: str | os.PathLike[str]) -> bool:
        text = os.fspath(spec)
        return bool(text) and Path(text).is_file()

    def normalise_spec(self, spec: str | os.PathLike[str]) -> str:
        return str(Path(os.fspath(spec)).expanduser().resolve())

    def recorded_spec(self, spec: str | os.PathLike[str]) -> str:
        return str(Path(os.fspath(spec)).resolve())

    def fingerprint(self, spec: str | os.PathLike[str]) -> str | None:
        """A short hash identifying a curve file's contents.

        It covers the number of curves, the radius grid and the first and
        last eight curves, so it is cheap for any file size and changes when
        the file is regenerated with another seed, size, prior or grid.

        Raises
        ------
        DataError
            When the file cannot be opened as a rotcurve file.
        """
        with open_dataset(os.fspath(spec)) as ds:
            h = hashlib.sha256()
            h.update(np.int64(ds.n).tobytes())
            h.update(np.ascontiguousarray(ds.radii, dtype=np.float64).tobytes())
            k = min(8, ds.n)
            if k:
                h.update(np.ascontiguousarray(ds.v_circ[:k], dtype=np.float64).tobytes())
                h.update(np.ascontiguousarray(ds.v_circ[ds.n - k :], dtype=np.float64).tobytes())
        return h.hexdigest()[:32]

    def _read_all(self, spec: str, *, normaliser: Any) -> np.ndarray:
        with open_dataset(spec) as ds:
            normaliser.check_compatible(ds.radii, source=spec)
            parts = [np.asarray(block["v_circ"], dtype=np.float64) for _, _, block in ds.iter_blocks(BLOCK_ROWS)]
            n_r = len(ds.radii)
        return np.concatenate(parts) if parts else np.zeros((0, n_r))

    def open(self, spec: str | os.PathLike[str], *, record: Mapping[str, Any] | None = None,
             normaliser: Any = None) -> DataSet:
        return _CurveDataSet(os.fspath(spec), record, normaliser)

    def as_array(self, data: Any) -> np.ndarray:
        return np.asarray(to_value(data, "km/s", "curves"))

    def model_input(self, data: Any, *, normaliser: Any, input_dim: int) -> np.ndarray:
        arr = self.as_array(data)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != input_dim:
            radii = normaliser.radii
            raise DataError(
                f"curves of shape {arr.shape} do not fit the model's {input_dim} radii "
                f"({radii[0]:g} to {radii[-1]:g} kpc); give (N, {input_dim}) velocities in km/s"
            )
        return np.asarray(normaliser.transform(arr.astype(np.float64)), dtype=np.float32)

    def _from_model(self, x: np.ndarray, normaliser: Any) -> np.ndarray:
        return np.asarray(normaliser.inverse(x.astype(np.float64)), dtype=np.float64)

    def check_output(self, values: np.ndarray, *, what: str = "decoded") -> None:
        """Velocities must be finite, > 0 (no underflow to 0 km/s) and below the speed of light."""
        n = len(values)
        with np.errstate(invalid="ignore"):
            bad = ~((values > 0.0) & (values < SPEED_OF_LIGHT_KMS)).all(axis=1)  # NaN fails both
        if bad.any():
            rows = values[bad]
            span = (
                f"here {np.nanmin(rows):.3g} to {np.nanmax(rows):.3g} km/s"
                if not np.isnan(rows).all()
                else "here NaN"
            )
            raise DataError(
                f"{int(bad.sum())} of {n} {what} curves leave the physical range (every velocity must "
                f"be finite, > 0 and below the speed of light, {SPEED_OF_LIGHT_KMS:.0f} km/s; {span}); "
                "the latent points are far from where the model was trained"
            )

    def extra_metrics(self) -> _CurveErrors:
        """Fractional errors and RMS (km/s) of reconstructions from the posterior mean."""
        return _CurveErrors()


# ------------------------------------------------------------------------- MNIST
@dataclasses.dataclass
class MnistSplits:
    """MNIST read from a folder and split as a run splits it (:meth:`MnistKind.read_splits`).

    Attributes
    ----------
    images : dict of split -> ndarray (n, 28, 28) float32 in [0, 1]
    labels : dict of split -> ndarray (n,) int64
    indices : dict of split -> sorted int64 rows in the split's source files
    sources : dict of split -> "train" or "t10k" (which IDX files the rows index)
    layout : str
        ``"train+t10k"``, ``"train-only"`` or ``"t10k-only"``.
    note : str
    n_total : int
        Images found.
    """

    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    indices: dict[str, np.ndarray]
    sources: dict[str, str]
    layout: str
    note: str
    n_total: int

    @property
    def image_shape(self) -> list[int]:
        """Shape of one image."""
        return list(self.images["train"].shape[1:])

    @property
    def dim(self) -> int:
        """Pixels per image."""
        return int(np.prod(self.image_shape))


class _MnistDataSet(DataSet):
    def __init__(self, spec: str, splits: MnistSplits) -> None:
        self.kind = MnistKind()
        self.spec = spec
        self.splits = splits
        self.n_total = splits.n_total
        self.same_as_training = True
        self.has_labels = True

    def rows(self, split: str) -> np.ndarray:
        if split not in SPLITS:
            raise ConfigError(f"MNIST is read by split; choose one of: {', '.join(SPLITS)}")
        return np.asarray(self.splits.indices[split], dtype=np.int64)

    def rows_note(self, split: str) -> str:
        return f"row of each image in the {self.splits.sources.get(split, 'MNIST')}-* IDX files"

    def _flat(self, split: str) -> np.ndarray:
        images = self.splits.images[split]
        return np.ascontiguousarray(images.reshape(len(images), self.splits.dim))

    def read(self, wanted: Mapping[str, np.ndarray], *, params: bool = False) -> dict[str, Examples]:
        out = {}
        for split, rows in wanted.items():
            at = np.searchsorted(self.rows(split), rows)
            out[split] = Examples(x=self._flat(split)[at], labels=self.splits.labels[split][at])
        return out

    def blocks(self, split: str, *, block_rows: int = BLOCK_ROWS, params: bool = False) -> Iterator[Block]:
        x, labels = self._flat(split), self.splits.labels[split]
        for start in range(0, len(x), block_rows):
            yield Block(start, x[start : start + block_rows], None, labels[start : start + block_rows])


class MnistKind(DataKind):
    """MNIST digits (``"mnist:DIR"``, a folder of IDX files): 28 x 28 pixels in [0, 1]."""

    name = "mnist"
    noun = "images"
    held = "images"
    trained_on = "MNIST images"
    spec_hint = "mnist:DIR"
    noun_in_units = "images"
    source_noun = "folder"
    file_format = IMAGES_FORMAT
    default_split = "test"
    can_download = True
    prefix: ClassVar[str] = "mnist:"

    def matches(self, spec: str | os.PathLike[str]) -> bool:
        """``"mnist:DIR"`` (and a bare ``"mnist"``, refused by :meth:`source` with the form to use)."""
        text = os.fspath(spec)
        return text.startswith(self.prefix) or text == "mnist"

    def _directory(self, spec: str | os.PathLike[str]) -> str:
        return os.fspath(spec)[len(self.prefix) :]

    def source(self, spec: str | os.PathLike[str]) -> Path:
        directory = self._directory(spec)
        if not directory:
            raise ConfigError("give the MNIST folder as mnist:DIR (for example mnist:data/mnist)")
        return Path(directory)

    def exists(self, spec: str | os.PathLike[str]) -> bool:
        return bool(self._directory(spec)) and Path(self._directory(spec)).is_dir()

    def normalise_spec(self, spec: str | os.PathLike[str]) -> str:
        directory = self._directory(spec)
        return f"{self.prefix}{Path(directory).expanduser().resolve()}" if directory else os.fspath(spec)

    def check_whole(self, spec: str) -> None:
        raise ConfigError(
            f"{spec}: give MNIST images as an array (rotcurve.datasets.load_mnist), or write the "
            "posteriors of a split with Run.encode_file('mnist:DIR', out, split=...)"
        )

    def download(self, spec: str | os.PathLike[str], *, progress: bool = False) -> Any:
        """Fetch and verify the MNIST files into the folder (:func:`~rotcurve.datasets.mnist.download_mnist`)."""
        return download_mnist(self.source(spec), progress=progress)

    def read_splits(self, directory: str | os.PathLike[str], *, seed: int,
                    fractions: tuple[float, float, float]) -> MnistSplits:
        """Read the MNIST files of a folder and split them.

        With both the ``train-*`` and ``t10k-*`` files, train/val split
        ``train-*`` by ``seed`` in the ratio ``f_train : f_val`` and test is
        ``t10k-*``; with one pair only, its images are split into
        train/val/test by ``seed`` and ``fractions``.

        Raises
        ------
        DataError
            No such folder, or no MNIST files in it.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise DataError.both(
                "{d}: no such folder for MNIST; check the path or use {dl} to fetch the files",
                d=directory, dl=DOWNLOAD,
            )
        found = find_mnist_files(directory)
        have_train = found["train-images"] is not None or found["train-labels"] is not None
        have_test = found["t10k-images"] is not None or found["t10k-labels"] is not None
        if not (have_train or have_test):
            raise DataError.both(
                "{d}: no MNIST files ({names}, raw or .gz); put them there or use {dl}",
                d=directory, names=", ".join(MNIST_FILES.values()), dl=DOWNLOAD,
            )
        images: dict[str, np.ndarray] = {}
        labels: dict[str, np.ndarray] = {}
        if have_train and have_test:
            layout = "train+t10k"
            tr_x, tr_y = load_mnist(directory, "train")
            te_x, te_y = load_mnist(directory, "test")
            f_train, f_val, _ = fractions
            total = f_train + f_val
            idx = split_indices(len(tr_x), seed, (f_train / total, f_val / total, 0.0))
            indices = {"train": idx["train"], "val": idx["val"], "test": np.arange(len(te_x), dtype=np.int64)}
            for name, (x, y) in (("train", (tr_x, tr_y)), ("val", (tr_x, tr_y)), ("test", (te_x, te_y))):
                images[name], labels[name] = x[indices[name]], y[indices[name]]
            note = "train/val split from train-* by seed in the ratio f_train:f_val; test is t10k-*"
            sources = {"train": "train", "val": "train", "test": "t10k"}
            n_total = len(tr_x) + len(te_x)
        else:
            part = "train" if have_train else "test"
            layout = "train-only" if have_train else "t10k-only"
            x, y = load_mnist(directory, part)
            indices = split_indices(len(x), seed, fractions)
            for name in SPLITS:
                images[name], labels[name] = x[indices[name]], y[indices[name]]
            prefix = "train" if have_train else "t10k"
            note = (
                f"only the {prefix}-* files were found; their {len(x)} images were split into "
                "train/val/test by seed"
            )
            sources = dict.fromkeys(SPLITS, prefix)
            n_total = len(x)
        return MnistSplits(images=images, labels=labels, indices=indices, sources=sources,
                           layout=layout, note=note, n_total=int(n_total))

    def open(self, spec: str | os.PathLike[str], *, record: Mapping[str, Any] | None = None,
             normaliser: Any = None) -> DataSet:
        text = os.fspath(spec)
        record = dict(record or {})
        splits = self.read_splits(
            self.source(text),
            seed=int(record.get("seed", 0)),
            fractions=check_fractions(tuple(record.get("fractions", (0.8, 0.1, 0.1)))),
        )
        want = getattr(normaliser, "input_dim", None)
        if want is not None and splits.dim != int(want):
            raise DataError(f"{text} has {splits.dim} pixels per image but the run was trained on {int(want)}")
        return _MnistDataSet(text, splits)

    def model_input(self, data: Any, *, normaliser: Any, input_dim: int) -> np.ndarray:
        arr = self.as_array(data)
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / 255.0
        arr = np.asarray(arr, dtype=np.float32)
        if arr.ndim >= 2 and int(np.prod(arr.shape[1:])) == input_dim:
            arr = arr.reshape(len(arr), input_dim)
        else:
            raise DataError(f"images of shape {arr.shape} do not fit the model's {input_dim} pixels per image")
        if arr.size and not (np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0):
            raise DataError("image pixels must be finite and in [0, 1] (or uint8 0..255)")
        return arr

    def _from_model(self, x: np.ndarray, normaliser: Any) -> np.ndarray:
        return x.astype(np.float32)

    def _finish(self, values: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
        out = np.clip(values, 0.0, 1.0)
        return out.reshape(len(out), *shape) if shape else out

    def check_output(self, values: np.ndarray, *, what: str = "decoded") -> None:
        """Pixels must be finite (they are clipped to [0, 1] afterwards)."""
        n = len(values)
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            raise DataError(
                f"{int(bad.sum())} of {n} {what} images are not finite (NaN or infinite pixels); "
                "the model's output is unusable for these latent points"
            )


# ---------------------------------------------------------------------- registry
#: The data kinds by name (the ``kind`` saved in every run).
DATA_KINDS: dict[str, type[DataKind]] = {
    CurveKind.name: CurveKind,
    MnistKind.name: MnistKind,
}


def kind_named(name: str) -> DataKind:
    """The data kind called ``name`` (``"curves"``, ``"mnist"``).

    Raises
    ------
    ConfigError
        One line naming the known kinds.
    """
    cls = DATA_KINDS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown kind of data {name!r}; known: {', '.join(DATA_KINDS)}")
    return cls()


def kind_for_spec(spec: str | os.PathLike[str]) -> DataKind:
    """The data kind a ``--data`` spec names: ``"mnist:DIR"`` is MNIST, any other path a curve file.

    Raises
    ------
    ConfigError
        One line, for a spec that is not a path or is empty.
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise ConfigError(f"data spec must be a file name or mnist:DIR, got {spec!r}")
    text = os.fspath(spec)
    if not isinstance(text, str) or not text:
        raise ConfigError(f"data spec must be a file name or mnist:DIR, got {spec!r}")
    claimed = [cls for cls in DATA_KINDS.values() if not cls.claims_the_rest and cls().matches(text)]
    rest = [cls for cls in DATA_KINDS.values() if cls.claims_the_rest]
    return (claimed or rest)[0]()


def data_fingerprint(spec: str | os.PathLike[str]) -> str | None:
    """A short hash identifying a curve file's contents (None for MNIST).

    It covers the number of curves, the radius grid and the first and last
    eight curves, so it is cheap for any file size and changes when the file
    is regenerated with another seed, size, prior or grid (see
    :meth:`DataKind.fingerprint`).

    Raises
    ------
    DataError
        When the file cannot be opened as a rotcurve file.
    """
    return kind_for_spec(spec).fingerprint(spec)
