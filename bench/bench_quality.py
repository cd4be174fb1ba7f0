"""Surrogate quality on rotation curves: AE, diag/full/full-svd VAEs and 4-component PCA, side by side.

Two benchmarks (subcommands; ``all``, the default, runs both):

``compare``
    Trains the plain autoencoder (``model="ae"``) and the 4-D VAE with the
    ``diag``, ``full`` and ``full-svd`` posteriors on the same data with the
    same seed and the default settings of ``rotcurve train``
    (:func:`rotcurve.training.fit`, the function the command runs), then
    scores each on the held-out test split with
    :meth:`rotcurve.run.Run.score` (best checkpoint, posterior-mean
    reconstruction).  The linear-PCA baseline (4 components, fitted on the
    same training split in the same normalised ``log10 v`` space, test curves
    reconstructed there and mapped back to km/s) goes in the same table; its
    "neg ELBO" column is the exact held-out negative log-likelihood of the
    probabilistic-PCA model (Tipping & Bishop 1999) in the same space, nats
    per curve.  Reported: wall and CPU time, epochs run, median / 95th
    percentile fractional error, RMS (km/s), the tails (99th percentile over
    curves of each curve's largest fractional error, and the worst point) and
    the held-out negative ELBO.  The old-against-new tail tables of issue 10
    are ``bench/bench_tails.py``.

``seeds``
    Trains the ``full`` and ``full-svd`` VAEs for a fixed, short number of
    epochs with several seeds, and reports per seed: whether training stayed
    finite (no NaN/inf in any loss), the final (last-epoch) test metrics,
    and the variance across the test curves of each latent posterior mean
    (a dimension with variance < 0.01 is counted as collapsed).

Data: ``--n`` (25,000) reference-prior curves generated with ``--data-seed``
(1) by :func:`rotcurve.generator.generate` (what ``rotcurve generate`` runs),
split 0.8 / 0.1 / 0.1 by the training seed: 20,000 training curves.

Usage::

    python bench/bench_quality.py                      # both, 1 torch thread
    python bench/bench_quality.py compare --threads 2 --json quality_curves.json
    python bench/bench_quality.py seeds --seeds 5 --seed-epochs 40
    python bench/bench_quality.py compare --data curves.h5 --models vae-diag

Wall times on a shared machine are inflated; CPU time (all threads of this
process) is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Models of the comparison: name -> overrides of ``default_config("curves", ...)``.
MODELS: dict[str, dict[str, Any]] = {
    "ae": {"model": "ae"},
    "vae-diag": {},
    "vae-full": {"posterior": "full"},
    "vae-full-svd": {"posterior": "full-svd"},
}

#: Posteriors of the seed-stability check.
SEED_POSTERIORS: tuple[str, ...] = ("full", "full-svd")

#: A latent dimension whose posterior means vary less than this across the data is collapsed.
COLLAPSE_VARIANCE: float = 0.01


# ------------------------------------------------------------------------ helpers
def cpu_model() -> str:
    """The CPU's model name (``lscpu``'s "Model name"), or the platform's processor string."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line() -> str:
    """One line describing the machine, torch and its threads."""
    import torch

    return (
        f"machine: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}, "
        f"{torch.get_num_threads()} intra-op threads; load average {os.getloadavg()[0]:.2f}"
    )


def make_curves(path: Path, n: int, seed: int) -> Path:
    """``n`` reference-prior curves on the default radius grid, as ``rotcurve generate --n n --seed seed``."""
    from rotcurve.generator import generate

    generate(n, out=path, seed=seed, workers=1, progress=False)
    return path


def train_and_score(
    spec: Path,
    run_dir: Path,
    *,
    model: dict[str, Any],
    train: dict[str, Any],
    which: str = "best",
) -> dict[str, Any]:
    """Train with :func:`rotcurve.training.fit` and score the test split.

    Returns
    -------
    dict
        ``wall_s``, ``cpu_s`` (training only), ``epochs``, ``best_epoch``,
        ``stop_reason``, ``finite`` (every recorded loss finite), ``error``
        (the message of a :class:`~rotcurve.errors.TrainingError`, or None),
        and the :meth:`Run.score` metrics.
    """
    from rotcurve.errors import TrainingError
    from rotcurve.run import load_run
    from rotcurve.training import fit

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        result = fit(
            spec, run_dir, model=model, train=train, overwrite=True, progress=False
        )
    except TrainingError as exc:
        return {
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0,
            "finite": False,
            "error": str(exc),
        }
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    keys = ("train_loss", "val_loss")
    finite = all(
        r[k] is None or math.isfinite(r[k]) for r in result.history for k in keys
    )
    run = load_run(run_dir, which=which)
    score = run.score(spec, split="test")
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "epochs": result.epoch,
        "best_epoch": result.best_epoch,
        "stop_reason": result.stop_reason,
        "finite": finite,
        "error": None,
        "run": run,
        **{
            k: score[k]
            for k in (
                "n",
                "neg_elbo",
                "recon",
                "kl",
                "median_frac_error",
                "p95_frac_error",
                "mean_frac_error",
                "rms_kms",
                "p99_max_frac_error",
                "max_frac_error",
            )
        },
    }


