"""Deprecated alias of :mod:`rotcurve.serialization` (dataclass configs to and from JSON/TOML); it goes in the next release."""

from __future__ import annotations

import warnings

from rotcurve.serialization import dumps, from_dict, load_json, load_toml, save_json, to_dict

warnings.warn(
    "rotcurve.config moved to rotcurve.serialization; import from rotcurve.serialization instead "
    "(the old path goes in the next release)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["from_dict", "to_dict", "load_toml", "load_json", "save_json", "dumps"]
