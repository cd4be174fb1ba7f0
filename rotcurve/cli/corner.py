"""``rotcurve corner``: corner plot of the true parameters and the latent means of held-out curves.

::

    rotcurve corner --run runs/vae4 --data curves.h5 --out corner.pdf

Plots ``log10`` Md [Msun], Rd [kpc], Mh [Msun], c next to the latent means
(the ``corner`` package), for the run's test split when ``--data`` is its
training file and every curve of another file otherwise (at most
``--n-curves``, a seeded subsample); without true parameters the latent means
alone.  The format follows the suffix (.pdf, .png or .svg); the file is
written atomically.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rotcurve.analysis.figures import FIGURE_FORMATS, save_figure  # light: matplotlib is imported when saving
from rotcurve.cli._common import add_run_options, check_output_path, nonnegative_int, positive_int
from rotcurve.errors import ConfigError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``corner``."""
    p = subparsers.add_parser(
        "corner",
        help="corner plot of log10 Md, Rd, Mh, c and the latent means (PDF/PNG)",
        description="Corner plot of the true parameters (log10, with units) and the posterior means of "
        "held-out curves under a trained model.  The output format follows the suffix: .pdf, .png or .svg.",
    )
    add_run_options(p, batch_size=False)
    p.add_argument("--data", required=True, metavar="FILE", help="curves on the run's radius grid")
    p.add_argument("--out", required=True, metavar="FILE.pdf|png", help="the figure file")
    p.add_argument("--n-curves", type=positive_int, default=5000, metavar="N", help="most curves plotted (default 5000)")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="seed of the subsample (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Draw the corner plot and print where it went."""
    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS:
        raise ConfigError(
            f"{out}: unknown figure format {out.suffix or '(no suffix)'!r}; end the name in "
            + ", ".join("." + f for f in FIGURE_FORMATS)
        )
    check_output_path(out, overwrite=args.overwrite)

    from rotcurve.reports import corner_figure
    from rotcurve.run import load_run

    model_run = load_run(args.run, which=args.which, device=args.device)
    fig = corner_figure(model_run, args.data, n_curves=args.n_curves, seed=args.seed)
    save_figure(fig, out, overwrite=args.overwrite)
    print(f"wrote the corner plot to {out}")
    return 0