def pca_baseline(spec: Path, *, seed: int, n_components: int = 4) -> dict[str, Any]:
    """Linear PCA fitted on the training split, scored on the test split like ``Run.score``.

    The curves are normalised exactly as for the models (``log10 v``
    standardised per radius with training-split statistics); PCA is fitted to
    the normalised training curves, the test curves are projected and
    reconstructed there, mapped back to km/s and compared with the stored
    curves.  ``neg_elbo`` holds the exact held-out negative log-likelihood of
    probabilistic PCA (isotropic noise = mean discarded variance), nats per
    curve, in the same normalised space as the models' ELBO.
    """
    from sklearn.decomposition import PCA

    from rotcurve.datasets import load_training_data
    from rotcurve.io import open_dataset

    t0, c0 = time.perf_counter(), time.process_time()
    data = load_training_data(spec, seed=seed, device="cpu", in_memory=True)
    x_train = data.train.numpy().astype(np.float64)
    x_test = data.test.numpy().astype(np.float64)
    pca = PCA(n_components=n_components, svd_solver="full").fit(x_train)
    x_hat = pca.inverse_transform(pca.transform(x_test))
    v_hat = data.normaliser.inverse(x_hat)
    with open_dataset(spec) as ds:
        v = np.asarray(ds.v_circ[np.sort(data.indices["test"])], dtype=np.float64)
    err = v_hat - v
    frac = np.abs(err) / v
    curve_max = frac.max(axis=1)
    nll = -float(pca.score(x_test))
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "epochs": None,
        "best_epoch": None,
        "finite": True,
        "error": None,
        "n": len(v),
        "neg_elbo": nll,
        "median_frac_error": float(np.median(frac)),
        "p95_frac_error": float(np.quantile(frac, 0.95)),
        "mean_frac_error": float(np.mean(frac)),
        "rms_kms": float(np.sqrt(np.mean(err * err))),
        "p99_max_frac_error": float(np.quantile(curve_max, 0.99)),
        "max_frac_error": float(np.max(curve_max)),
        "explained_variance": float(np.sum(pca.explained_variance_ratio_)),
    }


def latent_variance(run: Any, spec: Path) -> list[float]:
    """Variance across the run's test curves of each latent posterior mean, ``(d,)``."""
    from rotcurve.datasets import load_training_data
    from rotcurve.io import open_dataset

    data = load_training_data(
        spec, seed=int(run.data["seed"]), device="cpu", in_memory=True
    )
    with open_dataset(spec) as ds:
        v = np.asarray(ds.v_circ[np.sort(data.indices["test"])], dtype=np.float64)
    return run.encode(v).mean.var(axis=0).tolist()


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.3f} %"


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


