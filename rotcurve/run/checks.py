"""Argument checks and the named random streams shared by the modules of :mod:`rotcurve.run`.

Every random draw of a run derives from one integer seed through
``numpy.random.SeedSequence(seed, spawn_key=(STREAM,))``; the stream keys
below keep scoring, sampling, the aggregate fits and posterior draws
independent of one another.
"""

from __future__ import annotations

from typing import Any

from rotcurve.errors import ConfigError
from rotcurve.seeds import seed64
from rotcurve.validation import check_seed, is_int  # check_seed: re-exported

__all__ = [
    "SCORE_STREAM",
    "SAMPLE_STREAM",
    "AGGREGATE_STREAM",
    "POSTERIOR_STREAM",
    "check_seed",
    "check_batch_size",
    "check_count",
    "torch_seed",
]

SCORE_STREAM = 0x5C0E
SAMPLE_STREAM = 0x5A3B
AGGREGATE_STREAM = 0xA667
POSTERIOR_STREAM = 0x9057


def check_batch_size(batch_size: Any) -> int:
    """``batch_size`` as an int (:class:`ConfigError` unless a positive integer)."""
    if not is_int(batch_size) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def check_count(n: Any, *, least: int = 0) -> int:
    """A number of samples as an int (:class:`ConfigError` unless an integer >= ``least``)."""
    if not is_int(n) or n < least:
        raise ConfigError(f"the number of samples must be an integer >= {least}, got {n!r}")
    return int(n)


def torch_seed(seed: int, stream: int) -> int:
    """A 64-bit seed for a ``torch.Generator`` from ``seed`` and a stream key."""
    return seed64(check_seed(seed), stream)
