"""The radius grid on which rotation curves are evaluated.

:class:`RadiiSpec` describes the grid: by default 50 log-spaced radii from
0.1 to 50 kpc, or ``n`` radii between ``rmin`` and ``rmax`` spaced ``"log"`` or
``"linear"``, or explicit ``values``.  It is saved as JSON (``to_dict``) in every
output file.  :func:`parse_radii` reads the command-line form
``RMIN:RMAX:N[:log|linear]`` or a text/CSV file with one radius (kpc) per line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rotcurve.errors import ConfigError
from rotcurve.serialization import from_dict
from rotcurve.validation import is_int, is_number

__all__ = ["RadiiSpec", "parse_radii", "read_radii_file", "SPACINGS", "MAX_RADII"]

#: Allowed ``spacing`` values; ``"explicit"`` means ``values`` is the grid.
SPACINGS: tuple[str, ...] = ("log", "linear", "explicit")
#: The largest radius grid: one curve on it is 400 kB (float32) to 800 kB
#: (float64); every block of curves must hold at least one.
MAX_RADII: int = 100_000


def _too_many(what: str, n: int) -> ConfigError:
    return ConfigError(
        f"{what}: {n:,} radii are more than the {MAX_RADII:,} supported (one curve would take "
        f"{n * 8 / 2**20:,.0f} MiB in memory); use fewer radii"
    )


@dataclass(frozen=True)
class RadiiSpec:
    """A radius grid in kpc.

    Attributes
    ----------
    rmin, rmax : float
        First and last radius in kpc, ``0 < rmin < rmax``.
    n : int
        Number of radii, 2 to :data:`MAX_RADII` (100 000).
    spacing : {"log", "linear", "explicit"}
        ``"log"``: geometric; ``"linear"``: evenly spaced; ``"explicit"``: the
        grid is ``values`` (set automatically when ``values`` is given).
    values : tuple of float or None
        Explicit radii in kpc, positive, finite, strictly increasing.  When
        given, ``rmin``, ``rmax`` and ``n`` are taken from them.

    Examples
    --------
    >>> RadiiSpec().grid().shape
    (50,)
    >>> RadiiSpec(values=(1.0, 2.0, 4.0)).n
    3
    """

    rmin: float = 0.1
    rmax: float = 50.0
    n: int = 50
    spacing: Literal["log", "linear", "explicit"] = "log"
    values: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.values is not None:
            try:
                vals = np.asarray(self.values, dtype=np.float64)
            except (TypeError, ValueError):
                raise ConfigError(f"radii values must be numbers (kpc), got {self.values!r}") from None
            _check_values(vals, "radii values")
            object.__setattr__(self, "values", tuple(float(v) for v in vals))
            object.__setattr__(self, "rmin", float(vals[0]))
            object.__setattr__(self, "rmax", float(vals[-1]))
            object.__setattr__(self, "n", int(vals.size))
            object.__setattr__(self, "spacing", "explicit")
            return
        if self.spacing not in SPACINGS:
            raise ConfigError(f"radii spacing {self.spacing!r} is not one of 'log', 'linear'")
        if self.spacing == "explicit":
            raise ConfigError("radii spacing 'explicit' needs values = [r1, r2, ...] in kpc")
        for name in ("rmin", "rmax"):
            value = getattr(self, name)
            if not is_number(value, numpy=False) or not math.isfinite(value):
                raise ConfigError(f"radii {name} must be a finite number of kpc, got {value!r}")
            if value <= 0:
                raise ConfigError(f"radii {name} must be positive (kpc), got {value!r}")
            object.__setattr__(self, name, float(value))
        if not self.rmin < self.rmax:
            raise ConfigError(
                f"radii rmin ({self.rmin:g}) must be below rmax ({self.rmax:g}) kpc; swap them"
            )
        if not is_int(self.n) or self.n < 2:
            raise ConfigError(f"number of radii must be an integer >= 2, got {self.n!r}")
        if self.n > MAX_RADII:
            raise _too_many("radii", int(self.n))
        object.__setattr__(self, "n", int(self.n))

    @classmethod
    def from_values(cls, values: Sequence[float] | np.ndarray) -> RadiiSpec:
        """An explicit grid from radii in kpc."""
        return cls(values=tuple(np.asarray(values, dtype=np.float64).ravel().tolist()))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RadiiSpec:
        """Build from :meth:`to_dict` output (unknown keys are errors)."""
        return from_dict(cls, dict(data), where="radii")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return {
            "rmin": self.rmin,
            "rmax": self.rmax,
            "n": self.n,
            "spacing": self.spacing,
            "values": None if self.values is None else list(self.values),
        }

    def grid(self) -> np.ndarray:
        """The radii.

        Returns
        -------
        ndarray, shape (n,)
            float64 radii in kpc, strictly increasing; the end points equal
            ``rmin`` and ``rmax`` exactly.
        """
        if self.values is not None:
            return np.array(self.values, dtype=np.float64)
        if self.spacing == "log":
            r = np.geomspace(self.rmin, self.rmax, self.n, dtype=np.float64)
        else:
            r = np.linspace(self.rmin, self.rmax, self.n, dtype=np.float64)
        r[0], r[-1] = self.rmin, self.rmax
        return r


def _check_values(vals: np.ndarray, what: str) -> None:
    if vals.ndim != 1:
        raise ConfigError(f"{what} must be a flat list of radii, got shape {vals.shape}")
    if vals.size < 2:
        raise ConfigError(f"{what}: need at least 2 radii, got {vals.size}")
    if vals.size > MAX_RADII:
        raise _too_many(what, int(vals.size))
    bad = np.flatnonzero(~np.isfinite(vals))
    if bad.size:
        raise ConfigError(f"{what}: radius #{bad[0] + 1} is {vals[bad[0]]:g}; radii must be finite")
    bad = np.flatnonzero(vals <= 0)
    if bad.size:
        raise ConfigError(f"{what}: radius #{bad[0] + 1} is {vals[bad[0]]:g}; radii must be positive (kpc)")
    bad = np.flatnonzero(np.diff(vals) <= 0)
    if bad.size:
        i = bad[0]
        raise ConfigError(
            f"{what}: radii must be strictly increasing, but #{i + 2} ({vals[i + 1]:g}) "
            f"follows #{i + 1} ({vals[i]:g})"
        )


def read_radii_file(path: str | Path) -> RadiiSpec:
    """Read radii (kpc) from a text or CSV file, one per line.

    Blank lines and lines starting with ``#`` are skipped; of a CSV line only the
    first field is used; a first line that is not a number is taken as a header.

    Raises
    ------
    ConfigError
        Missing file, a value that is not a number (with its line number), or an
        invalid grid.
    """
    path = Path(path)
    try:
        if path.stat().st_size > 64 * MAX_RADII:
            raise ConfigError(
                f"radii file {path} is {path.stat().st_size / 2**20:,.0f} MiB, too large for at most "
                f"{MAX_RADII:,} radii; give one radius (kpc) per line"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"radii file {path}: no such file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"radii file {path}: cannot read it ({exc})") from None
    values: list[float] = []
    seen_data = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        field = line.split("#", 1)[0].split(",", 1)[0].strip()
        if not field:
            continue
        try:
            values.append(float(field))
        except ValueError:
            if not seen_data and not values:
                seen_data = True  # a header line
                continue
            raise ConfigError(
                f"radii file {path}, line {lineno}: {field!r} is not a number; "
                "give one radius in kpc per line"
            ) from None
        seen_data = True
        if len(values) > MAX_RADII:
            data_lines = sum(1 for line in text.splitlines() if line.split("#", 1)[0].strip())
            raise _too_many(f"radii file {path}", data_lines)
    vals = np.asarray(values, dtype=np.float64)
    _check_values(vals, f"radii file {path}")
    return RadiiSpec(values=tuple(values))


def parse_radii(text: str | Path | RadiiSpec | None) -> RadiiSpec:
    """Parse a radius grid from the command line.

    Parameters
    ----------
    text : str, Path, RadiiSpec or None
        ``"RMIN:RMAX:N"`` or ``"RMIN:RMAX:N:log"`` / ``":linear"`` (kpc), or a
        path to a text/CSV file with one radius per line.  ``None`` gives the
        default grid.

    Returns
    -------
    RadiiSpec

    Raises
    ------
    ConfigError
        When the text is neither form, or the grid is invalid.
    """
    if text is None:
        return RadiiSpec()
    if isinstance(text, RadiiSpec):
        return text
    if isinstance(text, Path) or Path(str(text)).is_file():
        return read_radii_file(text)
    text = str(text).strip()
    parts = text.split(":")
    if len(parts) in (3, 4):
        spacing = parts[3].strip().lower() if len(parts) == 4 else "log"
        if spacing not in ("log", "linear"):
            raise ConfigError(f"radii {text!r}: spacing {parts[3]!r} is not 'log' or 'linear'")
        try:
            rmin, rmax = float(parts[0]), float(parts[1])
        except ValueError:
            raise ConfigError(
                f"radii {text!r}: RMIN and RMAX must be numbers (kpc), as in 0.1:50:50"
            ) from None
        try:
            n = int(parts[2])
        except ValueError:
            raise ConfigError(f"radii {text!r}: N must be an integer, as in 0.1:50:50") from None
        return RadiiSpec(rmin=rmin, rmax=rmax, n=n, spacing=spacing)  # type: ignore[arg-type]
    raise ConfigError(
        f"radii {text!r} is neither RMIN:RMAX:N[:log|linear] (kpc) nor an existing file "
        "with one radius per line"
    )
