"""Train / validation / test splits, deterministic from one integer seed.

The rule (stable across machines, operating systems and numpy versions):

1. ``keys = PCG64(SeedSequence(seed, spawn_key=(SPLIT_STREAM,))).random_raw(n)``
   -- ``n`` raw 64-bit outputs of the PCG64 generator, whose algorithm and
   seeding (:class:`numpy.random.SeedSequence`) are fixed by numpy's
   reproducibility policy, unlike ``Generator.permutation``.
2. ``order = argsort(keys, kind="stable")`` -- a uniformly random permutation.
3. ``n_val = floor(n * f_val)``, ``n_test = floor(n * f_test)`` and
   ``n_train = n - n_val - n_test``; the first ``n_train`` entries of
   ``order`` are the training rows, the next ``n_val`` the validation rows,
   the rest the test rows.
4. Each split's row indices are returned sorted ascending (reading sorted rows
   from an HDF5 file is fast; training shuffles anyway).

The ``score --split test`` command recomputes the same indices with
:func:`split_indices`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence

import numpy as np

from rotcurve.errors import ConfigError, DataError
from rotcurve.validation import check_seed

__all__ = ["Split", "SPLITS", "SPLIT_STREAM", "split_indices", "check_fractions", "split_sizes"]

#: ``spawn_key`` of the random stream that orders the rows for splitting.
SPLIT_STREAM: int = 0x5B17


class Split(str, enum.Enum):
    """The name of a split; a ``str``, so ``data.indices[Split.TEST]`` works.

    ``Split.parse("test")`` turns a user's string into a member and raises
    :class:`~rotcurve.errors.ConfigError` for anything else.
    """

    TRAIN = "train"
    VAL = "val"
    TEST = "test"

    def __str__(self) -> str:  # "test", not "Split.TEST"
        return self.value

    @classmethod
    def parse(cls, name: str | Split) -> Split:
        """The member named ``name`` ("train", "val" or "test")."""
        try:
            return cls(name)
        except ValueError:
            raise ConfigError(
                f"unknown split {name!r}; choose one of {', '.join(s.value for s in cls)}"
            ) from None


#: The split names in their canonical order.
SPLITS: tuple[str, str, str] = ("train", "val", "test")


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Validate ``(f_train, f_val, f_test)``: three finite numbers >= 0 summing to 1.

    Returns
    -------
    tuple of float
        The fractions as floats.

    Raises
    ------
    ConfigError
        When there are not three, one is negative or not finite, the training
        fraction is zero, or they do not sum to 1 (to within 1e-6).
    """
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise ConfigError(f"split fractions must be three numbers, got {fractions!r}") from None
    if len(values) != 3:
        raise ConfigError(
            f"split fractions must be three numbers (train, val, test), got {len(values)}"
        )
    if not all(math.isfinite(f) and f >= 0.0 for f in values):
        raise ConfigError(f"split fractions must be finite and >= 0, got {values}")
    if values[0] <= 0.0:
        raise ConfigError(f"the training fraction must be > 0, got {values}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ConfigError(f"split fractions must sum to 1, got {values} (sum {sum(values):.6g})")
    return values  # type: ignore[return-value]


def split_sizes(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> tuple[int, int, int]:
    """Numbers of rows ``(n_train, n_val, n_test)`` the rule gives for ``n`` rows.

    Raises
    ------
    DataError
        When a split with a positive fraction would be empty (too few rows).
    """
    f_train, f_val, f_test = check_fractions(fractions)
    n = int(n)
    if n < 0:
        raise ConfigError(f"number of rows must be >= 0, got {n}")
    # The tiny tolerance makes 0.1 * 100 give 10, not 9 from 9.999999999999998.
    n_val = int(math.floor(n * f_val + 1e-9))
    n_test = int(math.floor(n * f_test + 1e-9))
    n_train = n - n_val - n_test
    sizes = (n_train, n_val, n_test)
    for name, f, size in zip(SPLITS, (f_train, f_val, f_test), sizes):
        if f > 0 and size == 0:
            raise DataError(
                f"too few rows ({n}) for the split fractions {tuple(fractions)}: the {name} split "
                "would be empty; use more rows or set its fraction to 0"
            )
    return sizes


def split_indices(
    n: int, seed: int = 0, fractions: Sequence[float] = (0.8, 0.1, 0.1)
) -> dict[str, np.ndarray]:
    """Row indices of the train / val / test splits of ``n`` rows.

    Parameters
    ----------
    n : int
        Number of rows in the source.
    seed : int
        The run's seed (a non-negative integer).
    fractions : sequence of 3 float
        ``(f_train, f_val, f_test)``, each >= 0, summing to 1.

    Returns
    -------
    dict
        ``{"train": idx, "val": idx, "test": idx}``, each an ``int64`` array
        of sorted row indices; together they partition ``range(n)``.  The
        result depends only on ``(n, seed, fractions)`` (see the module
        docstring for the exact rule).

    Raises
    ------
    ConfigError
        For invalid fractions or a negative seed.
    DataError
        When a split with a positive fraction would be empty.
    """
    seed = check_seed(seed)
    n_train, n_val, _ = split_sizes(n, fractions)
    bitgen = np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(SPLIT_STREAM,)))
    keys = bitgen.random_raw(int(n)) if n > 0 else np.zeros(0, dtype=np.uint64)
    order = np.argsort(keys, kind="stable").astype(np.int64, copy=False)
    parts = (order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])
    return {name: np.sort(part) for name, part in zip(SPLITS, parts)}
