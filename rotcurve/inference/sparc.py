"""Read SPARC mass models: ``<Galaxy>_rotmod.dat`` files, a folder of them, or the zip.

SPARC (Lelli, McGaugh & Schombert 2016, "SPARC: Mass Models for 175 Disk
Galaxies with Spitzer Photometry and Accurate Rotation Curves", AJ 152, 157;
CC-BY-4.0) gives, per galaxy, a text file with a header::

    # Distance = 13.8 Mpc
    # Rad   Vobs    errV    Vgas    Vdisk   Vbul    SBdisk  SBbul
    # kpc   km/s    km/s    km/s    km/s    km/s    L/pc^2  L/pc^2

followed by one row per radius.  ``Vdisk`` and ``Vbul`` are for a 3.6 micron
mass-to-light ratio of 1; ``Vgas`` includes helium and may be negative.  The
release ``Rotmod_LTG.zip`` holds the 175 files; it is read as it is.

Functions here return :class:`~rotcurve.inference.galaxy.Galaxy` objects
(unvalidated: the fit validates them and names the row) or, for a file that
cannot be parsed at all, :class:`~rotcurve.inference.galaxy.BadInput` inside a
catalogue.  Rows are labelled by their line number in the file.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rotcurve.errors import DataError
from rotcurve.inference.galaxy import BadInput, Galaxy

__all__ = ["SUFFIX", "parse_rotmod", "read_rotmod", "read_sparc_zip", "read_sparc_folder", "galaxy_name"]

#: File name ending of a SPARC mass model.
SUFFIX = "_rotmod.dat"

_DISTANCE = re.compile(r"distance\s*=\s*([-+0-9.eE]+)\s*mpc", re.IGNORECASE)
_COLUMNS = ("R", "V", "eV", "Vgas", "Vdisk", "Vbul", "SBdisk", "SBbul")


def galaxy_name(filename: str) -> str:
    """``NGC3198`` from ``.../NGC3198_rotmod.dat``."""
    base = Path(filename).name
    return base[: -len(SUFFIX)] if base.endswith(SUFFIX) else Path(base).stem


def parse_rotmod(text: str, *, name: str, source: str = "") -> Galaxy:
    """Parse the text of one ``_rotmod.dat`` file.

    Parameters
    ----------
    text : str
        The file's content.
    name : str, keyword-only
        Galaxy name.
    source : str, keyword-only
        File name for messages.

    Returns
    -------
    Galaxy
        With ``R``, ``V``, ``eV``, ``Vgas``, ``Vdisk``, ``Vbul`` and (when
        present) ``SBdisk``, ``SBbul``; ``distance`` from the header.  Not yet
        validated (an empty file gives a galaxy without points).

    Raises
    ------
    DataError
        A row with too few or non-numeric columns (naming the line).
    """
    where = f"{source}: galaxy {name}" if source else f"galaxy {name}"
    distance = None
    values: list[list[float]] = []
    lines: list[str] = []
    width = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = _DISTANCE.search(stripped)
            if m:
                try:
                    distance = float(m.group(1))
                except ValueError:
                    raise DataError(f"{where}, line {lineno}: cannot read the distance {m.group(1)!r}") from None
            continue
        fields = stripped.split()
        if len(fields) < 6:
            raise DataError(
                f"{where}, line {lineno}: {len(fields)} columns; a SPARC row has Rad, Vobs, errV, "
                "Vgas, Vdisk, Vbul[, SBdisk, SBbul]"
            )
        try:
            row = [float(f) for f in fields[:8]]
        except ValueError:
            raise DataError(f"{where}, line {lineno}: non-numeric value in {stripped!r}") from None
        width = len(row) if width is None else min(width, len(row))
        values.append(row)
        lines.append(f"line {lineno}")
    if not values:
        empty = {c: [] for c in _COLUMNS[:6]}
        return Galaxy(name, distance=distance, source=source, rows=(), **empty)
    table = np.array([row[:width] for row in values], dtype=np.float64)
    cols = {c: table[:, i] for i, c in enumerate(_COLUMNS[:width])}
    return Galaxy(name, distance=distance, source=source, rows=tuple(lines), **cols)


def read_rotmod(path: str | Path) -> Galaxy:
    """Read one ``<Galaxy>_rotmod.dat`` file (see :func:`parse_rotmod`).

    Raises
    ------
    DataError
        The file is missing, not text, or has a malformed row.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="strict")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file; expected a SPARC _rotmod.dat file") from None
    return parse_rotmod(text, name=galaxy_name(path.name), source=str(path))


def _collect(named: Iterable[tuple[str, str, bytes | Exception]]) -> list[Galaxy | BadInput]:
    out: list[Galaxy | BadInput] = []
    for name, source, payload in named:
        if isinstance(payload, Exception):
            out.append(BadInput(name, f"{source}: galaxy {name}: cannot read ({payload})"))
            continue
        try:
            text = payload.decode("utf-8")
            out.append(parse_rotmod(text, name=name, source=source))
        except UnicodeDecodeError:
            out.append(BadInput(name, f"{source}: galaxy {name}: not a text file"))
        except DataError as exc:
            out.append(BadInput(name, str(exc)))
    return out


def read_sparc_zip(path: str | Path) -> list[Galaxy | BadInput]:
    """Every ``*_rotmod.dat`` member of a zip file (e.g. SPARC's ``Rotmod_LTG.zip``), sorted by name.

    Raises
    ------
    DataError
        Not a zip file, or no ``_rotmod.dat`` member in it.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError(f"{path}: not a zip file") from None
    with zf:
        members = sorted(m for m in zf.namelist() if m.endswith(SUFFIX) and not Path(m).name.startswith("."))
        if not members:
            raise DataError(f"{path}: no *{SUFFIX} file inside; expected the SPARC Rotmod_LTG.zip")

        def items() -> Iterable[tuple[str, str, bytes | Exception]]:
            for m in members:
                try:
                    payload: bytes | Exception = zf.read(m)
                except (zipfile.BadZipFile, OSError) as exc:
                    payload = exc
                yield galaxy_name(m), f"{path.name}:{m}", payload

        return _collect(items())


def read_sparc_folder(path: str | Path) -> list[Galaxy | BadInput]:
    """Every ``*_rotmod.dat`` file of a folder, sorted by name.

    Raises
    ------
    DataError
        No ``_rotmod.dat`` file in the folder.
    """
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.name.endswith(SUFFIX) and p.is_file())
    if not files:
        raise DataError(f"{path}: no *{SUFFIX} file in this folder")

    def items() -> Iterable[tuple[str, str, bytes | Exception]]:
        for f in files:
            try:
                payload: bytes | Exception = f.read_bytes()
            except OSError as exc:
                payload = exc
            yield galaxy_name(f.name), str(f), payload

    return _collect(items())
