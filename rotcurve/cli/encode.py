"""``rotcurve encode``: posterior means and covariances of every curve in a file.

::

    rotcurve encode --run runs/vae4 --data curves.h5 --out latents.h5
    rotcurve encode --run runs/vae4 --data curves.h5 --split test --out test-latents.h5

The output (HDF5, written atomically) holds ``/latent/mean (N, d)``,
``/latent/covariance (N, d, d)``, ``/radii`` (kpc), the true ``/params``
when the input has them, ``/rows`` (each curve's row in the input), and
attributes naming the run, its checkpoint and the library versions (see
:meth:`rotcurve.run.Run.encode_file`).  ``--split`` picks the train, val or
test rows of the run's own split when ``--data`` is the run's training file
(another file has no split: every row is encoded, and ``--split`` is
refused).  Read the output with :func:`rotcurve.run.read_latents`.
"""

from __future__ import annotations

import argparse
from typing import Any

from rotcurve.cli._common import add_run_options, check_output_path, show_progress

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``encode``."""
    p = subparsers.add_parser(
        "encode",
        help="posterior means and covariances of curves under a trained model",
        description="Encode every curve of a file (on the run's radius grid) with a trained "
        "model: /latent/mean (N, d) and /latent/covariance (N, d, d), with /radii and the "
        "true /params when present, to an HDF5 file.",
    )
    add_run_options(p)
    p.add_argument("--data", required=True, metavar="FILE|mnist:DIR", help="curves to encode (or MNIST)")
    p.add_argument(
        "--split",
        default=None,
        choices=("train", "val", "test"),
        help="encode only this part of the run's own split of its training data (the run's "
        "training file, or MNIST); default: every curve of the file, MNIST's test split",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output HDF5 file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Encode and print where the file went."""
    from rotcurve.run import load_run

    check_output_path(args.out, overwrite=args.overwrite)
    model_run = load_run(args.run, which=args.which, device=args.device)
    out = model_run.encode_file(
        args.data,
        args.out,
        split=args.split,
        overwrite=args.overwrite,
        batch_size=args.batch_size,
        progress=show_progress(args),
    )
    which = f"the {args.split} split of " if args.split else ""
    print(f"wrote the posteriors (d = {model_run.latent_dim}) of {which}{args.data} to {out}")
    return 0
