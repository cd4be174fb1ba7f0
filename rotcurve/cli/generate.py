"""``rotcurve generate``: simulate rotation curves into an HDF5 file.

::

    rotcurve generate --n 1000000 --seed 1 --out curves.h5
    rotcurve generate --n 10M ... --resume          # after an interruption
    rotcurve generate --n 1e7 --seed 1 --out /shared/big.h5 --scheduler tcp://head:8786

See :func:`rotcurve.generator.batch.generate` for the layout (one file, or a
master file plus ``FILE.shards/``), reproducibility and resumption.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from rotcurve.cli._common import (
    add_common_options,
    add_parallel_options,
    add_physics_options,
    add_prior_option,
    add_radii_option,
    add_seed_option,
    add_storage_options,
    library_notes,
    positive_float,
    positive_int,
    show_progress,
    storage_from_args,
)
from rotcurve.errors import ConfigError

__all__ = ["add_parser", "run", "count"]

#: Shown in --help; equal to rotcurve.generator.batch.DEFAULT_SHARD_SIZE (a test checks).
_DEFAULT_SHARD_SIZE_TEXT = "100000"

_SUFFIXES = {"k": 10**3, "m": 10**6, "g": 10**9}
_SCI = re.compile(r"^(\d+)(?:\.(\d+))?[eE]\+?(\d+)$")


def count(text: str) -> int:
    """argparse type: a whole number of curves >= 1.

    Accepts ``1000``, ``1_000_000``, ``1e6``, ``2.5e5`` (when whole) and the
    suffixes ``k``, ``M``, ``G`` (``10M`` = 10 000 000).  Refuses fractions,
    negative numbers, zero and words.
    """
    raw = text
    s = text.strip().replace("_", "")
    scale = 1
    if s and s[-1].lower() in _SUFFIXES:
        scale = _SUFFIXES[s[-1].lower()]
        s = s[:-1]
    value: int | None = None
    if s.isdigit():
        value = int(s)
    else:
        m = _SCI.match(s)
        if m:
            whole, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
            digits = int(whole + frac)
            shift = exp - len(frac)
            if shift >= 0:
                value = digits * 10**shift
            elif digits % 10**-shift == 0:
                value = digits // 10**-shift
            else:
                raise argparse.ArgumentTypeError(f"{raw!r} is not an integer number of curves")
        elif re.fullmatch(r"[+-]?\d+(\.\d*)?|[+-]?\.\d+", s):
            raise argparse.ArgumentTypeError(
                f"{raw!r} is not a positive integer number of curves (e.g. 1000, 1e6, 10M)"
            )
    if value is None:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of curves (e.g. 1000, 1e6, 10M)")
    value *= scale
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw!r}: the number of curves must be >= 1")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``generate``."""
    p = subparsers.add_parser(
        "generate",
        help="simulate N rotation curves into an HDF5 file (parallel, resumable)",
        description=(
            "Draw N galaxies from a prior, compute their disc + NFW rotation curves and "
            "write them to FILE (HDF5). Large runs are split into shards written in "
            "parallel to FILE.shards/ and joined by FILE, which is written last: FILE "
            "existing means the data set is complete. The same seed and settings give "
            "identical files for any number of workers."
        ),
    )
    p.add_argument(
        "--n", required=True, type=count, metavar="N", help="number of curves (e.g. 1000, 1e6, 10M)"
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output HDF5 file")
    add_seed_option(p)
    add_prior_option(p)
    add_radii_option(p)
    add_physics_options(p)
    par = add_parallel_options(
        p,
        workers_help="local worker processes (default: one per core, 1 when there is one shard)",
        scheduler_help="run on an existing Dask cluster, e.g. tcp://head:8786 (needs "
        "pip install 'rotcurve[dask]' and an output folder shared with the workers)",
    )
    par.add_argument(
        "--shard-size",
        type=positive_int,
        default=None,
        metavar="K",
        help=f"curves per shard (default {_DEFAULT_SHARD_SIZE_TEXT}); part of the "
        "result: the same seed with another shard size gives other curves",
    )
    add_storage_options(p)
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run: keep its finished shards, write the rest",
    )
    add_common_options(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``rotcurve generate``; returns the exit status."""
    from rotcurve.generator.batch import DEFAULT_SHARD_SIZE, generate

    storage = storage_from_args(args)
    if storage["overwrite"] and args.resume:
        raise ConfigError("give either --overwrite or --resume, not both")
    shard_size = args.shard_size if args.shard_size is not None else DEFAULT_SHARD_SIZE
    try:
        # the generator's INFO notes on stderr; warnings (a damaged shard written again) even with -q
        with library_notes("rotcurve.generator", "rotcurve generate", enabled=not args.quiet):
            path = generate(
                args.n,
                out=args.out,
                seed=args.seed,
                prior=args.prior,
                radii=args.radii,
                H0=args.H0,
                Delta=args.Delta,
                shard_size=shard_size,
                workers=args.workers,
                scheduler=args.scheduler,
                overwrite=storage["overwrite"],
                resume=args.resume,
                dtype=storage["dtype"],
                components=storage["components"],
                compression=storage["compression"],
                progress=show_progress(args),
                scheduler_timeout=args.scheduler_timeout,
            )
    except KeyboardInterrupt:
        print("rotcurve generate: interrupted; rerun with --resume to continue", file=sys.stderr)
        return 130
    print(path)
    return 0
