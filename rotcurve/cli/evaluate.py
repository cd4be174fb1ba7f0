"""``rotcurve evaluate``: rotation curves for given parameter sets.

::

    rotcurve evaluate --params galaxies.csv --out curves.h5 [--radii 0.1:50:50]
                      [--H0 70] [--Delta 200] [--float64] [--no-components]
                      [--compression NAME] [--overwrite]

``--params`` is a CSV table (header row; columns ``Md`` [Msun], ``Rd`` [kpc],
``Mh`` [Msun], ``c``; the identifier columns ``name`` and ``id`` are kept as
strings, other columns are ignored) or an HDF5 file: a rotcurve file (its
``/params``, identifiers included), or any HDF5 file with 1-D datasets ``Md``,
``Rd``, ``Mh``, ``c`` (and string datasets ``name``/``id``) at the root or in
a ``/params`` group.  When the table file has a
``/radii`` dataset (kpc) and ``--radii`` is not given, those radii are used;
otherwise the default grid (50 log-spaced radii, 0.1-50 kpc).  The output is a
rotcurve file (see :mod:`rotcurve.io.format`) with the parameters stored, and
the identifier columns as string datasets ``/params/name`` (``/params/id``),
so that ``open_dataset(out).params`` has them as columns.  A galaxy whose curve
is not finite once stored (``Md = 1e300`` overflows float32) is refused with its
table row; nothing is written then.

The work is :func:`rotcurve.generator.evaluate_table` (and
:func:`~rotcurve.generator.evaluate` for tables in memory); this module parses
the options, calls it and says where the curves went.
"""

from __future__ import annotations

import argparse
from typing import Any

from rotcurve.cli._common import (
    add_common_options,
    add_physics_options,
    add_radii_option,
    add_storage_options,
    check_output_path,
    physics_from_args,
    positive_int,
    show_progress,
    storage_from_args,
)

__all__ = ["add_parser", "run", "read_param_table", "validate_params"]

#: Default rows evaluated (and written) per block (:data:`rotcurve.generator.evaluation.BLOCK_ROWS`).
BLOCK_ROWS = 65536


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``evaluate``."""
    p = subparsers.add_parser(
        "evaluate",
        help="rotation curves for a table of galaxy parameters",
        description="Compute disc + NFW rotation curves for given parameter sets "
        "(a CSV or HDF5 table with columns Md [Msun], Rd [kpc], Mh [Msun], c) and "
        "write them as a rotcurve file.",
    )
    p.add_argument(
        "--params",
        required=True,
        metavar="TABLE",
        help="CSV with a header row, or HDF5 (a rotcurve file or 1-D datasets Md, Rd, Mh, c)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output rotcurve file (.h5)")
    add_radii_option(p)
    add_physics_options(p)
    add_storage_options(p)
    p.add_argument(
        "--block-size",
        type=positive_int,
        default=BLOCK_ROWS,
        metavar="ROWS",
        help=f"curves evaluated per block; bounds memory (default {BLOCK_ROWS})",
    )
    add_common_options(p, quiet_help="no progress bar or summary")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Evaluate the curves, write the output file and say where it went."""
    from rotcurve.generator.evaluation import evaluate_table
    from rotcurve.io import open_dataset

    out = check_output_path(args.out, overwrite=args.overwrite)  # the --overwrite wording, before any work
    evaluate_table(
        args.params,
        out,
        radii=args.radii,
        **physics_from_args(args),
        **storage_from_args(args),
        block_size=args.block_size,
        progress=show_progress(args),
    )
    with open_dataset(out) as ds:  # where the results went: printed with -q too
        n, n_radii = ds.n, ds.n_radii
    print(f"wrote {n} curves x {n_radii} radii to {out} ({out.stat().st_size / 2**20:.2f} MiB)")
    return 0


def __getattr__(name: str) -> Any:
    # read_param_table and validate_params moved to rotcurve.generator.evaluation;
    # looked up on use so that importing this command stays light.
    if name in ("read_param_table", "validate_params"):
        from rotcurve.generator import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
