"""Training data for the models: a curve file or MNIST, split, normalised, on a device.

>>> data = load_training_data("curves.h5", seed=0, device="cuda")   # doctest: +SKIP
>>> data.train.shape, data.input_dim          # (n_train, n_r) float32 on the GPU
>>> for x in data.batches("train", 512, epoch=3):   # same call when streaming
...     ...
>>> v_kms = data.normaliser.inverse(model_output)

Curves: each row is ``log10 v`` standardised per radius with statistics of the
training split (:class:`~rotcurve.datasets.normaliser.CurveNormaliser`).  When
the whole set fits (see :mod:`rotcurve.datasets.free_memory`) it is read in one pass
and put on the device once; otherwise the splits are
:class:`~rotcurve.datasets.streaming.StreamingSplit` objects that read the
file in blocks.  MNIST (``"mnist:DIR"``) is always held in memory: pixels in
[0, 1], flattened to 784.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rotcurve.datasets.free_memory import fits_in_memory
from rotcurve.datasets.kinds import CurveKind, MnistKind, kind_for_spec
from rotcurve.datasets.normaliser import CurveNormaliser, IdentityNormaliser
from rotcurve.datasets.splits import SPLITS, Split, check_fractions, split_indices
from rotcurve.datasets.streaming import StreamingSplit, plan_blocks, scan_curves
from rotcurve.devices import resolve_device  # re-exported: rotcurve.datasets.resolve_device
from rotcurve.errors import ConfigError, DataError
from rotcurve.io.read import open_dataset
from rotcurve.seeds import epoch_seed
from rotcurve.validation import check_seed, is_int

__all__ = ["TrainingData", "load_training_data", "batches", "resolve_device", "SPLIT_RULE"]

#: Name of the split rule recorded in ``meta`` (see :mod:`rotcurve.datasets.splits`).
SPLIT_RULE: str = "pcg64-raw-argsort-v1"


@dataclasses.dataclass
class TrainingData:
    """Split, normalised training data on a device.

    Attributes
    ----------
    kind : {"curves", "mnist"}
    train, val, test : torch.Tensor or StreamingSplit
        float32, shape ``(n, input_dim)``, on ``device``: normalised curves or
        pixels in [0, 1].  ``StreamingSplit`` (``.streaming`` is True) when
        the curve set does not fit in memory.
    input_dim : int
        Features per row (number of radii, or 784).
    normaliser : CurveNormaliser or IdentityNormaliser
        ``transform`` (km/s -> normalised) and ``inverse`` (-> km/s).
    indices : dict of str -> ndarray of int64
        Sorted row indices of each split in its source (for MNIST with train
        files, ``train``/``val`` index ``train-*`` and ``test`` indexes ``t10k-*``).
    labels : dict of str -> torch.Tensor (int64, on device), or None
        MNIST digit labels per split; None for curves.
    params : dict of str -> pandas.DataFrame, or None
        True parameters (Md, Rd, Mh, c; indexed by source row) per split, when
        the curve file has them.
    meta : dict
        JSON-ready description: ``kind``, ``source``, ``n_total``, ``seed``,
        ``fractions``, ``split_rule``, ``sizes``, ``in_memory``; curves add
        ``radii`` (kpc) and ``file_attrs``; MNIST adds ``image_shape``,
        ``layout`` and ``note``.
    device : torch.device
    """

    kind: str
    train: Any
    val: Any
    test: Any
    input_dim: int
    normaliser: Any
    indices: dict[str, np.ndarray]
    labels: dict[str, Any] | None
    params: dict[str, Any] | None
    meta: dict[str, Any]
    device: Any

    @property
    def streaming(self) -> bool:
        """True when the splits are streamed from disk."""
        return bool(getattr(self.train, "streaming", False))

    def split(self, name: str | Split) -> Any:
        """The tensor (or StreamingSplit) of split ``name``."""
        return getattr(self, Split.parse(name).value)

    def batches(
        self,
        split: str | Split,
        batch_size: int,
        *,
        seed: int | None = None,
        epoch: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> Iterator[Any]:
        """Batches of a split; see :func:`batches` (``seed`` defaults to the data's)."""
        return batches(
            self.split(split),
            batch_size,
            seed=self.meta["seed"] if seed is None else seed,
            epoch=epoch,
            shuffle=shuffle,
            drop_last=drop_last,
        )


def batches(
    split: Any,
    batch_size: int,
    *,
    seed: int = 0,
    epoch: int = 0,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[Any]:
    """Iterate over a split in batches, each row once; tensors and streams alike.

    Parameters
    ----------
    split : torch.Tensor, shape (n, D), or StreamingSplit
        A split of :class:`TrainingData`.
    batch_size : int
        Rows per batch; the last batch may be smaller unless ``drop_last``.
    seed, epoch : int, keyword-only
        The order depends only on ``(seed, epoch)``.
    shuffle : bool, keyword-only
        False: source order.
    drop_last : bool, keyword-only
        Skip an incomplete final batch.

    Yields
    ------
    torch.Tensor, shape (b, D), on the split's device
    """
    if getattr(split, "streaming", False):
        yield from split.iter_batches(
            batch_size, seed=seed, epoch=epoch, shuffle=shuffle, drop_last=drop_last
        )
        return
    import torch

    if not is_int(batch_size) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = int(split.shape[0])
    stop = (n // batch_size) * batch_size if drop_last else n
    if shuffle:
        gen = torch.Generator().manual_seed(epoch_seed(seed, epoch))
        order = torch.randperm(n, generator=gen).to(split.device)
        for i in range(0, stop, batch_size):
            # index_select, not split[idx]: advanced indexing of a CPU tensor
            # can be ~1000x slower when OpenMP threads compete for cores.
            yield split.index_select(0, order[i : i + batch_size])
    else:
        for i in range(0, stop, batch_size):
            yield split[i : i + batch_size]


def _check_in_memory(in_memory: Any) -> bool | Literal["auto"]:
    if in_memory == "auto" or isinstance(in_memory, bool):
        return in_memory
    raise ConfigError(f"in_memory must be 'auto', True or False, got {in_memory!r}")


def load_training_data(
    spec: str | Path,
    *,
    seed: int = 0,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    device: Any = "cpu",
    in_memory: bool | Literal["auto"] = "auto",
) -> TrainingData:
    """Load, split and normalise a training set.

    Parameters
    ----------
    spec : str or Path
        A rotcurve HDF5 file (``"curves.h5"``) or ``"mnist:DIR"`` (a folder
        with the MNIST IDX files).
    seed : int, keyword-only
        Seed of the split (see :func:`~rotcurve.datasets.splits.split_indices`).
    fractions : (float, float, float), keyword-only
        Train, validation and test fractions (sum 1).  MNIST with training
        files: train/val split ``train-*`` in the ratio ``f_train : f_val`` and
        test is ``t10k-*``.
    device : str or torch.device, keyword-only
        Where the tensors live (e.g. ``"cpu"``, ``"cuda"``).
    in_memory : "auto", True or False, keyword-only
        Curves only: ``"auto"`` loads the set when it needs at most half of the
        free memory of the device (and host) and streams it otherwise; True
        always loads it, False always streams.  MNIST is always loaded.

    Returns
    -------
    TrainingData

    Raises
    ------
    DataError
        Missing, foreign or damaged files; velocities not finite or <= 0
        (naming the row); too few rows for the split.
    ConfigError
        Invalid fractions, seed or ``in_memory``.
    DeviceError
        An unavailable device.
    """
    fractions = check_fractions(fractions)
    in_memory = _check_in_memory(in_memory)
    seed = check_seed(seed)
    dev = resolve_device(device)
    kind = kind_for_spec(str(spec))
    load = _LOADERS[kind.name]
    return load(kind.source(str(spec)), seed=int(seed), fractions=fractions, device=dev, in_memory=in_memory)


# ----------------------------------------------------------------------- curves
def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _load_curves(
    path: Path, *, seed: int, fractions: tuple[float, float, float], device: Any, in_memory: Any
) -> TrainingData:
    import torch

    source = str(path)
    with open_dataset(path) as ds:
        n, n_r = ds.n, ds.n_radii
        radii = np.asarray(ds.radii, dtype=np.float64)
        if n_r < 1:
            raise DataError(f"{source} has no radii; regenerate it")
        indices = split_indices(n, seed, fractions)
        which = np.empty(n, dtype=np.int8)
        for code, name in enumerate(SPLITS):
            which[indices[name]] = code
        itemsize = np.dtype(ds.v_circ.dtype).itemsize
        chunks = ds.v_circ.chunks
        block_rows = plan_blocks(n, chunks[0] if chunks else None, n_r * itemsize)
        need = n * n_r * np.dtype(np.float32).itemsize
        load = in_memory is True or (in_memory == "auto" and fits_in_memory(need, device))

        arrays: dict[str, np.ndarray] = {}
        centre = np.zeros(n_r)
        sink = None
        if load:
            arrays = {name: np.empty((len(indices[name]), n_r), np.float32) for name in SPLITS}
            position = np.empty(n, dtype=np.int64)  # row of each file row in its split
            for name in SPLITS:
                position[indices[name]] = np.arange(len(indices[name]))
            first: list[np.ndarray] = []

            def sink(start: int, logv: np.ndarray) -> None:
                # Store log10 v relative to a provisional centre (the mean of
                # the first block's training rows) so that float32 keeps the
                # precision that matters after standardisation.
                codes = which[start : start + len(logv)]
                if not first:
                    train_rows = logv[codes == 0]
                    first.append((train_rows if len(train_rows) else logv).mean(axis=0))
                    centre[:] = first[0]
                pos = position[start : start + len(logv)]
                shifted = logv - centre
                for code, name in enumerate(SPLITS):
                    rows = np.flatnonzero(codes == code)
                    if len(rows):
                        # split indices are sorted, so a block's rows of a split
                        # are consecutive in that split's array
                        first_pos = pos[rows[0]]
                        arrays[name][first_pos : first_pos + len(rows)] = shifted[rows]

        moments = scan_curves(ds, which=which, block_rows=block_rows, source=source, sink=sink)
        if moments.count == 0:
            raise DataError(f"{source}: the training split is empty; use more curves")
        normaliser = CurveNormaliser.from_moments(radii, moments)
        params = None
        if ds.has_params:
            frame = ds.params
            params = {name: frame.iloc[indices[name]] for name in SPLITS}
        file_attrs = _jsonable({k: v for k, v in ds.attrs.items() if k != "shards"})

    if load:
        offset = (normaliser.mean - centre).astype(np.float32)
        scale = normaliser.std.astype(np.float32)
        splits = {}
        for name in SPLITS:
            arr = arrays.pop(name)
            arr -= offset
            arr /= scale
            splits[name] = torch.from_numpy(arr).to(device)
    else:
        splits = {
            name: StreamingSplit(path, name, indices[name], normaliser, device, block_rows=block_rows)
            for name in SPLITS
        }
    meta = {
        "kind": CurveKind.name,
        "source": source,
        "radii": radii.tolist(),
        "n_total": int(n),
        "seed": seed,
        "fractions": list(fractions),
        "split_rule": SPLIT_RULE,
        "sizes": {name: int(len(indices[name])) for name in SPLITS},
        "in_memory": bool(load),
        "file_attrs": file_attrs,
    }
    return TrainingData(
        kind=CurveKind.name,
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
        input_dim=n_r,
        normaliser=normaliser,
        indices=indices,
        labels=None,
        params=params,
        meta=meta,
        device=device,
    )


# ------------------------------------------------------------------------ MNIST
def _load_mnist(
    directory: Path, *, seed: int, fractions: tuple[float, float, float], device: Any, in_memory: Any = True
) -> TrainingData:
    """MNIST (always in memory; ``in_memory`` is ignored), split by :meth:`MnistKind.read_splits`."""
    import torch

    read = MnistKind().read_splits(directory, seed=seed, fractions=fractions)
    images, labels, indices = read.images, read.labels, read.indices
    layout, note, sources, n_total = read.layout, read.note, read.sources, read.n_total
    image_shape = list(images["train"].shape[1:])
    dim = int(np.prod(image_shape))
    tensors = {
        name: torch.from_numpy(np.ascontiguousarray(images[name].reshape(-1, dim))).to(device)
        for name in SPLITS
    }
    label_tensors = {name: torch.from_numpy(labels[name]).to(device) for name in SPLITS}
    meta = {
        "kind": MnistKind.name,
        "source": f"mnist:{directory}",
        "n_total": int(n_total),
        "seed": seed,
        "fractions": list(fractions),
        "split_rule": SPLIT_RULE,
        "sizes": {name: int(len(indices[name])) for name in SPLITS},
        "in_memory": True,
        "image_shape": image_shape,
        "layout": layout,
        "index_sources": sources,
        "note": note,
    }
    return TrainingData(
        kind=MnistKind.name,
        train=tensors["train"],
        val=tensors["val"],
        test=tensors["test"],
        input_dim=dim,
        normaliser=IdentityNormaliser(dim),
        indices=indices,
        labels=label_tensors,
        params=None,
        meta=meta,
        device=device,
    )


#: How each data kind (:data:`~rotcurve.datasets.kinds.DATA_KINDS`) becomes training tensors.
_LOADERS: dict[str, Any] = {
    CurveKind.name: _load_curves,
    MnistKind.name: _load_mnist,
}
