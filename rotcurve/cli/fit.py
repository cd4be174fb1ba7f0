"""``rotcurve fit``: posteriors of disc and halo parameters for observed rotation curves.

::

    rotcurve fit --data Rotmod_LTG.zip --out fits/ --H0 73            # all of SPARC
    rotcurve fit --data NGC3198_rotmod.dat --out ngc3198/ --prior lcdm
    rotcurve fit --data mock.csv --out mock/ --model disc-nfw --prior reference --workers 2
    rotcurve fit --data Rotmod_LTG.zip --out fits/ --resume          # after an interruption

Exit status: 0 when every galaxy has a result (galaxies that did not converge
are flagged in the summary and listed on stderr), 1 when any galaxy failed
(each listed with its reason, and in DIR/failures.csv), 2 for bad command
input (a missing file, unknown model or prior, outputs in the way).
See :func:`rotcurve.inference.fit_catalogue` and docs/fitting.md.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rotcurve.cli._common import (
    add_parallel_options,
    add_seed_option,
    int_between,
    positive_float,
    show_progress,
)
from rotcurve.errors import ConfigError
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT

#: Upper limits of the sampler flags: a step of 4,096 walkers already costs
#: seconds per galaxy, and 10 million steps per walker hours; beyond that a run
#: would exhaust memory (the chain is walkers x steps x parameters) long before it ends.
MAX_WALKERS = 4096
MAX_STEPS = 10_000_000

__all__ = ["add_parser", "run"]

_MODELS = ("auto", "sparc", "disc-nfw")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``fit``."""
    p = subparsers.add_parser(
        "fit",
        help="fit observed rotation curves: posteriors of disc and halo parameters (SPARC, tables)",
        description=(
            "Sample the posterior of each galaxy's disc and halo parameters with emcee, started "
            "at the MAP, until the chain is 50 autocorrelation times long. DATA is a SPARC "
            "*_rotmod.dat file, a folder of them, the SPARC Rotmod_LTG.zip (Lelli, McGaugh & "
            "Schombert 2016, AJ 152, 157), or a long table (.csv, .ecsv, .h5) with columns "
            "name, R [kpc], V, eV [km/s] and optional Vgas, Vdisk, Vbul. Writes DIR/summary.csv "
            "and .ecsv, DIR/posteriors.h5, figures and DIR/report.html."
        ),
    )
    p.add_argument("--data", required=True, metavar="PATH", help="SPARC file, folder or zip, or a long table")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument(
        "--model",
        choices=_MODELS,
        default="auto",
        help="sparc: observed gas, disc, bulge x mass-to-light ratios + NFW halo; disc-nfw: "
        "exponential disc + NFW halo (the generator's model); auto (default): sparc when the "
        "data have Vgas and Vdisk",
    )
    p.add_argument(
        "--prior",
        default=None,
        metavar="NAME|FILE",
        help="flat (default for sparc), lcdm (flat + Dutton & Maccio 2014 c-M relation), "
        "reference (default for disc-nfw: the generator's population), or a TOML file such "
        "as data/fit_priors/flat.toml",
    )
    g = p.add_argument_group("cosmology")
    g.add_argument(
        "--H0",
        type=positive_float,
        default=H0_DEFAULT,
        metavar="KM_S_MPC",
        help=f"Hubble constant for V200/M200 (default {H0_DEFAULT:g}; published SPARC fits use 73)",
    )
    g.add_argument(
        "--Delta",
        type=positive_float,
        default=DELTA_DEFAULT,
        metavar="X",
        help=f"overdensity of the halo mass Mh (default {DELTA_DEFAULT:g}); V200, C200 are always 200c",
    )
    s = p.add_argument_group("sampler")
    s.add_argument("--walkers", type=int_between(1, MAX_WALKERS), default=None, metavar="N",
                   help=f"emcee walkers (default 96, at most {MAX_WALKERS})")
    s.add_argument(
        "--max-steps", type=int_between(1, MAX_STEPS), default=None, metavar="N",
        help="cap on steps per walker; galaxies not converged by then are flagged (default 10000)",
    )
    add_seed_option(p)
    add_parallel_options(
        p,
        workers_help="local worker processes (default: one per core)",
        scheduler_help="run on an existing Dask cluster, e.g. tcp://head:8786 (DIR must be shared with the workers)",
    )
    o = p.add_argument_group("outputs")
    o.add_argument("--no-figures", dest="figures", action="store_false",
                   help="no corner and curve figures per galaxy (much faster)")
    o.add_argument("--no-report", dest="report", action="store_false", help="no DIR/report.html")
    mode = o.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace previous outputs in DIR")
    mode.add_argument("--resume", action="store_true", help="keep the galaxies DIR already holds, fit the rest")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``rotcurve fit``; returns the exit status."""
    from rotcurve.inference import fit_catalogue

    settings = {}
    if args.walkers is not None:
        settings["n_walkers"] = args.walkers
    if args.max_steps is not None:
        settings["max_steps"] = args.max_steps
        if args.max_steps < 50:
            raise ConfigError("--max-steps must be at least 50 (one convergence check)")
    try:
        res = fit_catalogue(
            args.data,
            args.out,
            model=args.model,
            prior=args.prior,
            H0=args.H0,
            Delta=args.Delta,
            settings=settings or None,
            seed=args.seed,
            workers=args.workers,
            scheduler=args.scheduler,
            scheduler_timeout=args.scheduler_timeout,
            figures=args.figures,
            report=args.report,
            progress=show_progress(args),
            overwrite=args.overwrite,
            resume=args.resume,
        )
    except KeyboardInterrupt:
        print("rotcurve fit: interrupted; finished galaxies are kept: rerun with --resume", file=sys.stderr)
        return 130
    n = len(res.summary)
    status = [str(s) for s in res.summary["status"]]
    print(
        f"rotcurve fit: {n} galaxies: {status.count('ok')} converged, {status.count('not_converged')} "
        f"not converged, {status.count('failed')} failed; {res.out / 'summary.csv'}"
    )
    for i, st in enumerate(status):
        if st == "not_converged":
            print(f"rotcurve fit: not converged: {res.summary['name'][i]}: {res.summary['reason'][i]}", file=sys.stderr)
    for name, reason in res.failures:
        print(f"rotcurve fit: failed: {name}: {reason}", file=sys.stderr)
    return 1 if res.failures else 0
