"""``rotcurve train``: fit a VAE (or autoencoder) to a curve file or MNIST.

::

    rotcurve train --data curves.h5 --out runs/vae4
    rotcurve train --data curves.h5 --out runs/vae2-full --latent-dim 2 --posterior full
    rotcurve train --data mnist:data/mnist --download --out runs/mnist
    rotcurve train --data curves.h5 --out runs/vae4 --resume     # after an interruption
    rotcurve train --simulate 100000 --prior reference --out runs/sim4   # fresh curves every epoch

Writes ``RUN_DIR/config.json`` (all settings), ``metrics.jsonl`` (one line
per epoch), ``checkpoints/{best,last}.pt`` and, once training has finished,
``aggregate-best.json``: the density of the training latents that ``rotcurve
sample`` draws from by default (:meth:`rotcurve.run.Run.aggregates`, seeded
by ``--seed``).  Options that are not given
take the defaults for the kind of data (see
:func:`rotcurve.training.default_train_config` and
:func:`rotcurve.models.default_config`).
"""

from __future__ import annotations

import argparse
from typing import Any

from rotcurve.cli._common import (
    add_common_options,
    nonnegative_int,
    positive_float,
    positive_int,
    show_progress,
    thread_count,
)
from rotcurve.errors import ConfigError

__all__ = ["add_parser", "run", "MAX_LATENT_DIM"]

#: The largest ``--latent-dim`` accepted (the default is 4 for curves, 16 for MNIST;
#: a full-covariance posterior holds d x d numbers per example).
MAX_LATENT_DIM = 1024


def _latent_dim(text: str) -> int:
    """argparse type of ``--latent-dim``: an integer in 1..MAX_LATENT_DIM."""
    value = positive_int(text)
    if value > MAX_LATENT_DIM:
        raise argparse.ArgumentTypeError(
            f"{text!r} is too large: at most {MAX_LATENT_DIM} (curves use 4, MNIST 16)"
        )
    return value



