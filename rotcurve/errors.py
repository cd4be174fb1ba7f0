"""Exceptions that carry a message meant for a person.

Every error that bad input can cause derives from :class:`RotcurveError`.  The
command line prints its message as one line and exits non-zero; scripts can
catch it (or the builtin base class it also derives from).  The message says
what is wrong and how to fix it.

A message names the interface that was used: a Python caller reads argument
names (``overwrite=True``), a command-line user reads flags (``--overwrite``).
An error that mentions an option therefore carries both forms:
``str(exc)`` is the Python wording and :attr:`RotcurveError.cli_message` the
command line's (``None`` when both are the same).  Build such errors with
:meth:`RotcurveError.both` and the :class:`Option` constants below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "RotcurveError",
    "ConfigError",
    "DataError",
    "OutputError",
    "OutputExistsError",
    "OutputLockedError",
    "DiskFullError",
    "CheckpointError",
    "DeviceError",
    "TrainingError",
    "Option",
    "OVERWRITE",
    "RESUME",
    "OUT",
    "SHARD_SIZE",
]


@dataclass(frozen=True)
class Option:
    """One option as a Python caller and as a command-line user spell it."""

    python: str
    cli: str


#: The options that messages mention most.
OVERWRITE = Option("overwrite=True", "--overwrite")
RESUME = Option("resume=True", "--resume")
OUT = Option("out", "--out")
SHARD_SIZE = Option("shard_size", "--shard-size")
DEVICE = Option("device", "--device")
LR = Option("lr", "--lr")
DOWNLOAD = Option("rotcurve.datasets.download_mnist(DIR)", "--download")
MODEL_DISC_NFW = Option("model='disc-nfw'", "--model disc-nfw")


class RotcurveError(Exception):
    """Base class of all user-facing rotcurve errors.

    Parameters
    ----------
    *args
        The message (Python wording) as for any exception.
    cli : str, keyword-only, optional
        The same message worded for the command line (flags instead of
        argument names); the ``rotcurve`` command prints it instead.
    """

    def __init__(self, *args: Any, cli: str | None = None) -> None:
        super().__init__(*args)
        self.cli_message = cli

    @classmethod
    def both(cls, template: str, **values: Any) -> RotcurveError:
        """An error whose message is ``template`` filled in twice.

        ``values`` that are :class:`Option` give their ``python`` spelling in
        ``str(exc)`` and their ``cli`` spelling in :attr:`cli_message`; other
        values are the same in both.

        Examples
        --------
        >>> e = OutputExistsError.both("{p} exists; pass {o}", p="a.h5", o=OVERWRITE)
        >>> str(e), e.cli_message
        ('a.h5 exists; pass overwrite=True', 'a.h5 exists; pass --overwrite')
        """

        def fill(side: str) -> str:
            return template.format(
                **{k: getattr(v, side) if isinstance(v, Option) else v for k, v in values.items()}
            )

        python, cli = fill("python"), fill("cli")
        return cls(python, cli=None if cli == python else cli)

    def message(self, interface: str = "python") -> str:
        """The message for ``interface`` (``"python"`` or ``"cli"``)."""
        if interface == "cli" and self.cli_message:
            return self.cli_message
        return str(self)


class ConfigError(RotcurveError, ValueError):
    """A configuration, prior, parameter or argument is invalid."""


class DataError(RotcurveError, ValueError):
    """An input file is missing, foreign, truncated or inconsistent."""


class OutputError(RotcurveError, OSError):
    """An output cannot be written (exists, is being written by another run, no space)."""


class OutputExistsError(OutputError, FileExistsError):
    """An output exists and neither overwrite nor resume was asked for."""


class OutputLockedError(OutputError):
    """Another run is writing the same output right now."""


class DiskFullError(OutputError):
    """The filesystem ran out of space (or quota) while an output was written.

    Nothing half-written is left under the output's name; work already
    finished in separate files (finished shards, the last checkpoint) is kept,
    so a resumable command continues with ``--resume`` once there is space.
    """


class CheckpointError(RotcurveError, ValueError):
    """A checkpoint is corrupted, foreign or from a newer version."""


class DeviceError(RotcurveError, RuntimeError):
    """A compute device was asked for that is not available."""


class TrainingError(RotcurveError, RuntimeError):
    """Training cannot go on (for example the loss became NaN)."""
