"""Exceptions that carry a message meant for a person.

Every error that bad input can cause derives from :class:`RotcurveError`.  The
command line prints its message as one line and exits non-zero; scripts can
catch it (or the builtin base class it also derives from).  The message says
what is wrong and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "RotcurveError",
    "ConfigError",
    "DataError",
    "OutputExistsError",
    "CheckpointError",
    "DeviceError",
    "TrainingError",
]


class RotcurveError(Exception):
    """Base class of all user-facing rotcurve errors."""


class ConfigError(RotcurveError, ValueError):
    """A configuration, prior, parameter or argument is invalid."""


class DataError(RotcurveError, ValueError):
    """An input file is missing, foreign, truncated or inconsistent."""


class OutputExistsError(RotcurveError, FileExistsError):
    """An output exists and neither overwrite nor resume was asked for."""


class CheckpointError(RotcurveError, ValueError):
    """A checkpoint is corrupted, foreign or from a newer version."""


class DeviceError(RotcurveError, RuntimeError):
    """A compute device was asked for that is not available."""


class TrainingError(RotcurveError, RuntimeError):
    """Training cannot go on (for example the loss became NaN)."""
