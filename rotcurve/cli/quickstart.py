"""``rotcurve quickstart``: generate, train and report on the built-in default.

::

    rotcurve quickstart                              # into ./rotcurve-quickstart
    rotcurve quickstart --out qs --seed 1 --device cpu
    rotcurve quickstart --overwrite                  # after an interruption, or again

Generates 20,000 curves from the reference prior (``OUT/curves.h5``), trains
the default 4-D VAE (``OUT/run/``; on the GPU when there is one) and writes
the report on the held-out curves (``OUT/report/``), then prints where
everything is, a one-line summary of the key numbers, and the report's HTML
page last.  See :func:`rotcurve.quickstart.quickstart`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rotcurve.cli._common import (
    add_common_options,
    nonnegative_int,
    positive_int,
    show_progress,
    thread_count,
)

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``quickstart``."""
    from rotcurve.quickstart import DEFAULT_OUT, QuickstartConfig

    d = QuickstartConfig()
    p = subparsers.add_parser(
        "quickstart",
        help="the whole job in one command: generate curves, train a VAE, write the report",
        description=(
            f"Generate {d.n_curves:,} rotation curves (exponential disc + NFW halo, reference "
            f"prior), train the default 4-D VAE on them for {d.epochs} epochs (on the GPU when "
            "there is one, else the CPU; about 2-3 minutes on 2 CPU cores) and write the report on "
            "the held-out curves: reconstructions, corner plot of the parameters against the "
            "latents, correlations, R^2, new curves from the prior and the aggregate posterior "
            "with their physical validity and two-sample test. No download."
        ),
    )
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"output folder (default ./{DEFAULT_OUT}); must not exist unless --overwrite",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="use an existing DIR, replacing the quickstart's files in it (curves.h5, run/, "
        "report/, quickstart.json); other files there are left alone",
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where to train: auto (default: the GPU when there is one), cpu or cuda",
    )
    p.add_argument(
        "--seed",
        type=nonnegative_int,
        default=0,
        metavar="S",
        help="the one random seed: data, split, weights, samples (default 0)",
    )
    sizes = p.add_argument_group("sizes (smaller is quicker and less accurate)")
    sizes.add_argument(
        "--n-curves",
        type=positive_int,
        default=d.n_curves,
        metavar="N",
        help=f"curves to generate, >= 100 (default {d.n_curves})",
    )
    sizes.add_argument(
        "--epochs", type=positive_int, default=d.epochs, metavar="E",
        help=f"training epochs (default {d.epochs})",
    )
    sizes.add_argument(
        "--n-samples",
        type=positive_int,
        default=d.n_samples,
        metavar="M",
        help=f"curves the report draws from each latent sampler, >= 20 (default {d.n_samples})",
    )
    p.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        metavar="N",
        help="torch CPU threads (default: 1 when training on the CPU, which is fastest for this "
        "small network on a busy machine)",
    )
    add_common_options(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the quickstart and print where everything went; returns the exit status."""
    from rotcurve.quickstart import quickstart, summary_line

    try:
        result = quickstart(
            args.out,
            seed=args.seed,
            device=args.device,
            overwrite=args.overwrite,
            progress=show_progress(args),
            n_curves=args.n_curves,
            epochs=args.epochs,
            n_samples=args.n_samples,
            threads=args.threads,
        )
    except KeyboardInterrupt:
        print(
            f"rotcurve quickstart: interrupted; {args.out} is incomplete (no quickstart.json); "
            "rerun with --overwrite to start again",
            file=sys.stderr,
        )
        return 130
    s = result.seconds
    total = sum(s.values())
    print(
        f"quickstart finished in {total:.0f} s on {result.device} "
        f"(generate {s['generate']:.0f} s, train {s['train']:.0f} s, report {s['report']:.0f} s)"
    )
    print(f"  curves:  {result.data}")
    print(f"  run:     {result.run_dir}  (model: {result.run_dir / 'checkpoints' / 'best.pt'})")
    print(f"  report:  {result.report_dir}")
    print(f"  summary: {result.out / 'quickstart.json'}")
    print(summary_line(result.metrics))
    print(f"open the report: {result.report}")
    return 0
