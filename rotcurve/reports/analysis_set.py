"""The held-out examples a report analyses: :class:`AnalysisSet` and :func:`analysis_set`.

The analysed curves are the run's test split when ``data`` is the file the
run was trained on (same content fingerprint; the split is recomputed from
the run's seed and fractions), otherwise every row of ``data``; at most
``n_curves`` of them (a seeded subsample, in file order).  An MNIST run
analyses its test split of the MNIST folder.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rotcurve.datasets.kinds import data_fingerprint, kind_named, read_curve_rows
from rotcurve.datasets.loading import load_training_data
from rotcurve.datasets.splits import split_indices
from rotcurve.errors import DataError
from rotcurve.io.read import open_dataset
from rotcurve.reports.config import STREAMS, positive_int

__all__ = ["AnalysisSet", "analysis_set", "check_data"]


@dataclasses.dataclass
class AnalysisSet:
    """The real examples a report analyses.

    Attributes
    ----------
    x : ndarray
        Curves ``(N, n_r)`` float64 km/s, or images ``(N, 28, 28)`` float32 in [0, 1].
    params : pandas.DataFrame or None
        True Md [Msun], Rd [kpc], Mh [Msun], c of the curves, when known.
    labels : ndarray or None
        MNIST digits.
    info : dict
        ``data`` (path or spec), ``same_as_training``, ``split`` ("test" or
        "all"), ``n_available`` (examples in the data), ``n_candidates``
        (in the split used), ``n_analysed`` (after subsampling), ``has_params``.
    """

    x: np.ndarray
    params: Any
    labels: np.ndarray | None
    info: dict[str, Any]


def _subsample(n: int, most: int, seed: int) -> np.ndarray:
    if n <= most:
        return np.arange(n)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STREAMS["subsample"],)))
    return np.sort(rng.choice(n, size=most, replace=False))


# ----------------------------------------------------------------------------- curves
def _check_curves(run: Any, spec: str) -> None:
    with open_dataset(spec) as ds:
        run.check_radii(ds.radii, source=spec)
        if ds.n < 10:
            raise DataError(f"{spec} has {ds.n} curves; a report needs at least 10")


def _curve_set(run: Any, spec: str, n_curves: int, seed: int) -> AnalysisSet:
    with open_dataset(spec) as ds:
        n, has_params = ds.n, ds.has_params
    same = n == int(run.data.get("n", -1)) and data_fingerprint(spec) == run.data.get("fingerprint")
    if same:
        rows = split_indices(n, int(run.data["seed"]), tuple(run.data["fractions"]))["test"]
        if rows.size < 10:
            raise DataError(
                f"the run's test split of {spec} has {rows.size} curves; a report needs at least 10 "
                "(give another file of the same kind)"
            )
    else:
        rows = np.arange(n)
    n_candidates = int(rows.size)
    rows = rows[_subsample(rows.size, n_curves, seed)]
    v, params = read_curve_rows(spec, rows, params=True)
    info = {"data": str(Path(spec).resolve()), "same_as_training": bool(same), "split": "test" if same else "all",
            "n_available": int(n), "n_candidates": n_candidates, "n_analysed": int(len(v)),
            "has_params": bool(has_params)}
    return AnalysisSet(x=v, params=params, labels=None, info=info)


# ------------------------------------------------------------------------------ MNIST
def _mnist_set(run: Any, spec: str, n_curves: int, seed: int) -> AnalysisSet:
    td = load_training_data(
        spec, seed=int(run.data["seed"]), fractions=tuple(run.data["fractions"]), device="cpu"
    )
    if td.input_dim != run.model_config.input_dim:
        raise DataError(
            f"{spec} has {td.input_dim} pixels per image but the run was trained on "
            f"{run.model_config.input_dim}"
        )
    x = td.test.numpy()
    labels = td.labels["test"].numpy() if td.labels else None
    keep = _subsample(len(x), n_curves, seed)
    if keep.size == 0:
        raise DataError(f"the test split of {spec} is empty; nothing to analyse")
    shape = run.image_shape or (x.shape[1],)
    info = {"data": spec, "same_as_training": True, "split": "test", "n_available": int(td.meta["n_total"]),
            "n_candidates": int(len(x)), "n_analysed": int(keep.size), "has_params": False}
    return AnalysisSet(x=x[keep].reshape(len(keep), *shape), params=None,
                       labels=None if labels is None else labels[keep], info=info)


# --------------------------------------------------------------------------- registry
#: How a report reads the examples of each data kind (:data:`rotcurve.datasets.kinds.DATA_KINDS`):
#: a check that the data fit the run (or None) and ``load(run, spec, n_curves, seed)``.
_LOADERS: dict[str, tuple[Callable[[Any, str], None] | None, Callable[[Any, str, int, int], AnalysisSet]]] = {
    "curves": (_check_curves, _curve_set),
    "mnist": (None, _mnist_set),
}


def check_data(run: Any, data: Any) -> str:
    """The data spec as a string, after checking it fits the run (DataError otherwise)."""
    if not isinstance(data, (str, os.PathLike)):
        raise DataError("give the data as a curve file path or mnist:DIR")
    kind = kind_named(run.kind)
    spec = kind.check_spec(data)  # data of another kind: one line saying what to give instead
    check, _ = _LOADERS[kind.name]
    if check is not None:
        check(run, spec)
    return spec


def analysis_set(run: Any, data: Any, *, n_curves: int = 5000, seed: int = 0) -> AnalysisSet:
    """The held-out examples a report analyses (see the module docstring).

    Parameters
    ----------
    run : Run
    data : path or "mnist:DIR"
        The run's training file (its test split is used), another curve file
        on the run's radius grid (all rows), or MNIST (the run's test split).
    n_curves : int, keyword-only
        Most examples kept (a seeded random subsample, in file order).
    seed : int, keyword-only

    Returns
    -------
    AnalysisSet

    Raises
    ------
    DataError
        A missing or foreign file, another radius grid, images for a curve
        run or the reverse, an empty selection.
    """
    n_curves = positive_int("n_curves", n_curves)
    spec = check_data(run, data)
    _, load = _LOADERS[kind_named(run.kind).name]
    return load(run, spec, n_curves, seed)
