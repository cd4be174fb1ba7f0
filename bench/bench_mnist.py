"""MNIST: rotcurve's default VAE against the reference tutorials' architectures, same trainer, data and seed.

Every model is a :class:`rotcurve.models.ModelConfig` trained by
:func:`rotcurve.training.fit` with the same training configuration
(``default_train_config("mnist")``: Adam 1e-3, batch 128, cosine decay to
10 %, ``--epochs`` epochs, the same seed), on the same split of the real MNIST
test set (``mnist:DIR`` with only the ``t10k-*`` files: 10,000 images split
8,000 / 1,000 / 1,000 by the seed).  So only the architecture differs.  The
loss is rotcurve's per-example negative ELBO (Bernoulli pixels, summed over the
784 pixels, plus the KL of the diagonal Gaussian posterior, averaged over the
batch); the tutorials that sum over the batch instead (000, 001) are trained
under this per-example loss (with Adam the two differ only by the step-size
normalisation, not the optimum).

The reference architectures (``REFERENCES``), re-created from
``shared/reference``:

``ref000``
    Encoder 784-400-400 -> (mu, log var), decoder d-400-400-784, LeakyReLU
    slope 0.2, PyTorch's default initialisation, sigmoid output with BCE.
    The notebook hides its settings cell; its code credits the
    Jackson-Kang "Pytorch-VAE-tutorial" (hidden 400, latent 200, batch 100,
    lr 1e-3, 30 epochs), whose per-epoch training losses it reproduces
    (173.5, 129.1, 116.7 ... against 173.1, 128.3, 117.1 ...).  Native d = 200.
``ref001``
    VAE 784-256-128 -> (mu, log var) with ReLU; decoder d-128-256-784.  In the
    tutorial the encoder has no ReLU after its 128-wide layer (a linear
    256 -> 128 -> 2d map); a rotcurve MLP puts one after every hidden layer, so
    this encoder has one extra non-linearity.  Native d = 16.
``ref002``
    Encoder 784-256 ReLU -> (mu, log var), decoder d-256-784, ReLU.  Native d = 10.
``ref004``
    The deep autoencoder 784-392-(32 d)-d with PReLU (one shared slope) and
    Kaiming-normal weights, sigmoid output.  It is an autoencoder (with a
    spherical latent space in the tutorial); compared here as its VAE variant
    (same widths, Euclidean latent with the N(0, I) prior: a VAE cannot use the
    sphere without a von Mises-Fisher prior).  Native d = 2 and 3 (3 used).

Each architecture runs at its own latent dimension and at rotcurve's (16);
rotcurve's default architecture runs at every one of those dimensions, so
each reference is compared at equal ``d``.

Two activations the tutorials use and rotcurve's registry lacks are added to
:data:`rotcurve.models.mlp.ACTIVATIONS` in this process only:
``leaky_relu_0.2`` and ``prelu_shared`` (``nn.PReLU()`` with one slope).

Reported, on the 1,000 held-out test images, nats per image: the negative
ELBO of :meth:`rotcurve.run.Run.score` (one posterior draw), the same bound
averaged over 32 draws (lower variance), and ``-log p(x)`` estimated by
importance sampling with 256 draws (Burda et al. 2016).

Usage::

    python bench/bench_mnist.py                           # 30 epochs, seed 0, 1 torch thread
    python bench/bench_mnist.py --seeds 0,1,2 --json mnist.json
    python bench/bench_mnist.py --only rotcurve-d16,ref001-d16 --epochs 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_DATA = "mnist:../shared/datasets/mnist"

#: The reference architectures: name -> (source, ModelConfig overrides without latent_dim, native d).
REFERENCES: dict[str, tuple[str, dict[str, Any], int]] = {
    "ref000": (
        "000 (Jackson-Kang MLP VAE)",
        {"hidden": (400, 400), "activation": "leaky_relu_0.2", "init": "default"},
        200,
    ),
    "ref001": (
        "001 (VAE 784-256-128)",
        {"hidden": (256, 128), "activation": "relu", "init": "default"},
        16,
    ),
    "ref002": (
        "002 (VAE 784-256)",
        {"hidden": (256,), "activation": "relu", "init": "default"},
        10,
    ),
    "ref004": (
        "004 (deep AE, VAE variant)",
        {"activation": "prelu_shared", "init": "kaiming"},
        3,
    ),
}

#: rotcurve's latent dimension for MNIST (``default_config("mnist", 784).latent_dim``).
ROTCURVE_D = 16

#: Posterior draws of the averaged ELBO and of the importance-sampled likelihood.
ELBO_DRAWS = 32
IWAE_DRAWS = 256


def register_activations() -> None:
    """Add the tutorials' ``LeakyReLU(0.2)`` and single-slope ``PReLU`` to the registry (this process only)."""
    from torch import nn

    from rotcurve.models.mlp import ACTIVATIONS, ActivationSpec

    ACTIVATIONS.setdefault(
        "leaky_relu_0.2",
        ActivationSpec(
            lambda w: nn.LeakyReLU(0.2), nn.init.calculate_gain("leaky_relu", 0.2)
        ),
    )
    ACTIVATIONS.setdefault(
        "prelu_shared",
        ActivationSpec(
            lambda w: nn.PReLU(num_parameters=1, init=0.25),
            nn.init.calculate_gain("leaky_relu", 0.25),
        ),
    )


