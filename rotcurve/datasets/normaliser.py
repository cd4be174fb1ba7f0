"""Normalisation of training data: log10 velocities standardised per radius.

A rotation curve ``v`` (km/s, shape ``(..., n_r)``) is mapped to

    x = (log10(v) - mean) / std

where ``mean`` and ``std`` (shape ``(n_r,)``, in dex) are the mean and the
population standard deviation (``ddof=0``) of ``log10 v`` at each radius over
the *training split only*.  A radius where every training curve has the same
value (``std <= 1e-12`` dex) gets ``std = 1``.  :meth:`CurveNormaliser.inverse`
maps back to km/s.

The normaliser is saved with every model (:meth:`~CurveNormaliser.state_dict`
is plain lists, floats and strings: JSON-safe and loadable with
``torch.load(..., weights_only=True)``) and restored with
:func:`normaliser_from_state`.  MNIST runs use :class:`IdentityNormaliser`.

Both normalisers accept numpy arrays and torch tensors; torch is imported only
when a tensor is passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rotcurve.errors import CheckpointError, DataError

__all__ = [
    "CurveNormaliser",
    "IdentityNormaliser",
    "RunningMoments",
    "NORMALISERS",
    "normaliser_from_state",
    "check_velocities",
]

#: Standard deviations (dex) at or below this are replaced by 1.
STD_FLOOR: float = 1e-12


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def check_velocities(v: np.ndarray, *, row_offset: int = 0, source: str = "") -> None:
    """Raise :class:`DataError` unless every velocity is finite and > 0.

    Parameters
    ----------
    v : ndarray, shape (m, n_r)
        Circular velocities in km/s.
    row_offset : int, keyword-only
        Index of ``v[0]`` in the source (so the message names the file's row).
    source : str, keyword-only
        Name of the source (a file path) for the message.
    """
    v = np.asarray(v)
    bad = ~(np.isfinite(v) & (v > 0))
    if bad.any():
        rows, cols = np.nonzero(bad.reshape(len(v), -1) if v.ndim > 1 else bad[:, None])
        row, col = int(rows[0]), int(cols[0])
        value = v[row, col] if v.ndim > 1 else v[row]
        where = f"{source}: " if source else ""
        raise DataError(
            f"{where}row {row_offset + row} has v_circ = {float(value):g} km/s at radius index {col} "
            f"({int(bad.sum())} bad values in rows {row_offset}..{row_offset + len(v) - 1}); "
            "velocities must be finite and > 0 -- regenerate the file or drop those rows"
        )


class RunningMoments:
    """Streaming per-column mean and variance (float64, Chan et al. merge).

    Feed blocks of rows with :meth:`update`; the result does not depend on
    how the rows are cut into blocks (up to rounding).

    Parameters
    ----------
    dim : int
        Number of columns.
    """

    def __init__(self, dim: int) -> None:
        self.count = 0
        self.mean = np.zeros(dim, dtype=np.float64)
        self.m2 = np.zeros(dim, dtype=np.float64)

    def update(self, block: np.ndarray) -> None:
        """Add the rows of ``block`` (shape ``(m, dim)``)."""
        block = np.asarray(block, dtype=np.float64)
        m = block.shape[0]
        if m == 0:
            return
        b_mean = block.mean(axis=0)
        b_m2 = ((block - b_mean) ** 2).sum(axis=0)
        n = self.count + m
        delta = b_mean - self.mean
        self.mean = self.mean + delta * (m / n)
        self.m2 = self.m2 + b_m2 + delta**2 * (self.count * m / n)
        self.count = n

    @property
    def std(self) -> np.ndarray:
        """Population standard deviation (``ddof=0``) per column."""
        if self.count == 0:
            raise DataError("no rows to compute statistics from (the training split is empty)")
        return np.sqrt(self.m2 / self.count)


class CurveNormaliser:
    """``x = (log10 v - mean) / std`` per radius; :meth:`inverse` gives km/s.

    Parameters
    ----------
    radii : array_like, shape (n_r,)
        The radius grid (kpc) the statistics belong to.
    mean, std : array_like, shape (n_r,)
        Mean and standard deviation of ``log10(v / (km/s))`` per radius.
    n_fit : int, keyword-only
        Number of training curves the statistics came from (for the record).
    """

    kind = "log10-standardised"

    def __init__(self, radii: Any, mean: Any, std: Any, *, n_fit: int = 0) -> None:
        self.radii = np.asarray(radii, dtype=np.float64).reshape(-1)
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        std = np.asarray(std, dtype=np.float64).reshape(-1)
        if not (len(self.radii) == len(self.mean) == len(std)) or len(std) == 0:
            raise CheckpointError(
                f"normaliser: radii, mean and std must have the same non-zero length, got "
                f"{len(self.radii)}, {len(self.mean)}, {len(std)}"
            )
        if not (np.isfinite(self.mean).all() and np.isfinite(std).all() and (std >= 0).all()):
            raise CheckpointError("normaliser: mean and std must be finite and std >= 0")
        self.std = np.where(std > STD_FLOOR, std, 1.0)
        self.n_fit = int(n_fit)
        self._torch_cache: dict[tuple[Any, Any], tuple[Any, Any]] = {}

    # ------------------------------------------------------------------ fitting
    @classmethod
    def from_moments(cls, radii: Any, moments: RunningMoments) -> CurveNormaliser:
        """The normaliser of accumulated ``log10 v`` statistics."""
        return cls(radii, moments.mean, moments.std, n_fit=moments.count)

    @classmethod
    def fit(cls, v: np.ndarray, radii: Any, *, source: str = "") -> CurveNormaliser:
        """Fit to training curves.

        Parameters
        ----------
        v : ndarray, shape (N, n_r)
            Training rotation curves in km/s (finite, > 0).
        radii : array_like, shape (n_r,)
            Radii in kpc.

        Raises
        ------
        DataError
            When a velocity is not finite or not > 0 (the message names the row).
        """
        v = np.asarray(v)
        check_velocities(v, source=source)
        moments = RunningMoments(v.shape[1])
        moments.update(np.log10(v.astype(np.float64, copy=False)))
        return cls.from_moments(radii, moments)

    @property
    def input_dim(self) -> int:
        """Number of radii (the model's input dimension)."""
        return len(self.radii)

    # ---------------------------------------------------------------- transforms
    def _consts(self, x: Any) -> tuple[Any, Any]:
        key = (x.device, x.dtype)
        if key not in self._torch_cache:
            import torch

            self._torch_cache[key] = (
                torch.as_tensor(self.mean, dtype=x.dtype, device=x.device),
                torch.as_tensor(self.std, dtype=x.dtype, device=x.device),
            )
        return self._torch_cache[key]

    def _check_dim(self, x: Any) -> None:
        if x.shape[-1] != len(self.radii):
            raise DataError(
                f"curves have {x.shape[-1]} radii but the normaliser has {len(self.radii)}; "
                "use data on the radius grid the model was trained on"
            )

    def transform(self, v: Any) -> Any:
        """Normalise rotation curves.

        Parameters
        ----------
        v : ndarray or torch.Tensor, shape (..., n_r)
            Circular velocities in km/s (finite, > 0).

        Returns
        -------
        ndarray or torch.Tensor, shape (..., n_r)
            Normalised values (dimensionless).  numpy: float64 unless ``v`` is
            float32 (computed in float64 either way); torch: ``v``'s dtype
            and device.

        Raises
        ------
        DataError
            When a velocity is not finite or not > 0, or the last axis is not n_r.
        """
        self._check_dim(v)
        if _is_torch(v):
            import torch

            if not bool(torch.all(torch.isfinite(v) & (v > 0))):
                check_velocities(v.detach().cpu().numpy().reshape(-1, v.shape[-1]))
            mean, std = self._consts(v)
            return (torch.log10(v) - mean) / std
        arr = np.asarray(v)
        check_velocities(arr.reshape(-1, arr.shape[-1]))
        out = (np.log10(arr.astype(np.float64, copy=False)) - self.mean) / self.std
        return out.astype(np.float32) if arr.dtype == np.float32 else out

    def inverse(self, x: Any) -> Any:
        """Map normalised values back to circular velocities in km/s.

        Parameters
        ----------
        x : ndarray or torch.Tensor, shape (..., n_r)
            Normalised values.

        Returns
        -------
        ndarray or torch.Tensor, shape (..., n_r)
            ``10 ** (x * std + mean)`` in km/s (numpy: float64 unless ``x`` is
            float32; torch: ``x``'s dtype and device).
        """
        self._check_dim(x)
        if _is_torch(x):
            import torch

            mean, std = self._consts(x)
            return torch.pow(torch.tensor(10.0, dtype=x.dtype, device=x.device), x * std + mean)
        arr = np.asarray(x)
        out = 10.0 ** (arr.astype(np.float64, copy=False) * self.std + self.mean)
        return out.astype(np.float32) if arr.dtype == np.float32 else out

    # -------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """Plain-data state: ``{"kind", "radii", "mean", "std", "n_fit"}``."""
        return {
            "kind": self.kind,
            "radii": [float(r) for r in self.radii],
            "mean": [float(m) for m in self.mean],
            "std": [float(s) for s in self.std],
            "n_fit": self.n_fit,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> CurveNormaliser:
        """Rebuild from :meth:`state_dict` output.

        Raises
        ------
        CheckpointError
            When the state is not a curve normaliser's or is malformed.
        """
        _check_state(state, cls.kind, ("radii", "mean", "std"))
        try:
            return cls(state["radii"], state["mean"], state["std"], n_fit=int(state.get("n_fit", 0)))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"normaliser state is malformed ({exc})") from None

    def check_compatible(self, radii: Any, *, source: str = "") -> None:
        """Raise :class:`DataError` unless ``radii`` is this normaliser's grid.

        Parameters
        ----------
        radii : array_like, shape (n_r,)
            Radii (kpc) of the data to be used with the model.
        source : str, keyword-only
            Name of that data (a file path) for the message.
        """
        radii = np.asarray(radii, dtype=np.float64).reshape(-1)
        where = f"{source} " if source else "the data "
        mine = f"{len(self.radii)} radii from {self.radii[0]:g} to {self.radii[-1]:g} kpc"
        if len(radii) != len(self.radii):
            raise DataError(
                f"{where}has {len(radii)} radii but the model was trained on {mine}; "
                "use a file generated with the same radius grid"
            )
        if not np.allclose(radii, self.radii, rtol=1e-6, atol=1e-9):
            worst = int(np.argmax(np.abs(radii - self.radii)))
            raise DataError(
                f"{where}has a different radius grid than the model ({mine}): radius {worst} is "
                f"{radii[worst]:g} kpc, not {self.radii[worst]:g} kpc; use a file generated with "
                "the same radius grid"
            )

    def __repr__(self) -> str:
        return (
            f"CurveNormaliser(n_r={len(self.radii)}, radii={self.radii[0]:g}..{self.radii[-1]:g} "
            f"kpc, n_fit={self.n_fit})"
        )


class IdentityNormaliser:
    """The normaliser of data that needs none (MNIST pixels already in [0, 1]).

    Parameters
    ----------
    input_dim : int
        Number of features (784 for MNIST).
    """

    kind = "identity"
    radii = None

    def __init__(self, input_dim: int) -> None:
        self._dim = int(input_dim)

    @property
    def input_dim(self) -> int:
        """Number of features."""
        return self._dim

    def transform(self, x: Any) -> Any:
        """Return ``x`` unchanged (shape ``(..., input_dim)``)."""
        return x

    def inverse(self, x: Any) -> Any:
        """Return ``x`` unchanged (shape ``(..., input_dim)``)."""
        return x

    def state_dict(self) -> dict[str, Any]:
        """Plain-data state ``{"kind": "identity", "input_dim": int}``."""
        return {"kind": self.kind, "input_dim": self._dim}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> IdentityNormaliser:
        """Rebuild from :meth:`state_dict` output."""
        _check_state(state, cls.kind, ("input_dim",))
        return cls(int(state["input_dim"]))

    def check_compatible(self, radii: Any, *, source: str = "") -> None:
        """Always raises: a model trained on images cannot read rotation curves."""
        where = f"{source} " if source else "the data "
        raise DataError(
            f"{where}holds rotation curves but the model was trained on images "
            f"({self._dim} features, no radius grid); use a model trained on curves"
        )

    def __repr__(self) -> str:
        return f"IdentityNormaliser(input_dim={self._dim})"


def _check_state(state: Any, kind: str, keys: tuple[str, ...]) -> None:
    if not isinstance(state, Mapping):
        raise CheckpointError(f"normaliser state must be a mapping, got {type(state).__name__}")
    if state.get("kind") != kind:
        raise CheckpointError(f"normaliser state is of kind {state.get('kind')!r}, not {kind!r}")
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(f"normaliser state lacks {', '.join(missing)}; the checkpoint is damaged")


#: Normaliser classes by their ``kind``.
NORMALISERS: dict[str, type] = {
    CurveNormaliser.kind: CurveNormaliser,
    IdentityNormaliser.kind: IdentityNormaliser,
}


def normaliser_from_state(state: Mapping[str, Any]) -> CurveNormaliser | IdentityNormaliser:
    """Rebuild whichever normaliser ``state`` (from ``state_dict()``) describes.

    Raises
    ------
    CheckpointError
        When ``state`` is not a normaliser state.
    """
    if not isinstance(state, Mapping) or state.get("kind") not in NORMALISERS:
        kind = state.get("kind") if isinstance(state, Mapping) else type(state).__name__
        raise CheckpointError(
            f"unknown normaliser kind {kind!r}; known: {', '.join(NORMALISERS)} "
            "(the checkpoint is damaged or from a newer rotcurve)"
        )
    return NORMALISERS[state["kind"]].from_state(state)
