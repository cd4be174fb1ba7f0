"""The data kind of a run or of a data spec: the one place the report tells curves from MNIST.

Every per-kind choice of the report (which examples are analysed, which
sections are written) is a registry keyed by the names these two functions
return: ``"curves"`` or ``"mnist"``.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["KINDS", "run_kind", "spec_kind"]

#: The data kinds a report knows.
KINDS: tuple[str, ...] = ("curves", "mnist")

# TODO(issue 8): take both answers from the data-kind family rotcurve.datasets.kinds
# (kind_for_spec, kind_named, DATA_KINDS) once it exists.


def run_kind(run: Any) -> str:
    """The data kind a run was trained on (``run.kind``: ``"curves"`` or ``"mnist"``)."""
    return "mnist" if run.kind == "mnist" else "curves"


def spec_kind(spec: str | os.PathLike[str]) -> str:
    """The data kind of a data spec: ``"mnist"`` for ``mnist:DIR``, ``"curves"`` for a file."""
    return "mnist" if os.fspath(spec).startswith("mnist:") else "curves"
