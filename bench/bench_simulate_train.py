"""Benchmark (issue 10): does training on fresh simulated curves fix the tails, at what cost?

Two parts, one process:

``throughput``  curves per second of the torch twin (prior draws + physics +
                normalisation, :class:`rotcurve.datasets.simulate.SimulatedSplit`)
                on the device, against reading a curve file
                (:func:`rotcurve.datasets.load_training_data`, in memory).
``compare``     a run trained on a ``--n-file``-curve file (its 0.8 training
                split) against a ``--simulate`` run with as many fresh curves per epoch
                (the same batch size and epochs, hence the same optimiser steps),
                both scored on one independent test file (``--n-test`` curves,
                another seed): median point fractional error, RMS km/s, the 99th
                percentile and the maximum of the per-curve maximum relative error.

Run from the repository root::

    python bench/bench_simulate_train.py --epochs 60 --threads 1 --json out.json
    python bench/bench_simulate_train.py --device cuda --n-file 1250000 --epochs 20   # a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def tails(run, v):
    """Held-out error statistics of ``run`` on curves ``v`` (km/s)."""
    rec = run.reconstruct(v)
    frac = np.abs(rec - v) / v
    per_curve = frac.max(axis=1)
    return {
        "median_frac": float(np.median(frac)),
        "rms_kms": float(np.sqrt(np.mean((rec - v) ** 2))),
        "p99_curve_max_frac": float(np.quantile(per_curve, 0.99)),
        "worst_curve_max_frac": float(per_curve.max()),
    }


def sync(device):
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def throughput(file, device, n_sim, repeat=3):
    import torch

    from rotcurve.datasets import load_training_data
    from rotcurve.datasets.simulate import SimulatedSplit
    from rotcurve.generator import ReferencePrior

    best_read = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        data = load_training_data(file, seed=0, device=device, in_memory=True)
        sync(device)
        best_read = min(best_read, time.perf_counter() - t)
    n_file = int(data.meta["n_total"])
    split = SimulatedSplit(n_sim, ReferencePrior(), data.meta["radii"], data.normaliser, device)
    for _ in split.iter_batches(n_sim, epoch=0):  # warm-up
        pass
    best_sim = np.inf
    for e in range(repeat):
        t = time.perf_counter()
        for xb in split.iter_batches(65536, epoch=e + 1):
            pass
        sync(device)
        best_sim = min(best_sim, time.perf_counter() - t)
    return {
        "file_read_curves_per_s": n_file / best_read,
        "twin_curves_per_s": n_sim / best_sim,
        "n_file": n_file,
        "n_sim": n_sim,
        "threads": torch.get_num_threads(),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--n-file", type=int, default=25_000, help="curves of the training file (0.8 of them train)")
    p.add_argument("--n-test", type=int, default=20_000, help="curves of the independent test file")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--parts", nargs="+", default=["throughput", "compare"], choices=("throughput", "compare"))
    p.add_argument("--workdir", default=None, help="keep files here (default: a temporary folder)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import torch

    from rotcurve.generator import generate
    from rotcurve.io.read import open_dataset
    from rotcurve.run import load_run
    from rotcurve.training import fit, fit_simulated

    if args.threads:
        torch.set_num_threads(args.threads)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-sim-"))
    work.mkdir(parents=True, exist_ok=True)
    file, test = work / "train.h5", work / "test.h5"
    if not file.exists():
        generate(args.n_file, out=file, seed=1, workers=1, components=False, progress=False)
    out = {"device": args.device, "platform": platform.processor() or platform.machine(), "args": vars(args)}
    if "throughput" in args.parts:
        out["throughput"] = throughput(file, args.device, min(args.n_file, 262_144))
        print(json.dumps(out["throughput"], indent=1), flush=True)
    if "compare" in args.parts:
        if not test.exists():
            generate(args.n_test, out=test, seed=99, workers=1, components=False, progress=False)
        with open_dataset(test) as ds:
            v_test = np.asarray(ds.v_circ[:], dtype=np.float64)
        n_train = args.n_file - 2 * int(args.n_file * 0.1)
        train = {"epochs": args.epochs, "batch_size": args.batch_size, "device": args.device, "seed": 0}
        rows = {}
        for name in ("file", "simulate"):
            run_dir = work / f"run-{name}"
            t = time.perf_counter()
            if name == "file":
                res = fit(file, run_dir, train=train, overwrite=True, progress=False)
            else:
                res = fit_simulated(run_dir, n_train, reference_size=args.n_file, train=train,
                                    overwrite=True, progress=False)
            wall = time.perf_counter() - t
            run = load_run(run_dir, device=args.device)
            rows[name] = {"wall_s": wall, "steps": res.step, "best_epoch": res.best_epoch,
                          "n_train_per_epoch": n_train, **tails(run, v_test)}
            print(name, json.dumps(rows[name]), flush=True)
        out["compare"] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
