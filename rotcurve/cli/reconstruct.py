"""``rotcurve reconstruct``: the model's reconstruction of every curve in a file.

::

    rotcurve reconstruct --run runs/vae4 --data curves.h5 --out recon.h5

Each curve is encoded and its posterior mean decoded; the output is a
rotcurve file (km/s, the generator's format) with the input's true
parameters copied (see :meth:`rotcurve.run.Run.reconstruct_file`).
"""

from __future__ import annotations

import argparse
from typing import Any

from rotcurve.cli._common import add_run_options, check_output_path, show_progress

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``reconstruct``."""
    p = subparsers.add_parser(
        "reconstruct",
        help="decode the posterior mean of every curve in a file",
        description="Reconstruct every curve of a file with a trained model (decode the "
        "posterior mean) and write the curves in km/s in the rotcurve file format.",
    )
    add_run_options(p)
    p.add_argument("--data", required=True, metavar="FILE", help="curves to reconstruct")
    p.add_argument("--out", required=True, metavar="FILE", help="output rotcurve file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Reconstruct and print where the file went."""
    from rotcurve.run import load_run

    check_output_path(args.out, overwrite=args.overwrite)
    model_run = load_run(args.run, which=args.which, device=args.device)
    out = model_run.reconstruct_file(
        args.data, args.out, overwrite=args.overwrite, batch_size=args.batch_size, progress=show_progress(args)
    )
    print(f"wrote the reconstructions of {args.data} (km/s) to {out}")
    return 0
