"""One entry point for every kind of input: :func:`load_galaxies`.

Accepted sources:

* a SPARC ``<Galaxy>_rotmod.dat`` file, a folder of them, or the SPARC release
  ``Rotmod_LTG.zip`` as it is (Lelli, McGaugh & Schombert 2016, AJ 152, 157;
  CC-BY-4.0), see :mod:`rotcurve.inference.sparc`;
* a long table file (``.csv``, ``.ecsv``, ``.h5``/``.hdf5``) or an astropy
  ``Table`` / pandas ``DataFrame``, see :mod:`rotcurve.inference.tables`;
* a :class:`~rotcurve.inference.galaxy.Galaxy`, a dict of columns
  (``{"R": ..., "V": ..., "eV": ...}``, astropy Quantities accepted), or a list
  of these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rotcurve.errors import DataError
from rotcurve.inference.galaxy import BadInput, Galaxy, names_unique
from rotcurve.inference.sparc import SUFFIX, read_rotmod, read_sparc_folder, read_sparc_zip
from rotcurve.inference.tables import TABLE_SUFFIXES, galaxies_from_table, read_table

__all__ = ["load_galaxies"]


def _is_table(obj: Any) -> bool:
    mod = type(obj).__module__
    return (mod.startswith("pandas") and hasattr(obj, "columns")) or (mod.startswith("astropy") and hasattr(obj, "colnames"))


def _from_path(path: Path) -> list[Galaxy | BadInput]:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder; give a SPARC file, folder or zip, or a table")
    if path.is_dir():
        return read_sparc_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return read_sparc_zip(path)
    if suffix in TABLE_SUFFIXES:
        return read_table(path)
    if path.name.endswith(SUFFIX) or suffix in (".dat", ".txt"):
        return [read_rotmod(path)]
    raise DataError(
        f"{path}: unknown input type; give a SPARC *{SUFFIX} file, a folder of them, a .zip, "
        f"or a table ({', '.join(TABLE_SUFFIXES)})"
    )


def load_galaxies(source: Any, *, name: str | None = None) -> list[Galaxy | BadInput]:
    """Read galaxies from any supported source.

    Parameters
    ----------
    source : path, Table, DataFrame, Galaxy, mapping, or sequence of Galaxy / mapping
        See the module docstring.
    name : str, keyword-only
        Name of a galaxy given as a mapping without a ``name`` key.

    Returns
    -------
    list of Galaxy or BadInput
        In input order (files sorted by name).  Galaxies are validated when
        fitted; files that cannot be parsed become :class:`BadInput` entries
        inside a folder or zip, so that the rest of a catalogue goes on.

    Raises
    ------
    DataError
        The source does not exist or cannot be read as a whole (missing
        columns, empty table, unknown format), or names repeat.
    """
    if isinstance(source, (Galaxy, BadInput)):
        items: list[Galaxy | BadInput] = [source]
    elif isinstance(source, (str, Path)):
        items = _from_path(Path(source))
    elif _is_table(source):
        items = galaxies_from_table(source, source=f"{type(source).__name__}")
    elif isinstance(source, Mapping):
        items = [Galaxy.from_mapping(source, name=name if "name" not in source else None)]
    elif isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        items = []
        for i, entry in enumerate(source):
            if isinstance(entry, (Galaxy, BadInput)):
                items.append(entry)
            elif isinstance(entry, Mapping):
                items.append(Galaxy.from_mapping(entry, name=None if "name" in entry else f"galaxy{i}"))
            else:
                raise DataError(
                    f"entry {i} of the galaxy list is a {type(entry).__name__}; give Galaxy objects or dicts"
                )
        if not items:
            raise DataError("the list of galaxies is empty")
    else:
        raise DataError(
            f"cannot read galaxies from a {type(source).__name__}; give a path, a Table/DataFrame, "
            "a Galaxy, a dict of columns or a list of them"
        )
    names_unique(items)
    return items
