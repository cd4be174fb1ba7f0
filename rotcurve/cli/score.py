"""``rotcurve score``: held-out metrics of a trained model, as JSON.

::

    rotcurve score --run runs/vae4 --data curves.h5              # the run's test split
    rotcurve score --run runs/vae4 --data other.h5               # every curve of another file
    rotcurve score --run runs/mnist --data mnist:data/mnist

With the run's own training file the split is recomputed from the run's seed
and fractions; another file on the same radius grid is scored whole.  The
metrics are described in :mod:`rotcurve.run`.
"""

from __future__ import annotations

import argparse
from typing import Any

from rotcurve.cli._common import add_run_options, nonnegative_int, show_progress

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``score``."""
    p = subparsers.add_parser(
        "score",
        help="held-out metrics of a trained model (JSON)",
        description="Score a trained model: negative ELBO (nats per example) and its parts; for "
        "curves also the median fractional error and RMS error (km/s) of the posterior-mean "
        "reconstruction.  Prints JSON.",
    )
    add_run_options(p)
    p.add_argument("--data", required=True, metavar="FILE|mnist:DIR", help="the data to score")
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test"),
        help="split of the run's training data (default test); another file is scored whole",
    )
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="seed of the ELBO's posterior draws")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Score and print the metrics as JSON on stdout."""
    import json

    from rotcurve.run import load_run

    model_run = load_run(args.run, which=args.which, device=args.device)
    result = model_run.score(
        args.data, split=args.split, batch_size=args.batch_size, seed=args.seed, progress=show_progress(args)
    )
    print(json.dumps(result, indent=2))
    return 0
