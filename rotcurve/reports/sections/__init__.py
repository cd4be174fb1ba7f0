"""The sections of a report, chosen by the run's data kind through :data:`SECTIONS`.

Every report starts with :func:`~rotcurve.reports.sections.training.training_section`;
:data:`SECTIONS` says what follows for each data kind (the names of
:data:`rotcurve.datasets.kinds.DATA_KINDS`):

* ``"curves"`` -- :mod:`~rotcurve.reports.sections.curves` (reconstruction,
  latents versus physics, new curves from
  :mod:`~rotcurve.reports.sections.sampling`, interpolation and traversals);
* ``"mnist"`` -- :mod:`~rotcurve.reports.sections.mnist` (reconstruction,
  latent space, sample grids).

:mod:`~rotcurve.reports.sections.summary` writes the two sections at the top
of the page ("Run and data", "Summary") once the others are done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from rotcurve.datasets.kinds import kind_named
from rotcurve.reports.sections import curves, mnist

__all__ = ["ReportSections", "SECTIONS", "sections_for"]


@dataclasses.dataclass(frozen=True)
class ReportSections:
    """What a report of one data kind writes after the training summary.

    Attributes
    ----------
    steps : int
        Progress steps :attr:`write` takes at most (the bar's total, less the training step).
    write : callable
        ``write(builder, run, aset, config, metrics, progress)``: adds the sections
        to ``builder.body`` and the numbers to ``metrics``.
    """

    steps: int
    write: Callable[..., None]


#: The sections of each data kind's report.
SECTIONS: dict[str, ReportSections] = {
    "curves": ReportSections(steps=curves.STEPS, write=curves.write),
    "mnist": ReportSections(steps=mnist.STEPS, write=mnist.write),
}


def sections_for(run: Any) -> ReportSections:
    """The :data:`SECTIONS` entry of the run's data kind."""
    return SECTIONS[kind_named(run.kind).name]
