"""``rotcurve sample``: new curves (or images) from a trained model.

::

    rotcurve sample --run runs/vae4 --n 10000 --out samples.h5 --seed 1

Latent points are drawn from the prior ``N(0, I)`` and decoded; curves are
written in km/s in the rotcurve file format (no parameters), MNIST samples as
``/images (n, 28, 28)`` float32 in [0, 1] (see
:meth:`rotcurve.run.Run.sample_file`).  Latent sources are a registry
(:data:`rotcurve.run.SAMPLE_SOURCES`).
"""

from __future__ import annotations

import argparse
from typing import Any

from rotcurve.cli._common import nonnegative_int, positive_int

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``sample``."""
    from rotcurve.cli.encode import add_run_options

    p = subparsers.add_parser(
        "sample",
        help="draw new curves (or images) from a trained model",
        description="Decode latent points drawn from the prior N(0, I): new rotation curves in "
        "km/s (rotcurve file format) or, for an MNIST run, images in [0, 1].",
    )
    add_run_options(p)
    p.add_argument("--n", required=True, type=positive_int, metavar="N", help="number of samples")
    p.add_argument("--out", required=True, metavar="FILE", help="output HDF5 file")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run, source="prior")
    return p


def run(args: argparse.Namespace) -> int:
    """Sample and print where the file went."""
    from rotcurve.cli._common import check_output_path
    from rotcurve.run import load_run

    check_output_path(args.out, overwrite=args.overwrite)
    model_run = load_run(args.run, which=args.which, device=args.device)
    out = model_run.sample_file(
        args.n,
        args.out,
        seed=args.seed,
        source=args.source,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    what = "images" if model_run.kind == "mnist" else "curves (km/s)"
    print(f"wrote {args.n} sampled {what} (seed {args.seed}) to {out}")
    return 0
