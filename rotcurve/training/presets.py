"""Tuned default settings per kind of data, read from TOML files shipped with the package.

The files are ``rotcurve/training/preset_files/<kind>.toml`` (``data/presets/`` in a
checkout is a link to that folder).  They are package data, found through
:mod:`importlib.resources`, so they are there in an editable install and in a
wheel alike.  Each holds two tables, every value with a comment giving its reason
and the measurement behind it:

``[train]``
    :class:`~rotcurve.training.config.TrainConfig` fields: what
    :func:`~rotcurve.training.config.default_train_config` starts from.
``[model]``
    :class:`~rotcurve.models.ModelConfig` fields except ``input_dim``: the
    values of :func:`rotcurve.models.default_config` for that kind.

This module only reads the files (TOML arrays become tuples); whoever owns a
config checks a table against it with :meth:`Preset.settings`, which refuses
unknown keys (:func:`rotcurve.serialization.from_dict`).  It imports no config class,
so the config modules can import it.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rotcurve.errors import ConfigError
from rotcurve.serialization import from_dict, load_toml

__all__ = ["PRESET_KINDS", "PRESET_TABLES", "Preset", "load_preset"]

#: Kinds of data with a preset file.
PRESET_KINDS: tuple[str, ...] = ("curves", "mnist")
#: The tables of a preset file.
PRESET_TABLES: tuple[str, ...] = ("train", "model")

_PACKAGE, _FOLDER = "rotcurve.training", "preset_files"


@dataclasses.dataclass(frozen=True)
class Preset:
    """The tables of one preset file.

    Attributes
    ----------
    kind : str
        ``"curves"`` or ``"mnist"``.
    source : str
        The file it was read from (for error messages).
    tables : dict
        ``{"train": {...}, "model": {...}}``: the settings as written, with
        arrays as tuples.
    """

    kind: str
    source: str
    tables: Mapping[str, Mapping[str, Any]]

    def settings(self, table: str, cls: type, **required: Any) -> dict[str, Any]:
        """One table's settings, checked against the config dataclass ``cls``.

        Parameters
        ----------
        table : {"train", "model"}
            The table.
        cls : type
            The config dataclass its keys must be fields of.
        **required
            Values of required fields the table leaves out (``input_dim=1``
            for ``ModelConfig``), used for the check only.

        Returns
        -------
        dict
            A copy of the table (without ``required``).

        Raises
        ------
        ConfigError
            An unknown key or an invalid value; the message names the file.
        """
        settings = dict(self.tables[table])
        try:
            from_dict(cls, {**required, **settings}, where=table)
        except ConfigError as exc:
            raise ConfigError(f"{self.source}: {exc}") from None
        return settings


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def load_preset(kind: str, *, path: str | Path | None = None) -> Preset:
    """Read the preset file of a kind of data.

    Parameters
    ----------
    kind : {"curves", "mnist"}
        The kind of data.
    path : str or Path, keyword-only, optional
        Read this file instead of the shipped one.

    Returns
    -------
    Preset

    Raises
    ------
    ConfigError
        An unknown kind; a missing or malformed file; a table other than
        ``[train]`` and ``[model]``, or a missing one.
    """
    if kind not in PRESET_KINDS:
        raise ConfigError(f"unknown kind of data {kind!r}; choose one of: {', '.join(PRESET_KINDS)}")
    if path is None:
        resource = importlib.resources.files(_PACKAGE).joinpath(_FOLDER, f"{kind}.toml")
        with importlib.resources.as_file(resource) as real:
            return _parse(kind, load_toml(real), str(real))
    return _parse(kind, load_toml(path), str(path))


def _parse(kind: str, raw: dict[str, Any], source: str) -> Preset:
    unknown = sorted(set(raw) - set(PRESET_TABLES))
    missing = [t for t in PRESET_TABLES if not isinstance(raw.get(t), dict)]
    if unknown or missing:
        wrong = [f"unknown {k!r}" for k in unknown] + [f"no [{t}] table" for t in missing]
        raise ConfigError(
            f"{source}: {', '.join(wrong)}; a preset holds the tables "
            f"{', '.join(f'[{t}]' for t in PRESET_TABLES)} only"
        )
    tables = {t: {k: _tuples(v) for k, v in raw[t].items()} for t in PRESET_TABLES}
    return Preset(kind=kind, source=source, tables=tables)
