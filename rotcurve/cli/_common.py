"""Command-line options shared by the subcommands that write curve files.

``rotcurve generate`` and ``rotcurve evaluate`` (and any command that writes a
rotcurve file) use these so that the same option means the same thing
everywhere::

    def add_parser(subparsers):
        p = subparsers.add_parser("generate", help=...)
        add_prior_option(p)          # --prior NAME|FILE.toml   -> prior_from_args(args)
        add_radii_option(p)          # --radii SPEC             -> radii_from_args(args)
        add_physics_options(p)       # --H0, --Delta            -> physics_from_args(args)
        add_seed_option(p)           # --seed N                 -> args.seed
        add_common_options(p)        # -q/--quiet (every subcommand) -> args.quiet
        add_storage_options(p)       # --float64 --no-components --compression --overwrite
        p.set_defaults(func=run)     #                          -> storage_from_args(args)

    def run(args):
        check_output_path(args.out, overwrite=args.overwrite)   # fail before working
        storage = storage_from_args(args)   # dtype, components, compression, overwrite
        ...CurveWriter(path, n=..., radii=..., **storage, params=True, attrs=...)

Everything here is light (no numpy at import time except through the
converters' callers).  Converters raise :class:`argparse.ArgumentTypeError`,
which argparse turns into a one-line usage error with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rotcurve.errors import ConfigError, DataError, OutputExistsError
from rotcurve.io.atomic import check_output
from rotcurve.units import DELTA_DEFAULT, H0_DEFAULT

__all__ = [
    "add_common_options",
    "QUIET_HELP",
    "positive_float",
    "positive_int",
    "add_run_options",
    "nonnegative_int",
    "thread_count",
    "add_storage_options",
    "storage_from_args",
    "add_radii_option",
    "radii_from_args",
    "add_physics_options",
    "physics_from_args",
    "add_prior_option",
    "prior_from_args",
    "add_seed_option",
    "add_parallel_options",
    "check_output_path",
    "library_notes",
]


# -- notes from the library ----------------------------------------------------------
@contextlib.contextmanager
def library_notes(logger: str, prog: str, *, enabled: bool) -> Iterator[None]:
    """Print a library logger's records on stderr, one line each, while a command runs.

    Parameters
    ----------
    logger : str
        Logger name, e.g. ``"rotcurve.run"``.
    prog : str
        Line prefix, e.g. ``"rotcurve sample"``.
    enabled : bool, keyword-only
        INFO notes too; without them (``--quiet``) only WARNING and above,
        which are always printed.

    A record prints as ``PROG: MESSAGE``: no source line, no traceback (the
    logger's records do not propagate to the root logger meanwhile).
    """
    log = logging.getLogger(logger)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prog}: %(message)s"))
    old_level, old_propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.INFO if enabled else logging.WARNING)
    log.propagate = False  # no second copy through the root logger
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
        log.propagate = old_propagate


# -- options of every subcommand -----------------------------------------------------
#: What ``-q/--quiet`` does, the same in every subcommand.
QUIET_HELP = "no progress bars or notes; the lines saying where the results went are still printed"


def add_common_options(parser: argparse.ArgumentParser, *, quiet_help: str = QUIET_HELP) -> None:
    """Add the options every subcommand has, spelled the same everywhere: ``-q/--quiet``.

    Commands read ``args.quiet`` and pass ``progress=show_progress(args)`` on; the
    final lines saying where the results went are printed either way (the
    result of ``score`` is its JSON).  ``quiet_help`` only rewords the help
    of a command whose quiet mode drops more.
    """
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet_help)


def show_progress(args: argparse.Namespace) -> bool:
    """Whether a command shows progress bars: not with ``-q``, and only when stderr is
    a terminal (a log file or a pipe gets no bar lines; notes and warnings still go there)."""
    if getattr(args, "quiet", False):
        return False
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


# -- converters ----------------------------------------------------------------------
def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def int_between(low: int, high: int) -> Any:
    """argparse type: an integer in ``[low, high]`` (named in the error, e.g. ``'1e9' must be <= 200000``)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
            if not as_float.is_integer():
                raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
            value = int(as_float)
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r} must be >= {low}")
        if value > high:
            raise argparse.ArgumentTypeError(f"{text!r} must be <= {high}")
        return value

    return convert


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0 (e.g. a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_count(text: str) -> int:
    """argparse type of ``--threads``: 1 to the number of usable CPU cores."""
    value = positive_int(text)
    cores = usable_cores()
    if value > cores:
        raise argparse.ArgumentTypeError(
            f"{text!r} is more threads than the {cores} usable CPU cores here; give at most {cores}"
        )
    return value


def _compression(text: str) -> str:
    from rotcurve.io.schema import compression_options  # numpy only, when --compression is parsed

    try:
        compression_options(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip().lower()


# -- storage -------------------------------------------------------------------------
def add_storage_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--float64``, ``--no-components``, ``--compression``, ``--overwrite``.

    Read them back with :func:`storage_from_args`.
    """
    g = parser.add_argument_group("storage")
    g.add_argument(
        "--float64",
        action="store_true",
        help="store curves as float64 (default float32; parameters are always float64)",
    )
    g.add_argument(
        "--no-components",
        dest="components",
        action="store_false",
        help="store only v_circ, not the disc and halo components",
    )
    g.add_argument(
        "--compression",
        type=_compression,
        default="default",
        metavar="NAME",
        help="default (gzip-1 + shuffle), gzip (level 4), gzip:N (N = 0..9), "
        "lzf (h5py/PyTables only) or none",
    )
    g.add_argument("--overwrite", action="store_true", help="replace an existing output")


def storage_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :class:`rotcurve.io.CurveWriter` / ``write_dataset``.

    Returns
    -------
    dict
        ``dtype`` ("float32" or "float64"), ``components`` (bool),
        ``compression`` (str), ``overwrite`` (bool).
    """
    return {
        "dtype": "float64" if getattr(args, "float64", False) else "float32",
        "components": bool(getattr(args, "components", True)),
        "compression": getattr(args, "compression", "default"),
        "overwrite": bool(getattr(args, "overwrite", False)),
    }


# -- radii ---------------------------------------------------------------------------
def add_radii_option(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """Add ``--radii SPEC`` (``RMIN:RMAX:N[:log|linear]`` in kpc, or a file).

    ``default=None`` leaves ``args.radii`` as None, meaning "the default grid"
    (50 log-spaced radii, 0.1-50 kpc) unless the command finds one elsewhere.
    """
    parser.add_argument(
        "--radii",
        default=default,
        metavar="SPEC",
        help="radius grid: RMIN:RMAX:N[:log|linear] in kpc, or a text/CSV file with "
        "one radius (kpc) per line (default 0.1:50:50:log)",
    )


def radii_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~rotcurve.generator.radii.RadiiSpec` of ``--radii`` (default grid if unset)."""
    from rotcurve.generator.radii import parse_radii

    return parse_radii(getattr(args, "radii", None))


# -- physics -------------------------------------------------------------------------
def add_physics_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--H0`` (km/s/Mpc) and ``--Delta`` (halo overdensity)."""
    g = parser.add_argument_group("cosmology")
    g.add_argument(
        "--H0",
        type=positive_float,
        default=H0_DEFAULT,
        metavar="KM_S_MPC",
        help=f"Hubble constant in km/s/Mpc (default {H0_DEFAULT:g})",
    )
    g.add_argument(
        "--Delta",
        type=positive_float,
        default=DELTA_DEFAULT,
        metavar="X",
        help=f"halo overdensity relative to critical (default {DELTA_DEFAULT:g})",
    )


def physics_from_args(args: argparse.Namespace) -> dict[str, float]:
    """``{"H0": ..., "Delta": ...}`` for ``rotation_curves`` and the file attributes."""
    return {"H0": float(args.H0), "Delta": float(args.Delta)}


# -- prior and seed ------------------------------------------------------------------
def add_prior_option(parser: argparse.ArgumentParser, *, default: str = "reference") -> None:
    """Add ``--prior NAME|FILE`` (a registered prior kind or a TOML file)."""
    parser.add_argument(
        "--prior",
        default=default,
        metavar="NAME|FILE",
        help="parameter prior: 'reference' (default), 'loguniform', or a TOML file "
        "such as data/priors/reference.toml",
    )


def prior_from_args(args: argparse.Namespace) -> Any:
    """The prior object of ``--prior`` (:func:`rotcurve.generator.priors.resolve_prior`)."""
    from rotcurve.generator.priors import resolve_prior

    return resolve_prior(getattr(args, "prior", None))


def add_seed_option(parser: argparse.ArgumentParser, *, default: int = 0) -> None:
    """Add ``--seed N``: the one integer every random stream derives from."""
    parser.add_argument(
        "--seed",
        type=nonnegative_int,
        default=default,
        metavar="N",
        help=f"random seed; the same seed gives identical output (default {default})",
    )


# -- outputs -------------------------------------------------------------------------
def check_output_path(path: str | Path, *, overwrite: bool) -> Path:
    """Fail early, before any work, if an output cannot be written.

    Missing folders are fine: they are created when the output is written
    (nothing is changed on disk here).

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    DataError
        ``path`` is a folder, a part of its folder is a file ("afile is a
        file, not a folder"), or the folder is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass --overwrite to replace it")
    return check_output(path, overwrite=overwrite)


def add_run_options(p: argparse.ArgumentParser, *, batch_size: bool = True) -> None:
    """``--run``, ``--which``, ``--device``, ``-q/--quiet`` and (optionally) ``--batch-size``.

    Shared by the commands that use a trained run (encode, reconstruct,
    sample, score, report, corner).
    """
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="a run folder written by `rotcurve train`")
    p.add_argument(
        "--which",
        choices=("best", "last"),
        default="best",
        help="checkpoint: best (lowest validation loss, default) or last",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu", help="compute device (default cpu)")
    if batch_size:
        p.add_argument("--batch-size", type=positive_int, default=8192, metavar="B", help="examples per forward pass")
    add_common_options(p)


def add_parallel_options(parser: argparse.ArgumentParser, *, workers_help: str, scheduler_help: str) -> Any:
    """``--workers W | --scheduler ADDRESS`` and ``--scheduler-timeout``, in a "parallelism" group.

    Returns the group, so a command can add its own options to it (``generate --shard-size``).
    """
    par = parser.add_argument_group("parallelism")
    where = par.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None, metavar="W", help=workers_help)
    where.add_argument("--scheduler", default=None, metavar="ADDRESS", help=scheduler_help)
    par.add_argument(
        "--scheduler-timeout", type=positive_float, default=10.0, metavar="SECONDS",
        help="how long to wait for the Dask scheduler (default 10)",
    )
    return par