def plan() -> dict[str, tuple[str, dict[str, Any]]]:
    """Every (name -> (source, model overrides)) to train."""
    from rotcurve.models import default_config

    base = default_config("mnist", 784)
    entries: dict[str, tuple[str, dict[str, Any]]] = {}
    dims = sorted({ROTCURVE_D, *(d for _, _, d in REFERENCES.values())})
    for d in dims:
        entries[f"rotcurve-d{d}"] = (
            f"rotcurve default ({'-'.join(map(str, base.hidden))}, {base.activation})",
            {"latent_dim": d},
        )
    for name, (source, over, native) in REFERENCES.items():
        for d in sorted({native, ROTCURVE_D}):
            o = dict(over, latent_dim=d)
            if name == "ref004":
                # 784 -> 392 -> 32 d -> d: the tutorial's widths are encoding_size * 32
                o["hidden"] = (392, 32 * d)
            entries[f"{name}-d{d}"] = (source, o)
    return entries


def held_out(run: Any, x: Any, *, seed: int) -> dict[str, float]:
    """Negative ELBO averaged over ``ELBO_DRAWS`` draws and the IWAE ``-log p(x)``, nats per image."""
    import torch

    model = run.model
    gen = torch.Generator().manual_seed(seed)
    elbo, iwae = 0.0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), 100):
            xb = x[i : i + 100]
            elbo += float(
                model.nll(xb, n_samples=ELBO_DRAWS, generator=gen).double().sum()
            )
            iwae -= float(
                model.log_marginal(xb, n_samples=IWAE_DRAWS, generator=gen)
                .double()
                .sum()
            )
    return {"neg_elbo_avg": elbo / len(x), "neg_log_p_iwae": iwae / len(x)}


