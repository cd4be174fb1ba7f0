"""``rotcurve sample``: new curves (or images) from a trained model.

::

    rotcurve sample --run runs/vae4 --n 10000 --out samples.h5 --seed 1
    rotcurve sample --run runs/vae4 --n 10000 --out prior.h5 --from prior   # diagnostics only

Latent points are drawn (``--from``) by default from ``aggregate``: the
density fitted to the training latents and saved in the run folder
(``aggregate-best.json``, written by ``rotcurve train``, or on first use for
an older run), whichever of ``gaussian`` (one full-covariance Gaussian) and
``gmm`` (a Gaussian mixture, components by BIC) fits the validation latents
better; either can be asked for.  ``prior`` is the N(0, I) prior: known to
give ~5 % invalid curves; for diagnostics.  A damaged saved density is
reported in one line and fitted again.  The points are decoded; curves are written in km/s in the rotcurve file format
(no parameters), MNIST samples as ``/images (n, 28, 28)`` float32 in [0, 1]
(see :meth:`rotcurve.run.Run.sample_file`).  Latent sources are a registry
(:data:`rotcurve.run.SAMPLE_SOURCES`).
"""

from __future__ import annotations

import argparse
from typing import Any

from rotcurve.cli._common import (
    add_run_options,
    check_output_path,
    library_notes,
    nonnegative_int,
    positive_int,
    show_progress,
)
from rotcurve.errors import ConfigError

__all__ = ["add_parser", "run", "check_sample_size", "SOURCE_CHOICES", "DEFAULT_SOURCE", "PRIOR_NOTE", "SOURCE_HELP"]

# The names of rotcurve.run.sources (SAMPLE_SOURCES, DEFAULT_SOURCE, PRIOR_NOTE), repeated here so
# that `rotcurve --help` does not import torch; tests/cli/test_sample_default.py keeps them equal.
#: ``--from`` choices: the keys of :data:`rotcurve.run.SAMPLE_SOURCES`.
SOURCE_CHOICES: tuple[str, ...] = ("prior", "aggregate", "gaussian", "gmm")
#: ``--from`` default: :data:`rotcurve.run.DEFAULT_SOURCE`, the saved aggregate density.
DEFAULT_SOURCE: str = "aggregate"
#: How the prior is described: :data:`rotcurve.run.PRIOR_NOTE`.
PRIOR_NOTE: str = "the N(0, I) prior: known to give ~5 % invalid curves; for diagnostics"

#: ``--from`` help: every source and what it is; the default first.
SOURCE_HELP: str = (
    f"where latent points come from (default {DEFAULT_SOURCE}): aggregate = the density saved in the run "
    "folder, the better (on validation latents) of gaussian (full covariance) and gmm (Gaussian mixture) "
    f"fitted to the training latents; prior = {PRIOR_NOTE}"
)
#: ``SOURCE_HELP`` is printed by argparse, which reads ``%`` as a format.
_SOURCE_HELP_ARGPARSE = SOURCE_HELP.replace("%", "%%")

#: Bytes per stored value: curves and images are written as float32.
_BYTES_PER_VALUE = 4


def _size(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError  # pragma: no cover


def check_sample_size(n: int, values_per_sample: int, out: Any) -> None:
    """Refuse, before any work, an ``--n`` whose output cannot fit on the disk.

    The samples take ``n * values_per_sample * 4`` bytes (float32, before
    compression); that must not exceed the free space of the output's folder.

    Raises
    ------
    ConfigError
        One line with the size needed, the space free and the largest ``--n`` that fits.
    """
    import os
    import shutil
    from pathlib import Path

    folder = Path(out).parent if str(Path(out).parent) else Path(".")
    try:
        free = shutil.disk_usage(os.fspath(folder)).free
    except OSError:
        return  # check_output_path has already refused a folder that is not there
    per_sample = values_per_sample * _BYTES_PER_VALUE
    need = n * per_sample
    if need > free:
        most = free // per_sample
        raise ConfigError(
            f"--n {n:,} needs {_size(need)} for the samples ({n:,} x {values_per_sample} values x "
            f"{_BYTES_PER_VALUE} bytes) but {folder} has {_size(free)} free; give a smaller --n "
            f"(at most {most:,} fit) or another output folder"
        )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``sample``."""
    p = subparsers.add_parser(
        "sample",
        help="draw new curves (or images) from a trained model",
        description="Decode latent points drawn from the density of the training latents saved in "
        "the run folder (default; --from prior for the N(0, I) prior, a diagnostic): new rotation "
        "curves in km/s (rotcurve file format) or, for an MNIST run, images in [0, 1].",
    )
    add_run_options(p)
    p.add_argument("--n", required=True, type=positive_int, metavar="N", help="number of samples")
    p.add_argument("--out", required=True, metavar="FILE", help="output HDF5 file")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--from",
        dest="source",
        choices=SOURCE_CHOICES,
        default=DEFAULT_SOURCE,
        help=_SOURCE_HELP_ARGPARSE,
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run)
    return p


def _describe(model_run: Any, source: str, progress: bool) -> str:
    """Where the latents come from, for the final line (fits or loads the saved density when needed)."""
    if source == "prior":
        return PRIOR_NOTE
    fitted = model_run.aggregates(progress=progress)
    kind = fitted.choice if source == "aggregate" else source
    saved = f"saved in {fitted.path.name}" if fitted.path else "fitted in memory"
    return f"the {kind} latent aggregate ({saved})"


def run(args: argparse.Namespace) -> int:
    """Sample and print where the file went."""
    from rotcurve.run import load_run

    check_output_path(args.out, overwrite=args.overwrite)
    model_run = load_run(args.run, which=args.which, device=args.device)
    check_sample_size(args.n, int(model_run.model_config.input_dim), args.out)
    with library_notes("rotcurve.run", "rotcurve sample", enabled=not args.quiet):
        how = _describe(model_run, args.source, show_progress(args))
        out = model_run.sample_file(
            args.n,
            args.out,
            seed=args.seed,
            source=args.source,
            overwrite=args.overwrite,
            batch_size=args.batch_size,
            progress=show_progress(args),
        )
    what = model_run.data_kind.noun_in_units
    print(f"wrote {args.n} sampled {what} (seed {args.seed}, latents from {how}) to {out}")
    return 0
