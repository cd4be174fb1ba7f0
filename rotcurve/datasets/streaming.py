"""Streaming one split of a curve file that does not fit in memory.

A :class:`StreamingSplit` reads the file in *blocks* of contiguous rows (a
whole number of HDF5 chunks, about :data:`BLOCK_BYTES`), keeps the rows of its
split, normalises them and yields float32 batches on the device.  For
training, the blocks are visited in a random order and their rows pass
through a shuffle buffer of about :data:`BUFFER_BYTES`, so every row of the
split is yielded exactly once per epoch, in an order that depends only on
``(seed, epoch)``.

Reading sorted contiguous blocks keeps the file access sequential within a
block and touches each compressed chunk once per epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.datasets.normaliser import CurveNormaliser, RunningMoments, check_velocities
from rotcurve.errors import ConfigError
from rotcurve.io.read import open_dataset
from rotcurve.seeds import BATCH_STREAM, epoch_seed  # re-exported here, where they were defined
from rotcurve.validation import is_int

__all__ = [
    "StreamingSplit",
    "BLOCK_BYTES",
    "BUFFER_BYTES",
    "BATCH_STREAM",
    "plan_blocks",
    "epoch_seed",
    "scan_curves",
]

#: Target bytes of curves read at once.
BLOCK_BYTES: int = 16 << 20
#: Target bytes of the shuffle buffer (in float32 normalised rows).
BUFFER_BYTES: int = 128 << 20


def plan_blocks(n: int, chunk_rows: int | None, row_bytes: int) -> int:
    """Rows per read block: a multiple of the file's chunk rows near :data:`BLOCK_BYTES`.

    Parameters
    ----------
    n : int
        Rows in the file.
    chunk_rows : int or None
        Rows per HDF5 chunk of the curve dataset (None: not chunked).
    row_bytes : int
        Bytes of one stored row.
    """
    target = max(1, BLOCK_BYTES // max(1, row_bytes))
    if chunk_rows:
        target = max(chunk_rows, (target // chunk_rows) * chunk_rows)
    return int(max(1, min(max(n, 1), target)))


def scan_curves(
    ds: Any,
    *,
    which: np.ndarray,
    block_rows: int,
    source: str,
    sink: Any = None,
) -> RunningMoments:
    """One pass over ``ds.v_circ``: validate every row, accumulate training statistics.

    Parameters
    ----------
    ds : rotcurve.io dataset handle
        Open file (``ds.v_circ`` of shape (N, n_r), km/s).
    which : ndarray of int8, shape (N,)
        Split code of each row (0 train, 1 val, 2 test).
    block_rows : int
        Rows per read.
    source : str
        File name for error messages.
    sink : callable, optional
        ``sink(start, logv)`` receives each block's ``log10 v`` (float64,
        shape (rows, n_r)) -- used to fill in-memory arrays in the same pass.

    Returns
    -------
    RunningMoments
        Mean and variance of ``log10 v`` over the training rows.

    Raises
    ------
    DataError
        When a velocity is not finite or not > 0 (naming the row).
    """
    n, n_r = ds.v_circ.shape
    moments = RunningMoments(n_r)
    for start in range(0, n, block_rows):
        stop = min(n, start + block_rows)
        v = _read_block(ds, start, stop, source)
        check_velocities(v, row_offset=start, source=source)
        logv = np.log10(v.astype(np.float64, copy=False))
        moments.update(logv[which[start:stop] == 0])
        if sink is not None:
            sink(start, logv)
    return moments


def _read_block(ds: Any, start: int, stop: int, source: str) -> np.ndarray:
    """Rows ``start:stop`` of ``ds.v_circ`` (DataError when HDF5 reports damage)."""
    return np.asarray(ds.read("v_circ", start, stop))


class StreamingSplit:
    """One split of a curve file, read from disk in blocks as batches are asked for.

    Parameters
    ----------
    path : str or Path
        The rotcurve HDF5 file.
    name : str
        The split's name ("train", "val" or "test").
    indices : ndarray of int64
        Sorted row indices of the split in the file.
    normaliser : CurveNormaliser
        Applied to every row.
    device : torch.device
        Where batches are put.
    block_rows : int
        Rows per read (see :func:`plan_blocks`).
    buffer_rows : int, optional
        Rows of the shuffle buffer (default: about :data:`BUFFER_BYTES`).

    Attributes
    ----------
    shape : tuple of int
        ``(n, n_r)`` -- like a tensor's.
    streaming : bool
        Always True (tensors have no such attribute).
    """

    streaming = True

    def __init__(
        self,
        path: str | Path,
        name: str,
        indices: np.ndarray,
        normaliser: CurveNormaliser,
        device: Any,
        *,
        block_rows: int,
        buffer_rows: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = name
        self.indices = np.asarray(indices, dtype=np.int64)
        self.normaliser = normaliser
        self.device = device
        self.block_rows = int(block_rows)
        dim = normaliser.input_dim
        self.buffer_rows = int(buffer_rows or max(1, BUFFER_BYTES // (4 * dim)))
        self.shape = (len(self.indices), dim)
        self._mean = normaliser.mean
        self._std = normaliser.std

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f"StreamingSplit({self.name!r}, n={len(self)}, path={str(self.path)!r})"

    @property
    def dtype(self) -> Any:
        """``torch.float32``, the dtype of the batches."""
        import torch

        return torch.float32

    def _blocks(self) -> list[tuple[int, int, int]]:
        """``(start, lo, hi)``: block starting at file row ``start`` holds ``indices[lo:hi]``."""
        n_blocks = int(self.indices[-1]) // self.block_rows + 1 if len(self.indices) else 0
        edges = np.searchsorted(self.indices, np.arange(n_blocks + 1) * self.block_rows)
        return [
            (b * self.block_rows, int(edges[b]), int(edges[b + 1]))
            for b in range(n_blocks)
            if edges[b + 1] > edges[b]
        ]

    def _iter_rows(self, order: list[tuple[int, int, int]]) -> Iterator[np.ndarray]:
        with open_dataset(self.path) as ds:
            for _, lo, hi in order:
                rows = self.indices[lo:hi]
                first, stop = int(rows[0]), int(rows[-1]) + 1
                v = _read_block(ds, first, stop, str(self.path))[rows - first]
                bad = ~(np.isfinite(v) & (v > 0)).all(axis=1)
                if bad.any():  # the file changed since it was scanned
                    r = int(np.argmax(bad))
                    check_velocities(v[r : r + 1], row_offset=int(rows[r]), source=str(self.path))
                yield ((np.log10(v.astype(np.float64)) - self._mean) / self._std).astype(np.float32)

    def iter_batches(
        self,
        batch_size: int,
        *,
        seed: int = 0,
        epoch: int = 0,
        generator: Any = None,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> Iterator[Any]:
        """Yield normalised batches, each row of the split exactly once.

        Parameters
        ----------
        batch_size : int
            Rows per batch (the last one may be smaller unless ``drop_last``).
        seed, epoch : int, keyword-only
            The order is a function of ``(seed, epoch)`` only.
        generator : torch.Generator, optional, keyword-only
            If given, the order is drawn from it instead of ``(seed, epoch)``.
        shuffle : bool, keyword-only
            False: file order (for evaluation).
        drop_last : bool, keyword-only
            Skip a final incomplete batch.

        Yields
        ------
        torch.Tensor, shape (b, n_r), float32, on ``device``
            Normalised curves.
        """
        import torch

        if not is_int(batch_size) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        blocks = self._blocks()
        if shuffle:
            if generator is not None:
                s = int(torch.randint(0, 2**62, (1,), generator=generator).item())
            else:
                s = epoch_seed(seed, epoch)
            rng = np.random.default_rng(s)
            blocks = [blocks[i] for i in rng.permutation(len(blocks))]
        else:
            rng = None

        def emit(rows: np.ndarray) -> Iterator[Any]:
            for i in range(0, len(rows), batch_size):
                yield torch.from_numpy(np.ascontiguousarray(rows[i : i + batch_size])).to(self.device)

        pending: list[np.ndarray] = []
        held = 0
        for x in self._iter_rows(blocks):
            pending.append(x)
            held += len(x)
            if held >= self.buffer_rows:
                rows = np.concatenate(pending)
                if rng is not None:
                    rows = rows[rng.permutation(len(rows))]
                full = (len(rows) // batch_size) * batch_size
                yield from emit(rows[:full])
                pending, held = [rows[full:]], len(rows) - full
        if held:
            rows = np.concatenate(pending)
            if rng is not None:
                rows = rows[rng.permutation(len(rows))]
            if drop_last:
                rows = rows[: (len(rows) // batch_size) * batch_size]
            yield from emit(rows)
