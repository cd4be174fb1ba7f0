"""Tails and seed stability of the curve VAEs (issue 10): the old defaults beside the new ones.

For each training-set size, posterior (``diag``, ``full``, ``full-svd``) and
seed, trains with :func:`rotcurve.training.fit` (what ``rotcurve train``
runs) twice -- once with the settings ``rotcurve train`` used before issue 10
(:data:`OLD_DEFAULTS`, given as overrides) and once with today's defaults --
and scores the last checkpoint with :meth:`rotcurve.run.Run.score` on a
separate held-out file (``--test``, 5,000 reference-prior curves with
another seed, never seen in training).  Printed per run:

* median of ``|v_hat / v - 1|`` over every (curve, radius) point;
* RMS of ``v_hat - v`` in km/s;
* p99: the 99th percentile over curves of each curve's largest ``|v_hat / v - 1|``;
* worst: the largest ``|v_hat / v - 1|`` of any point of any curve;
* CPU seconds of the training (all threads of this process).

Data: ``--sizes`` training-set sizes; for each, ``size / 0.8`` reference-prior
curves are generated with ``--data-seed`` (split 0.8 / 0.1 / 0.1 by the
training seed), unless ``--data SIZE=FILE`` gives a file.

Usage::

    python bench/bench_tails.py --sizes 8000 --seeds 0,1,2            # the seed table
    python bench/bench_tails.py --sizes 20000 --seeds 0               # the 20k table
    python bench/bench_tails.py --sizes 8000 --posteriors full --seeds 0,2 --which new
    python bench/bench_tails.py --json tails.json --workdir /tmp/tails
    python bench/bench_tails.py --ladder --sizes 20000 --posteriors diag --seeds 0   # one change at a time
    python bench/bench_tails.py --tried --sizes 20000 --posteriors diag --seeds 0    # what did not help
    python bench/bench_tails.py --sizes 80000 --seeds 0 --which new --epochs 400     # more data and steps
    python bench/bench_tails.py --sizes 80000 --which new --epochs 400 --activation gelu  # the long-run recipe

Wall times on a shared machine are inflated; CPU time is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_quality import machine_line, make_curves  # noqa: E402

#: The defaults of ``rotcurve train`` on curves before issue 10, as overrides of today's
#: (``train`` -> TrainConfig, ``model`` -> ModelConfig).
OLD_DEFAULTS: dict[str, dict[str, Any]] = {
    "train": {"epochs": 300, "kl_warmup": 0.0, "grad_clip": 1.0},
    "model": {
        "posterior_scale": math.log(2.0),  # softplus(0): LEGACY_POSTERIOR_SCALE
        "noise": "learned",
        "max_weight": 0.0,
        "hidden": [256, 128, 64],
    },
}

POSTERIORS: tuple[str, ...] = ("diag", "full", "full-svd")

METRICS: tuple[tuple[str, str], ...] = (
    ("median_frac_error", "median"),
    ("rms_kms", "RMS km/s"),
    ("p99_max_frac_error", "p99 of per-curve max"),
    ("max_frac_error", "worst"),
)


#: ``--ladder``: today's defaults rebuilt one tails change at a time (issue 10, second
#: session), each step as overrides of today's defaults; the first is the previous default.
LADDER: tuple[tuple[str, dict[str, dict[str, Any]]], ...] = (
    (
        "per-radius noise, clipping, 256-128-64 (the defaults before)",
        {"model": {"noise": "learned", "max_weight": 0.0, "hidden": [256, 128, 64]}, "train": {"grad_clip": 1.0}},
    ),
    ("+ one shared noise scale", {"model": {"max_weight": 0.0, "hidden": [256, 128, 64]}, "train": {"grad_clip": 1.0}}),
    ("+ max_weight = 1", {"model": {"hidden": [256, 128, 64]}, "train": {"grad_clip": 1.0}}),
    ("+ no gradient clipping", {"model": {"hidden": [256, 128, 64]}, "train": {}}),
    ("+ 256-128-128 (today's defaults)", {"model": {}, "train": {}}),
)

#: ``--tried``: changes to today's defaults that did not improve the 20k tails (issue 10,
#: third session; docs/results.md has the figures), each as overrides of today's defaults.
TRIED: tuple[tuple[str, dict[str, dict[str, Any]]], ...] = (
    ("today's defaults", {}),
    ("weight_decay = 0.01", {"train": {"weight_decay": 0.01}}),
    ("min_lr_ratio = 0.001", {"train": {"min_lr_ratio": 0.001}}),
    ("GELU, min_lr_ratio = 0.001", {"model": {"activation": "gelu"}, "train": {"min_lr_ratio": 0.001}}),
    ("tanh", {"model": {"activation": "tanh"}}),
    ("softplus", {"model": {"activation": "softplus"}}),
    ("orthogonal init", {"model": {"init": "orthogonal"}}),
    ("Adam betas (0.9, 0.99)", {"train": {"betas": [0.9, 0.99]}}),
    ("Adam betas (0.9, 0.999)", {"train": {"betas": [0.9, 0.999]}}),
    ("batch 128, 350 epochs", {"train": {"batch_size": 128, "epochs": 350}}),
    ("latent_dim = 6", {"model": {"latent_dim": 6}}),
    ("512-256-256 (decoder 256-256-512)", {"model": {"hidden": [512, 256, 256]}}),
)

#: The step lists by option name: (title, steps).
STEP_SETS: dict[str, tuple[str, tuple[tuple[str, dict[str, dict[str, Any]]], ...]]] = {
    "ladder": ("one change at a time", LADDER),
    "tried": ("changes tried against today's defaults", TRIED),
}


def run_one(
    spec: Path, test: Path, run_dir: Path, *, posterior: str, seed: int, old: bool,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Train one model and score it on ``test``; returns the metrics and the CPU/wall time.

    ``old`` applies :data:`OLD_DEFAULTS`; ``overrides`` (``{"model": ..., "train": ...}``)
    replace single values of today's defaults instead.
    """
    from rotcurve.run import load_run
    from rotcurve.training import fit

    model: dict[str, Any] = {"posterior": posterior}
    train: dict[str, Any] = {"device": "cpu", "seed": seed}
    extra = OLD_DEFAULTS if old else overrides or {}
    model.update(extra.get("model", {}))
    train.update(extra.get("train", {}))
    t0, c0 = time.perf_counter(), time.process_time()
    result = fit(spec, run_dir, model=model, train=train, overwrite=True, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    score = load_run(run_dir, which="last").score(test)
    hist = result.history
    tail = [r["train_loss"] for r in hist[-max(2, len(hist) // 10) :]]
    return {
        "posterior": posterior,
        "seed": seed,
        "defaults": "old" if old else "new",
        "epochs": result.epoch,
        "wall_s": wall,
        "cpu_s": cpu,
        # how much the training loss still fell over the last tenth of the run (nats/curve)
        "last_tenth_drop": float(tail[0] - tail[-1]),
        **{k: score[k] for k, _ in METRICS},
    }


def _fmt(row: dict[str, Any]) -> str:
    return (
        f"{100 * row['median_frac_error']:.3f} % | {row['rms_kms']:.2f} | "
        f"{100 * row['p99_max_frac_error']:.2f} % | {100 * row['max_frac_error']:.2f} %"
    )


def print_table(size: int, rows: list[dict[str, Any]]) -> None:
    """One markdown table: a line per posterior and seed, old and new defaults side by side."""
    print(f"\n{size:,} training curves, scored on the held-out file")
    head = " | ".join(name for _, name in METRICS)
    print(f"| posterior | seed | old: {head.replace(' | ', ' | old: ')} | new: {head.replace(' | ', ' | new: ')} | CPU s old / new |")
    print("|---|---:|" + "---:|" * (2 * len(METRICS) + 1))
    keys = sorted({(r["posterior"], r["seed"]) for r in rows}, key=lambda k: (POSTERIORS.index(k[0]), k[1]))
    for post, seed in keys:
        cell = {r["defaults"]: r for r in rows if r["posterior"] == post and r["seed"] == seed}
        old = _fmt(cell["old"]) if "old" in cell else " | ".join("-" * 1 for _ in METRICS)
        new = _fmt(cell["new"]) if "new" in cell else " | ".join("-" * 1 for _ in METRICS)
        cpu = " / ".join(f"{cell[k]['cpu_s']:.0f}" if k in cell else "-" for k in ("old", "new"))
        print(f"| {post} | {seed} | {old} | {new} | {cpu} |")


def steps(
    spec: Path, test: Path, work: Path, *, size: int, posterior: str, seed: int,
    which: str = "ladder",
) -> list[dict[str, Any]]:
    """Train and print the steps of :data:`STEP_SETS` ``[which]`` (LADDER or TRIED); returns their rows."""
    rows = []
    title, step_list = STEP_SETS[which]
    print(f"\n{size:,} training curves, {posterior}, seed {seed}: {title}")
    print("| step | " + " | ".join(name for _, name in METRICS) + " | CPU s |")
    print("|---|" + "---:|" * (len(METRICS) + 1))
    for i, (name, overrides) in enumerate(step_list):
        run_dir = work / "runs" / f"{size}-{posterior}-s{seed}-{which}{i}"
        row = run_one(spec, test, run_dir, posterior=posterior, seed=seed, old=False, overrides=overrides)
        row["step"] = name
        rows.append(row)
        print(f"| {name} | {_fmt(row)} | {row['cpu_s']:.0f} |", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="8000,20000", help="training-set sizes (default 8000,20000)")
    p.add_argument("--posteriors", default=",".join(POSTERIORS))
    p.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    p.add_argument("--which", default="both", choices=("both", "old", "new"), help="which defaults to train")
    p.add_argument("--data", action="append", default=[], metavar="SIZE=FILE", help="use FILE for SIZE")
    p.add_argument("--test", help="held-out curve file (default: generate 5,000 with --test-seed)")
    p.add_argument("--data-seed", type=int, default=1)
    p.add_argument("--test-seed", type=int, default=99)
    p.add_argument(
        "--epochs", type=int,
        help="train today's defaults for this many epochs instead of 600 (the old defaults keep 300)",
    )
    p.add_argument(
        "--activation",
        help="train today's defaults with this activation instead of silu (gelu: the long-run recipe)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1; 0: torch's choice)")
    p.add_argument("--workdir", help="keep data and runs here (default: a temporary folder)")
    p.add_argument("--json", help="also write the rows here (JSON)")
    p.add_argument("--merge", nargs="+", metavar="JSON", help="print the tables of earlier --json files; train nothing")
    p.add_argument(
        "--ladder", action="store_true",
        help="train the LADDER steps instead (first posterior and seed, first size): one change at a time",
    )
    p.add_argument(
        "--tried", action="store_true",
        help="train the TRIED steps instead (first posterior and seed, first size): what did not help",
    )
    a = p.parse_args(argv)
    if a.merge:
        merged: dict[int, list[dict[str, Any]]] = {}
        for f in a.merge:
            data = json.loads(Path(f).read_text())
            print(data["machine"])
            for size, rows in data["rows"].items():
                merged.setdefault(int(size), []).extend(rows)
        for size in sorted(merged):
            print_table(size, merged[size])
        return 0

    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    print(machine_line())
    sizes = [int(s) for s in a.sizes.split(",") if s]
    seeds = [int(s) for s in a.seeds.split(",") if s]
    posteriors = [s for s in a.posteriors.split(",") if s]
    files = {int(k): Path(v) for k, v in (d.split("=", 1) for d in a.data)}
    modes = {"both": (True, False), "old": (True,), "new": (False,)}[a.which]
    # --epochs / --activation: overrides of today's defaults (the old defaults ignore them)
    changes = {k: v for k, v in (("train", {"epochs": a.epochs}), ("model", {"activation": a.activation}))
               if next(iter(v.values()))} or None
    out: dict[str, Any] = {"machine": machine_line(), "rows": {}}
    with tempfile.TemporaryDirectory(prefix="bench_tails_") as tmp:
        work = Path(a.workdir) if a.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        test = Path(a.test) if a.test else work / f"test_5000_s{a.test_seed}.h5"
        if not test.exists():
            make_curves(test, 5000, a.test_seed)
        for size in sizes:
            spec = files.get(size) or work / f"curves_{round(size / 0.8)}_s{a.data_seed}.h5"
            if not spec.exists():
                make_curves(spec, round(size / 0.8), a.data_seed)
            if a.ladder or a.tried:
                which = "ladder" if a.ladder else "tried"
                out[which] = steps(spec, test, work, size=size, posterior=posteriors[0], seed=seeds[0], which=which)
                break
            rows = []
            for post in posteriors:
                for seed in seeds:
                    for old in modes:
                        tag = f"{size}-{post}-s{seed}-{'old' if old else 'new'}"
                        print(f"  training {tag} ...", file=sys.stderr, flush=True)
                        row = run_one(spec, test, work / "runs" / tag, posterior=post, seed=seed, old=old, overrides=changes)
                        print(f"    {tag}: {_fmt(row)}, {row['cpu_s']:.0f} s CPU", file=sys.stderr, flush=True)
                        rows.append(row)
            print_table(size, rows)
            out["rows"][size] = rows
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
