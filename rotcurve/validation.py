"""Argument checks shared by every part of rotcurve, with one wording each.

A bad argument is a :class:`~rotcurve.errors.ConfigError` whose message names
the argument, says what it must be and shows what was given::

    >>> from rotcurve.validation import check_int, check_choice
    >>> check_int("epochs", 3, minimum=1)
    3
    >>> check_int("epochs", 0, minimum=1)
    Traceback (most recent call last):
    ...
    rotcurve.errors.ConfigError: epochs must be an integer >= 1, got 0
    >>> check_choice("activation", "tanh", ("silu", "relu"))
    Traceback (most recent call last):
    ...
    rotcurve.errors.ConfigError: unknown activation 'tanh'; choose one of: silu, relu

Where a message must say more than these (the place in a file, a command-line
flag), the caller keeps its own wording and uses the predicates
:func:`is_int` and :func:`is_number`, which say the one thing that is easy to
get wrong: ``True`` is an ``int`` to Python but never a count or a number
here.  The output-path check is :func:`rotcurve.io.atomic.check_output`.

This module imports only numpy and :mod:`rotcurve.errors`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from rotcurve.errors import ConfigError, Option

__all__ = [
    "is_int",
    "is_number",
    "check_int",
    "check_float",
    "check_seed",
    "check_choice",
    "check_bool",
    "first_line",
]


def is_int(value: Any, *, numpy: bool = True) -> bool:
    """Whether ``value`` is an integer (a bool is not).

    Parameters
    ----------
    value : object
        The value to test.
    numpy : bool, keyword-only
        Whether numpy integer scalars (``np.int64(3)``) count.  False where
        the value is stored as given (frozen dataclass configs that are
        written to JSON).
    """
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, np.integer) if numpy else int)


def is_number(value: Any, *, numpy: bool = True) -> bool:
    """Whether ``value`` is a real number, int or float (a bool is not; NaN is).

    Parameters
    ----------
    value : object
        The value to test.
    numpy : bool, keyword-only
        Whether numpy integer and floating scalars count.
    """
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, float, np.integer, np.floating) if numpy else (int, float))


def check_int(
    name: str | Option, value: Any, *, minimum: int = 1, maximum: int | None = None, numpy: bool = True
) -> int:
    """``value`` as an ``int`` after checking it is an integer in ``[minimum, maximum]``.

    Parameters
    ----------
    name : str or Option
        The argument's name, for the message; an :class:`~rotcurve.errors.Option`
        names it as Python and as the command line spell it.
    value : object
        The value given.
    minimum : int, keyword-only
        The smallest value allowed (1: a count of things; 0 for seeds).
    maximum : int, optional, keyword-only
        The largest value allowed (None: no limit).
    numpy : bool, keyword-only
        Whether numpy integer scalars are accepted (see :func:`is_int`).

    Returns
    -------
    int

    Raises
    ------
    ConfigError
        ``{name} must be an integer >= {minimum}, got {value!r}`` (a value of
        the right type but too small is shown as a plain integer);
        ``{name} must be an integer <= {maximum}, got ...`` above ``maximum``.
    """
    if not is_int(value, numpy=numpy):
        raise ConfigError.both("{n} must be an integer >= {m}, got {v!r}", n=name, m=minimum, v=value)
    if value < minimum:
        raise ConfigError.both("{n} must be an integer >= {m}, got {v}", n=name, m=minimum, v=int(value))
    if maximum is not None and value > maximum:
        raise ConfigError.both("{n} must be an integer <= {m}, got {v}", n=name, m=maximum, v=int(value))
    return int(value)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    numpy: bool = True,
) -> float:
    """``value`` as a finite ``float`` after checking it lies in the allowed range.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object
        The value given.
    minimum : float, optional, keyword-only
        The lower limit (None: none).
    maximum : float, optional, keyword-only
        The upper limit, inclusive (None: none).
    strict : bool, keyword-only
        Whether ``minimum`` itself is excluded (``> minimum`` instead of ``>=``).
    numpy : bool, keyword-only
        Whether numpy scalars are accepted (see :func:`is_number`).

    Returns
    -------
    float

    Raises
    ------
    ConfigError
        ``{name} must be a finite number, got ...`` for a non-number, NaN or
        infinity; ``{name} must be > 0 and <= 1, got ...`` (the limits that
        apply) outside the range.
    """
    if not is_number(value, numpy=numpy) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    low = -math.inf if minimum is None else minimum
    if value < low or (strict and value == low) or (maximum is not None and value > maximum):
        parts = []
        if minimum is not None:
            parts.append(f"{'>' if strict else '>='} {minimum:g}")
        if maximum is not None:
            parts.append(f"<= {maximum:g}")
        raise ConfigError(f"{name} must be {' and '.join(parts)}, got {value!r}")
    return float(value)


def check_seed(seed: Any, *, name: str = "seed") -> int:
    """A random seed as an ``int``: a non-negative integer (numpy integers too).

    Raises
    ------
    ConfigError
        ``seed must be a non-negative integer, got ...``.
    """
    if not is_int(seed) or seed < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices`` (a sequence, or a registry dict's keys).

    Parameters
    ----------
    name : str
        What is being chosen, for the message (``"activation"``).
    value : object
        The requested name.
    choices : iterable
        The allowed values, in the order the message lists them.

    Raises
    ------
    ConfigError
        ``unknown {name} {value!r}; choose one of: a, b, c``.
    """
    allowed = list(choices)
    if value not in allowed:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(map(str, allowed))}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a ``bool`` if it is ``True`` or ``False`` (numpy booleans too).

    Raises
    ------
    ConfigError
        ``{name} must be True or False, got ...`` (``0``, ``1`` and strings are refused).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty).

    Messages of HDF5, torch and pandas errors run over several lines; a
    message for a person quotes only the first.
    """
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