def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``train``."""
    p = subparsers.add_parser(
        "train",
        help="train a VAE on rotation curves (or MNIST)",
        description="Train a variational autoencoder (or a plain autoencoder) on a rotcurve "
        "file or on MNIST, writing the run folder: config.json, metrics.jsonl and "
        "checkpoints/best.pt, last.pt.  Unset options take the defaults for the kind of data.",
    )
    p.add_argument(
        "--data", default=None, metavar="FILE|mnist:DIR", help="a rotcurve HDF5 file, or mnist:DIR (or use --simulate)"
    )
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="the run folder to write")
    s = p.add_argument_group("simulated data (instead of --data)")
    s.add_argument(
        "--simulate",
        type=positive_int,
        default=None,
        metavar="N",
        help="train on N fresh curves per epoch, drawn from --prior and computed by the torch physics "
        "on the training device (no file)",
    )
    s.add_argument(
        "--prior",
        default=None,
        metavar="NAME|FILE",
        help="--simulate: parameter prior, 'reference' (default), 'loguniform' or a TOML file",
    )
    s.add_argument(
        "--radii",
        default=None,
        metavar="SPEC",
        help="--simulate: radius grid RMIN:RMAX:N[:log|linear] in kpc or a file (default 0.1:50:50:log)",
    )
    s.add_argument(
        "--reference-size",
        type=positive_int,
        default=None,
        metavar="M",
        help="--simulate: curves generated once into RUN_DIR/reference.h5 for the normaliser and the "
        "fixed validation and test splits (default 20000)",
    )
    m = p.add_argument_group("model")
    m.add_argument("--model", choices=("vae", "ae"), default=None, help="vae (default) or ae")
    m.add_argument(
        "--latent-dim",
        type=_latent_dim,
        default=None,
        metavar="D",
        help=f"latent dimension, 1..{MAX_LATENT_DIM} (curves: 4)",
    )
    m.add_argument(
        "--posterior",
        default=None,
        metavar="NAME",
        help="VAE posterior covariance: diag (default), full (Cholesky) or full-svd",
    )
    m.add_argument(
        "--activation",
        default=None,
        metavar="NAME",
        help="hidden-layer activation (curves: silu; gelu for long runs on 80,000+ curves, "
        "see docs/training.md)",
    )
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=positive_int, default=None, metavar="N", help="passes over the data (curves: 600)")
    t.add_argument("--batch-size", type=positive_int, default=None, metavar="B", help="examples per step (curves: 256)")
    t.add_argument("--lr", type=positive_float, default=None, metavar="LR", help="peak learning rate (curves: 2e-3)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="compute device (default auto)")
    t.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="the one random seed (default 0)")
    t.add_argument(
        "--threads",
        type=thread_count,
        default=None,
        metavar="N",
        help="CPU threads for torch (default: 1 for curves on the CPU, as fast as 2 and half the CPU "
        "time; torch's choice otherwise)",
    )
    r = p.add_argument_group("run folder")
    r.add_argument("--resume", action="store_true", help="continue an interrupted run from checkpoints/last.pt")
    r.add_argument("--overwrite", action="store_true", help="replace an existing run")
    r.add_argument("--download", action="store_true", help="MNIST: fetch the files into DIR first (verified)")
    add_common_options(p)
    p.set_defaults(func=run)
    return p


def _overrides(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    model = {
        key: value
        for key, value in (
            ("model", args.model), ("latent_dim", args.latent_dim),
            ("posterior", args.posterior), ("activation", args.activation),
        )
        if value is not None
    }
    train = {
        key: value
        for key, value in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr))
        if value is not None
    }
    train.update(device=args.device, seed=args.seed)
    return model, train


def _interrupted_hint(args: argparse.Namespace) -> str:
    """What to do after Ctrl-C, from what the run folder holds now."""
    from rotcurve.training.rundir import RunPaths

    paths = RunPaths(args.out)
    if paths.last.exists():
        instead = " (instead of --overwrite)" if args.overwrite else ""
        return f"interrupted; rerun the same command with --resume{instead} to continue"
    if paths.is_started():
        return (
            "interrupted before the first checkpoint; rerun the same command with --overwrite "
            "to start again"
        )
    return "interrupted before anything was saved; rerun the same command to start again"


_SIMULATE_ONLY = (("prior", "--prior"), ("radii", "--radii"), ("reference_size", "--reference-size"))


def _check_source(args: argparse.Namespace) -> None:
    """Exactly one of --data and --simulate; the simulation options only with --simulate."""
    if args.data is not None and args.simulate is not None:
        raise ConfigError("--data and --simulate exclude each other: give a file with --data or --simulate N")
    if args.data is None and args.simulate is None:
        raise ConfigError("give the training data: --data FILE|mnist:DIR, or --simulate N for fresh simulated curves")
    if args.simulate is None:
        given = [flag for key, flag in _SIMULATE_ONLY if getattr(args, key) is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for --simulate; drop it or use --simulate N")
    elif args.download:
        raise ConfigError("--download is for MNIST only: use --data mnist:DIR --download")


def _curves_on_cpu(spec: str, device: str) -> bool:
    """Whether ``spec`` is curve data that will train on the CPU (``--device cpu``, or auto without CUDA)."""
    from rotcurve.datasets.kinds import kind_for_spec

    try:
        if kind_for_spec(spec).name != "curves" or device == "cuda":
            return False
        from rotcurve.training.device import resolve_device

        return resolve_device(device).type == "cpu"
    except Exception:  # a bad spec or device: fit() reports it
        return False


def run(args: argparse.Namespace) -> int:
    """Train and print where the results went."""
    _check_source(args)
    spec = str(args.data)
    if args.model == "ae" and args.posterior not in (None, "diag"):
        raise ConfigError(
            f"--posterior {args.posterior} is for --model vae; a plain autoencoder has no posterior: "
            "drop --posterior or use --model vae"
        )
    if args.download:
        from rotcurve.datasets.kinds import kind_for_spec

        kind = kind_for_spec(spec)
        if not kind.can_download:
            raise ConfigError("--download is for MNIST only: use --data mnist:DIR --download")
        kind.download(spec, progress=show_progress(args))  # "mnist:" without a folder: a one-line ConfigError

    import torch

    from rotcurve.training import fit

    threads = args.threads
    if threads is None and _curves_on_cpu(spec, args.device):
        # the 4-D curve VAE is too small for two threads to help: on 2 idle cores 30 epochs on
        # 20k curves took 16.6 s wall / 26.8 s CPU with torch's 2 threads, 14.8 s / 14.8 s with 1
        # (issue 10), and on a busy machine 2 threads were 5-20x slower
        threads = 1
    if threads:
        torch.set_num_threads(threads)
    model, train = _overrides(args)
    try:
        if args.simulate is not None:
            from rotcurve.training import fit_simulated
            from rotcurve.training.config import REFERENCE_SIZE

            result = fit_simulated(
                args.out,
                args.simulate,
                prior=args.prior or "reference",
                radii=args.radii,
                reference_size=args.reference_size or REFERENCE_SIZE,
                model=model,
                train=train,
                resume=args.resume,
                overwrite=args.overwrite,
                progress=show_progress(args),
            )
        else:
            result = fit(
                spec,
                args.out,
                model=model,
                train=train,
                resume=args.resume,
                overwrite=args.overwrite,
                progress=show_progress(args),
            )
    except KeyboardInterrupt:
        import sys

        print(f"rotcurve train: {_interrupted_hint(args)}", file=sys.stderr)
        return 130
    root = result.run_dir
    if result.stop_reason == "already-complete":
        print(f"{root}: the run was already complete ({result.epoch} epochs); nothing to do")
    else:
        how = {"completed": "completed", "early-stopping": "stopped early", "paused": "paused"}[result.stop_reason]
        start = f" (resumed after epoch {result.resumed_from})" if result.resumed_from else ""
        last = result.history[-1] if result.history else {}
        rate = last.get("samples_per_s")
        speed = f", {rate:,.0f} examples/s" if rate else ""
        print(f"trained {result.epoch} epochs, {how}{start}{speed}")
    print(f"best validation loss {result.best_val:.6g} nats per example at epoch {result.best_epoch}")
    print(f"run folder: {root}")
    print(f"  config:      {root / 'config.json'}")
    print(f"  metrics:     {root / 'metrics.jsonl'}")
    if args.simulate is not None:
        print(f"  reference:   {root / 'reference.h5'} (validation and test curves; score the run on it)")
    print(f"  checkpoints: {result.best_checkpoint} (best), {result.last_checkpoint} (last)")
    if result.stop_reason != "paused":
        _save_aggregate(root, args)
    return 0


def _save_aggregate(root: Any, args: argparse.Namespace) -> None:
    """Fit (or check) the saved aggregate density of the best checkpoint and print where it is.

    Latents that no density fits (a collapsed dimension) do not fail the
    training: one line says so and what ``rotcurve sample`` needs instead.
    """
    import sys

    from rotcurve.cli._common import library_notes
    from rotcurve.errors import RotcurveError
    from rotcurve.run import load_run

    try:
        with library_notes("rotcurve.run", "rotcurve train", enabled=not args.quiet):
            aggs = load_run(root, device=args.device).aggregates(progress=show_progress(args))
    except RotcurveError as exc:
        print(f"rotcurve train: no latent aggregate density saved ({exc}); rotcurve sample will try "
              "again, or use --from prior", file=sys.stderr)
        return
    if aggs.path is not None:
        print(f"  aggregate:   {aggs.path} ({aggs.choice}, fit seed {aggs.info['fit_seed']}; "
              "the default of rotcurve sample)")
