"""Random streams: every seed rotcurve derives from a user's one integer seed.

One seed drives a whole run, file or report.  Each use of randomness gets its
own stream, ``numpy.random.SeedSequence(seed, spawn_key=key)`` with a fixed
``key`` per use, so that adding draws to one use never changes another.  The
functions below turn such a stream into what the consumer needs:

=====================  ==================================================  =================================
function               value                                               used by
=====================  ==================================================  =================================
:func:`stream_rng`     ``default_rng(SeedSequence(seed, spawn_key=key))``  shards, run samples, subsamples
:func:`as_rng`         a Generator from an int, SeedSequence or Generator  aggregate samplers
:func:`seed64`         the stream's first 64-bit word                      torch generators of runs
:func:`seed63`         ``w0 << 31 ^ w1`` of its first two 32-bit words     batch order of streamed epochs
:func:`seed31`         its first 32-bit word ``>> 1``                      report streams, GMM fits
:func:`stream_seed`    :func:`seed64` under :data:`TRAIN_STREAM`           the training loop
:func:`epoch_seed`     :func:`seed63` under :data:`BATCH_STREAM`           batch order of an epoch
=====================  ==================================================  =================================

The formulas are part of the file formats: checkpoints, curve files and
reports written with a seed are reproduced bit for bit only while these
numbers stay the same.  Never change one; add a new function instead.

This module imports only numpy.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from rotcurve.validation import check_seed

__all__ = [
    "SeedLike",
    "TRAIN_STREAM",
    "BATCH_STREAM",
    "stream_rng",
    "as_rng",
    "seed64",
    "seed63",
    "seed31",
    "stream_seed",
    "epoch_seed",
]

#: What :func:`as_rng` takes.
SeedLike = Union[int, np.random.SeedSequence, np.random.Generator]

#: ``spawn_key`` prefix of the training loop's random streams.
TRAIN_STREAM: int = 0x7EA1
#: ``spawn_key`` prefix of the random streams that order batches.
BATCH_STREAM: int = 0xBA7C


def _sequence(seed: int, key: tuple[int, ...]) -> np.random.SeedSequence:
    return np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key))


def stream_rng(seed: int, *key: int) -> np.random.Generator:
    """``numpy.random.default_rng(SeedSequence(seed, spawn_key=key))``.

    With one key ``k`` this is the ``k``-th child of ``SeedSequence(seed)``
    (``SeedSequence(seed).spawn(k + 1)[k]``); with no key, ``SeedSequence(seed)``.
    """
    return np.random.default_rng(_sequence(seed, key))


def as_rng(seed: SeedLike) -> np.random.Generator:
    """A Generator: ``seed`` itself, ``default_rng(seed)`` of a SeedSequence, or :func:`stream_rng` of an int.

    Raises
    ------
    ConfigError
        ``seed must be a non-negative integer, got ...``.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    return stream_rng(check_seed(seed))


def seed64(seed: int, *key: int) -> int:
    """The first 64-bit word of the stream ``key`` of ``seed`` (a ``torch.Generator`` seed)."""
    return int(_sequence(seed, key).generate_state(1, np.uint64)[0])


def seed63(seed: int, *key: int) -> int:
    """``w0 << 31 ^ w1`` of the stream's first two 32-bit words (below ``2**63``)."""
    state = _sequence(seed, key).generate_state(2, np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def seed31(seed: int, *key: int) -> int:
    """The stream's first 32-bit word shifted right by one (below ``2**31``, a seed for any library)."""
    return int(_sequence(seed, key).generate_state(1)[0] >> 1)


def stream_seed(seed: int, *key: int) -> int:
    """A 64-bit seed for one random stream of a training run.

    Parameters
    ----------
    seed : int
        The run's seed.
    *key : int
        The stream (and, for per-epoch streams, the epoch).

    Returns
    -------
    int
        ``SeedSequence(seed, spawn_key=(TRAIN_STREAM, *key))``'s first 64-bit word.
    """
    return seed64(seed, TRAIN_STREAM, *key)


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit integer seed for the batch order of ``epoch``, derived from ``seed``."""
    return seed63(seed, BATCH_STREAM, epoch)
