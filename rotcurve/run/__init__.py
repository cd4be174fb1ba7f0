"""A trained run for scripts: encode, decode, sample and score in physical units.

See :mod:`rotcurve.run.api`.
"""

from __future__ import annotations

from rotcurve.run import api as _api
from rotcurve.run.api import *  # noqa: F401,F403
from rotcurve.run.api import __all__  # noqa: F401

_read_rows = _api._read_rows
