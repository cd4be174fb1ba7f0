"""Quality of new curves per latent source: the default (the saved aggregate), gaussian, gmm and the N(0, I) prior.

For each source, ``--n`` (10,000) curves are drawn with
:meth:`rotcurve.run.Run.sample` (what ``rotcurve sample --from SOURCE``
writes) and judged with the package's own analysis functions:

* physical validity (:func:`rotcurve.analysis.validity.physical_validity`):
  the fraction of curves that the four-parameter exponential disc + NFW halo
  model fits with an RMS fractional residual <= 2 % (target >= 99.5 %);
* a classifier two-sample test
  (:func:`rotcurve.analysis.twosample.classifier_two_sample_test`, gradient
  boosting on ``log10 v``, 5 folds) against ``--n`` freshly simulated curves
  (target AUC <= 0.55; 0.5 = indistinguishable).

The same two numbers for simulated-against-simulated curves (two independent
draws of the same prior) are printed as the reference row.  The reference
curves are simulated from the ``reference`` prior on the run's radius grid
with the training file's ``H0`` and ``Delta``: the prior ``rotcurve generate``
uses by default (give ``--prior`` for a run trained on another one).

Usage, from the repository root::

    python bench/bench_sampling.py --run runs/vae4
    python bench/bench_sampling.py --train 20000            # generate + train a default run first
    python bench/bench_sampling.py --run runs/vae4 --n 2000 --sources aggregate prior --json s.json

``--train N`` generates ``N`` curves (``rotcurve generate --seed 1``) and runs
``rotcurve train`` with its defaults (``--epochs`` to shorten) in a temporary
folder, so the aggregate density is the one ``rotcurve train`` saves.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Sources compared, in table order; "default" is what ``Run.sample`` uses without ``source``.
SOURCES: tuple[str, ...] = ("default", "gaussian", "gmm", "prior")

#: Targets of issue 10 for the default generative path.
TARGET_VALID: float = 0.995
TARGET_AUC: float = 0.55


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


def train_default_run(root: Path, n: int, epochs: int | None) -> Path:
    """``rotcurve generate --n n --seed 1`` and ``rotcurve train`` (defaults) under ``root``; the run folder."""
    from rotcurve.cli.main import main

    data, run = root / "curves.h5", root / "run"
    assert main(["generate", "--n", str(n), "--out", str(data), "--seed", "1", "--workers", "1", "-q"]) == 0
    argv = ["train", "--data", str(data), "--out", str(run), "--threads", "1", "-q"]
    if epochs:
        argv += ["--epochs", str(epochs)]
    t0 = time.perf_counter()
    assert main(argv) == 0
    print(f"trained in {time.perf_counter() - t0:.0f} s", flush=True)
    return run


def simulated(run: Any, n: int, *, prior: str, seed: int) -> np.ndarray:
    """``(n, n_r)`` km/s: curves simulated from ``prior`` on the run's grid with the training file's H0, Delta."""
    from rotcurve.generator.priors import resolve_prior
    from rotcurve.physics import rotation_curves

    attrs = run.data.get("file_attrs", {})
    physics = {k: float(attrs[k]) for k in ("H0", "Delta") if k in attrs}
    params = resolve_prior(prior).sample(n, np.random.default_rng(seed))
    return np.asarray(rotation_curves(params, run.radii, **physics).v_circ, dtype=np.float64)


def judge(v: np.ndarray, reference: np.ndarray, radii: np.ndarray, *, seed: int, n_jobs: int) -> dict[str, Any]:
    """Validity (within 1 % and 2 % RMS), the largest curve velocity and the C2ST AUC of curves ``v`` (km/s)."""
    from rotcurve.analysis import classifier_two_sample_test, physical_validity

    t0 = time.perf_counter()
    val = physical_validity(v, radii, seed=seed, n_jobs=n_jobs)
    c2st = classifier_two_sample_test(reference, v, seed=seed)
    return {
        "n": int(len(v)),
        "valid_1pct": float(val.fraction_within[0.01]),
        "valid_2pct": float(val.fraction_within[0.02]),
        "n_invalid_2pct": int(round(len(v) * (1.0 - val.fraction_within[0.02]))),
        "v_max_kms": float(np.max(v)),
        "auc": float(c2st.auc),
        "auc_std": float(c2st.auc_std),
        "seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--run", type=Path, help="a trained curve run folder")
    where.add_argument("--train", type=int, metavar="N", help="generate N curves and train a default run first")
    ap.add_argument("--epochs", type=int, default=None, help="with --train: fewer epochs than the default 300")
    ap.add_argument("--n", type=int, default=10000, help="curves per source (default 10000)")
    ap.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    ap.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    ap.add_argument("--prior", default="reference", help="prior of the simulated reference curves")
    ap.add_argument("--n-jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes for the fits")
    ap.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    args = ap.parse_args(argv)

    import torch

    from rotcurve.run import load_run

    torch.set_num_threads(1)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run or train_default_run(Path(tmp), args.train, args.epochs)
        run = load_run(run_dir)
        aggs = run.aggregates()
        print(f"run: {run!r}; saved aggregate density {aggs.path} (choice {aggs.choice}, fit seed "
              f"{aggs.info['fit_seed']}, gmm components {aggs.models['gmm'].n_components})", flush=True)
        ref_a = simulated(run, args.n, prior=args.prior, seed=10_000 + args.seed)
        ref_b = simulated(run, args.n, prior=args.prior, seed=20_000 + args.seed)
        rows: dict[str, dict[str, Any]] = {}
        for source in args.sources:
            label = {"default": f"default = aggregate ({aggs.choice})",
                     "prior": "prior N(0, I) (diagnostic)"}.get(source, source)
            kw = {} if source == "default" else {"source": source}
            v = run.sample(args.n, seed=args.seed, **kw)
            rows[label] = judge(v, ref_a, run.radii, seed=args.seed, n_jobs=args.n_jobs)
            print(f"  {label}: {rows[label]}", flush=True)
        rows["simulated vs simulated (reference)"] = judge(ref_b, ref_a, run.radii, seed=args.seed,
                                                          n_jobs=args.n_jobs)

    print(f"\n{'latents from':38s} {'curves':>7s} {'valid 1%':>9s} {'valid 2%':>9s} {'invalid':>8s} "
          f"{'max km/s':>9s} {'C2ST AUC':>13s}")
    for label, r in rows.items():
        print(f"{label:38s} {r['n']:7d} {100 * r['valid_1pct']:8.2f}% {100 * r['valid_2pct']:8.2f}% "
              f"{r['n_invalid_2pct']:8d} {r['v_max_kms']:9.0f} {r['auc']:7.3f}±{r['auc_std']:.3f}")
    print(f"targets for the default: valid within 2 % >= {100 * TARGET_VALID:.1f} %, AUC <= {TARGET_AUC}")
    if args.json:
        args.json.write_text(json.dumps({"machine": cpu_model(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