# ------------------------------------------------------------------------ benchmarks
def compare(
    spec: Path, work: Path, *, models: list[str], seed: int, epochs: int | None
) -> dict[str, Any]:
    """The comparison table (see the module docstring); prints it and returns the rows."""
    train = {"device": "cpu", "seed": seed}
    if epochs:
        train["epochs"] = epochs
    rows: dict[str, dict[str, Any]] = {}
    for name in models:
        print(f"  training {name} ...", file=sys.stderr, flush=True)
        row = train_and_score(spec, work / name, model=MODELS[name], train=train)
        run = row.pop("run", None)
        if run is not None and run.model_config.model == "vae":
            row["latent_variance"] = latent_variance(run, spec)
        rows[name] = row
        print(
            f"    {name}: {row.get('epochs')} epochs, {row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} s CPU, "
            f"median {_pct(row.get('median_frac_error'))}, RMS {_num(row.get('rms_kms'), '.3f')} km/s",
            file=sys.stderr,
            flush=True,
        )
    rows["pca-4"] = pca_baseline(spec, seed=seed)

    print(
        "\n| model | wall s | CPU s | epochs (best) | median frac. error | 95th pct | RMS km/s | p99 of per-curve max | worst | held-out neg. ELBO (nats/curve) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        if r.get("error"):
            print(
                f"| {name} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | diverged: {r['error']} |  |  |  |  |  |  |"
            )
            continue
        ep = "-" if r["epochs"] is None else f"{r['epochs']} ({r['best_epoch']})"
        nll = _num(r["neg_elbo"], ".2f")
        if name == "ae":
            nll += " (recon. only, no KL)"
        elif name.startswith("pca"):
            nll += " (PPCA exact -log p)"
        print(
            f"| {name} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} | {ep} | {_pct(r['median_frac_error'])} | "
            f"{_pct(r['p95_frac_error'])} | {r['rms_kms']:.3f} | {_pct(r['p99_max_frac_error'])} | "
            f"{_pct(r['max_frac_error'])} | {nll} |"
        )
    return rows


def seeds(spec: Path, work: Path, *, n_seeds: int, epochs: int) -> dict[str, Any]:
    """The seed-stability check of the full-covariance VAEs; prints a table and returns the rows."""
    rows: list[dict[str, Any]] = []
    for posterior in SEED_POSTERIORS:
        for seed in range(n_seeds):
            print(
                f"  training {posterior} seed {seed} ({epochs} epochs) ...",
                file=sys.stderr,
                flush=True,
            )
            r = train_and_score(
                spec,
                work / f"{posterior}-s{seed}",
                model={"posterior": posterior},
                train={"device": "cpu", "seed": seed, "epochs": epochs},
                which="last",
            )
            run = r.pop("run", None)
            r.update(posterior=posterior, seed=seed)
            if run is not None:
                var = latent_variance(run, spec)
                r.update(
                    latent_variance=var,
                    collapsed=[i for i, s in enumerate(var) if s < COLLAPSE_VARIANCE],
                )
            rows.append(r)

    print(
        "\n| posterior | seed | finite | median frac. error | RMS km/s | neg. ELBO | latent mean variances | collapsed |"
    )
    print("|---|---:|---|---:|---:|---:|---|---|")
    for r in rows:
        if r.get("error"):
            print(
                f"| {r['posterior']} | {r['seed']} | no: {r['error']} |  |  |  |  |  |"
            )
            continue
        var = ", ".join(f"{s:.3g}" for s in r["latent_variance"])
        print(
            f"| {r['posterior']} | {r['seed']} | {'yes' if r['finite'] else 'NO'} | {_pct(r['median_frac_error'])} | "
            f"{r['rms_kms']:.3f} | {r['neg_elbo']:.2f} | {var} | {r['collapsed'] or 'none'} |"
        )
    bad = [r for r in rows if r.get("error") or not r["finite"]]
    collapsed = [r for r in rows if r.get("collapsed")]
    print(
        f"\n{len(rows) - len(bad)}/{len(rows)} runs finite; "
        f"{len(collapsed)} with a collapsed latent dimension (variance < {COLLAPSE_VARIANCE})"
    )
    return {"epochs": epochs, "rows": rows}


# ------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "what", nargs="?", default="all", choices=("all", "compare", "seeds")
    )
    p.add_argument(
        "--data",
        help="a rotcurve curve file (default: generate --n curves with --data-seed)",
    )
    p.add_argument(
        "--n", type=int, default=25_000, help="curves to generate (default 25,000)"
    )
    p.add_argument(
        "--data-seed",
        type=int,
        default=1,
        help="seed of the generated curves (default 1)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="training seed of the comparison (default 0)",
    )
    p.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated subset of {', '.join(MODELS)}",
    )
    p.add_argument(
        "--epochs",
        type=int,
        help="comparison epochs (default: rotcurve's default, 300)",
    )
    p.add_argument(
        "--seeds", type=int, default=5, help="seeds of the stability check (default 5)"
    )
    p.add_argument(
        "--seed-epochs",
        type=int,
        default=40,
        help="epochs per stability run (default 40)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1; 0: torch's choice)",
    )
    p.add_argument(
        "--workdir", help="keep data and runs here (default: a temporary folder)"
    )
    p.add_argument("--json", help="also write the results here (JSON)")
    args = p.parse_args(argv)

    import torch

    from rotcurve.errors import ConfigError
    from rotcurve.io.atomic import atomic_write_text

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise ConfigError(
            f"unknown model {', '.join(unknown)}; choose from {', '.join(MODELS)}"
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine_line())

    with tempfile.TemporaryDirectory(prefix="bench_quality_") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.data:
            spec = Path(args.data)
        else:
            spec = work / f"curves_{args.n}_s{args.data_seed}.h5"
            if not spec.exists():
                make_curves(spec, args.n, args.data_seed)
        print(
            f"data: {spec} ({args.n:,} curves, seed {args.data_seed}, split 0.8/0.1/0.1)"
            if not args.data
            else f"data: {spec}"
        )
        out: dict[str, Any] = {
            "machine": machine_line(),
            "data": str(spec),
            "threads": torch.get_num_threads(),
        }
        for sub in ("compare", "seeds"):
            (work / sub).mkdir(exist_ok=True)
        if args.what in ("all", "compare"):
            out["compare"] = compare(
                spec,
                work / "compare",
                models=models,
                seed=args.seed,
                epochs=args.epochs,
            )
        if args.what in ("all", "seeds"):
            out["seeds"] = seeds(
                spec, work / "seeds", n_seeds=args.seeds, epochs=args.seed_epochs
            )
    if args.json:
        atomic_write_text(
            args.json, json.dumps(out, indent=2, allow_nan=True, default=str) + "\n"
        )
    return 0


if __name__ == "__main__":
    from rotcurve.errors import RotcurveError

    try:
        sys.exit(main())
    except RotcurveError as exc:
        print(f"bench_quality: error: {exc}", file=sys.stderr)
        sys.exit(2)
