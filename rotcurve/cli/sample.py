"""``rotcurve sample``: new curves (or images) from a trained model.

::

    rotcurve sample --run runs/vae4 --n 10000 --out samples.h5 --seed 1
    rotcurve sample --run runs/vae4 --n 10000 --out samples.h5 --from aggregate

Latent points are drawn (``--from``) from the prior ``N(0, I)`` (default),
or from a model of the training latents: ``gaussian`` (one full-covariance
Gaussian), ``gmm`` (a Gaussian mixture, components by BIC) or ``aggregate``
(whichever of the two fits the validation latents better).  The fitted models
are cached in the run folder (``aggregate-best.json``) the first time.  The
points are decoded; curves are written in km/s in the rotcurve file format
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
    nonnegative_int,
    positive_int,
    show_progress,
)
from rotcurve.errors import ConfigError

__all__ = ["add_parser", "run", "check_sample_size"]

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
        description="Decode latent points drawn from the prior N(0, I) or from a model of the "
        "training latents: new rotation curves in km/s (rotcurve file format) or, for an MNIST "
        "run, images in [0, 1].",
    )
    add_run_options(p)
    p.add_argument("--n", required=True, type=positive_int, metavar="N", help="number of samples")
    p.add_argument("--out", required=True, metavar="FILE", help="output HDF5 file")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--from",
        dest="source",
        choices=("prior", "aggregate", "gaussian", "gmm"),
        default="prior",
        help="where latent points come from: prior N(0, I) (default); aggregate = the better "
        "(on validation latents) of gaussian (full covariance) and gmm (Gaussian mixture) fitted "
        "to the training latents, cached in the run folder",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Sample and print where the file went."""
    from rotcurve.run import load_run

    check_output_path(args.out, overwrite=args.overwrite)
    model_run = load_run(args.run, which=args.which, device=args.device)
    check_sample_size(args.n, int(model_run.model_config.input_dim), args.out)
    how = "the prior"
    if args.source != "prior":
        fitted = model_run.aggregates(progress=show_progress(args))
        kind = fitted.choice if args.source == "aggregate" else args.source
        how = f"the {kind} latent aggregate"
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