def train_one(
    spec: str, run_dir: Path, overrides: dict[str, Any], *, epochs: int, seed: int
) -> dict[str, Any]:
    """Train one architecture and score it on the test split."""
    from rotcurve.datasets import load_training_data
    from rotcurve.run import load_run
    from rotcurve.training import fit

    t0, c0 = time.perf_counter(), time.process_time()
    result = fit(
        spec,
        run_dir,
        model=overrides,
        train={"epochs": epochs, "seed": seed, "device": "cpu"},
        overwrite=True,
        progress=False,
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    run = load_run(run_dir, which="best")
    score = run.score(spec, split="test", seed=seed)
    data = load_training_data(spec, seed=seed, device="cpu")
    extra = held_out(run, data.test, seed=seed)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "epochs": result.epoch,
        "best_epoch": result.best_epoch,
        "params": sum(p.numel() for p in run.model.parameters()),
        "hidden": list(run.model_config.hidden),
        "activation": run.model_config.activation,
        "latent_dim": run.model_config.latent_dim,
        "neg_elbo": score["neg_elbo"],
        "recon": score["recon"],
        "kl": score["kl"],
        "n_test": score["n"],
        **extra,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", default=DEFAULT_DATA, help=f"mnist:DIR (default {DEFAULT_DATA})"
    )
    p.add_argument(
        "--epochs", type=int, default=30, help="epochs for every model (default 30)"
    )
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument(
        "--only",
        help="comma-separated subset of the models (e.g. rotcurve-d16,ref001-d16)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1; 0: torch's choice)",
    )
    p.add_argument("--workdir", help="keep the runs here (default: a temporary folder)")
    p.add_argument("--json", help="also write the results here (JSON)")
    args = p.parse_args(argv)

    import torch

    from rotcurve.errors import ConfigError
    from rotcurve.io.atomic import atomic_write_text

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_quality import machine_line

    if args.threads:
        torch.set_num_threads(args.threads)
    register_activations()
    entries = plan()
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(names) - set(entries))
        if unknown:
            raise ConfigError(
                f"unknown model {', '.join(unknown)}; choose from {', '.join(entries)}"
            )
        entries = {n: entries[n] for n in names}
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    print(machine_line())
    print(
        f"data: {args.data}; {args.epochs} epochs; seeds {seeds}; default_train_config('mnist') for every model"
    )

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_mnist_") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name, (source, overrides) in entries.items():
            per_seed = []
            for seed in seeds:
                print(f"  training {name} seed {seed} ...", file=sys.stderr, flush=True)
                r = train_one(
                    args.data,
                    work / f"{name}-s{seed}",
                    overrides,
                    epochs=args.epochs,
                    seed=seed,
                )
                print(
                    f"    {name}: -ELBO {r['neg_elbo']:.2f} (avg {r['neg_elbo_avg']:.2f}), "
                    f"-log p {r['neg_log_p_iwae']:.2f}, {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU",
                    file=sys.stderr,
                    flush=True,
                )
                per_seed.append(r)
            results[name] = {"source": source, "seeds": seeds, "runs": per_seed}

    def mean_sd(rows: list[dict[str, Any]], key: str) -> str:
        vals = [r[key] for r in rows]
        if len(vals) == 1:
            return f"{vals[0]:.2f}"
        return f"{statistics.fmean(vals):.2f} ± {statistics.stdev(vals):.2f}"

    print(
        f"\n| model | architecture (encoder; decoder mirrors) | d | params | wall s | CPU s | "
        f"-ELBO, 1 draw | -ELBO, {ELBO_DRAWS} draws | -log p, IWAE {IWAE_DRAWS} |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, res in results.items():
        rows = res["runs"]
        r0 = rows[0]
        arch = f"784-{'-'.join(map(str, r0['hidden']))}, {r0['activation']}"
        print(
            f"| {name} | {arch} | {r0['latent_dim']} | {r0['params']:,} | "
            f"{statistics.fmean(r['wall_s'] for r in rows):.0f} | {statistics.fmean(r['cpu_s'] for r in rows):.0f} | "
            f"{mean_sd(rows, 'neg_elbo')} | {mean_sd(rows, 'neg_elbo_avg')} | {mean_sd(rows, 'neg_log_p_iwae')} |"
        )
    if args.json:
        out = {
            "machine": machine_line(),
            "data": args.data,
            "epochs": args.epochs,
            "seeds": seeds,
            "threads": torch.get_num_threads(),
            "results": results,
        }
        atomic_write_text(args.json, json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    from rotcurve.errors import RotcurveError

    try:
        sys.exit(main())
    except RotcurveError as exc:
        print(f"bench_mnist: error: {exc}", file=sys.stderr)
        sys.exit(2)
