"""Training speed: rotcurve's loop against the loop the tutorials write, same model and data.

The baseline is the loop of the PyTorch tutorials (and of the VAE tutorial this
project starts from): a ``DataLoader`` over a ``TensorDataset`` held on the
CPU, batch 128, ``shuffle=True``, each batch moved to the device, ``Adam``
(lr 1e-3, torch's betas), and ``loss.item()`` after every step.  rotcurve's
loop is :func:`rotcurve.training.train` itself -- validation every epoch,
``checkpoints/last.pt`` every epoch (``best.pt`` when it improved) and
``metrics.jsonl`` included.  All loops train the same model configuration
(``default_config("curves", n_r)``, the 4-D VAE) from the same initial
weights on the same split, in the same process, one after the other.

rotcurve runs in the configurations of :data:`LOOPS` (overrides of
``default_train_config("curves")`` with ``epochs`` set to ``--epochs``, so the
cosine schedule spans the run):

``default``
    the defaults ``rotcurve train`` uses (batch 256);
``large-batch``
    batch 1024 with a scaled learning rate and a longer warm-up;
``throughput``
    batch 2048 (CPU; 8192 on a GPU): the most examples per second, at the
    cost of progress per example.

Reported, per loop and repeat:

* throughput -- training examples per second, median over epochs 2..E
  (the first epoch includes warm-up); the clock of an epoch covers its
  optimiser steps and the one synchronisation at its end;
* time to target -- wall-clock seconds until the validation loss (negative
  ELBO, nats per example, measured by the same
  :func:`rotcurve.training.evaluate` for every loop) first reaches the
  target.  The target is the best validation loss the tutorial loop reached
  in its epochs (or ``--target``).  The tutorial's clock counts its training
  steps only (not its evaluations); rotcurve's counts the whole
  :func:`~rotcurve.training.train` call up to the end of that epoch: set-up,
  steps, validation, checkpoint and metrics writes;
* CPU time of the whole loop (all threads), the torch thread count and the
  load average before each loop (other work on the machine distorts wall
  times; CPU time much above wall time x threads means spinning threads).

Usage::

    python bench/bench_train.py                       # CPU: 25,000 curves, tutorial 20 epochs, rotcurve 20
    python bench/bench_train.py --repeat 3 --threads 2 --json bench/results/train_cpu.json
    python bench/bench_train.py --loops default 'b512={"batch_size": 512, "lr": 8e-3}' 'adam999={"betas": [0.9, 0.999]}'
    python bench/bench_train.py --device cuda         # GPU: 1,000,000 curves, batch 8192, bf16 autocast
    python bench/bench_train.py --device cuda --loops default throughput --compile

Timings on a shared machine are noisy; compare numbers from one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: rotcurve configurations: overrides of ``default_train_config("curves")`` per device.
LOOPS: dict[str, dict[str, dict[str, Any]]] = {
    "cpu": {
        "default": {},
        # the best time to target found for batch 1024 (lr 8e-3..2.4e-2, warm-up 2-5 %, beta2 0.9..0.98)
        "large-batch": {"batch_size": 1024, "lr": 1.6e-2, "warmup": 0.05},
        "throughput": {"batch_size": 2048, "lr": 1.6e-2, "warmup": 0.05},
    },
    "cuda": {
        "default": {},
        "throughput": {"batch_size": 8192, "lr": 5e-3, "warmup": 0.05},
    },
}

#: Settings per device when not given on the command line.
DEVICE_DEFAULTS: dict[str, dict[str, Any]] = {
    "cpu": {"n": 25_000, "baseline_epochs": 20, "epochs": 20, "loops": ["default", "large-batch", "throughput"]},
    "cuda": {"n": 1_000_000, "baseline_epochs": 2, "epochs": 40, "loops": ["throughput"]},
}

TUTORIAL_BATCH = 128


def make_curves(path: Path, n: int, seed: int) -> Path:
    """``n`` reference-prior disc + NFW curves on the default grid, written to ``path``."""
    from rotcurve.generator import parse_radii, resolve_prior
    from rotcurve.io import write_dataset
    from rotcurve.physics import rotation_curves

    params = resolve_prior("reference").sample(n, np.random.default_rng(seed))
    radii = parse_radii(None).grid()
    v = np.empty((n, radii.size), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = {k: np.asarray(a)[start : start + 100_000] for k, a in params.items()}
        v[start : start + 100_000] = rotation_curves(block, radii).v_circ
    return write_dataset(path, radii=radii, v_circ=v, attrs={"seed": seed})


def fresh_model(cfg: Any, seed: int, device: Any) -> Any:
    """The model with the initial weights ``rotcurve.training.train`` starts from."""
    import torch

    from rotcurve.models import build_model
    from rotcurve.training.loop import _INIT, stream_seed

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(stream_seed(seed, _INIT))
        model = build_model(cfg)
    return model.to(device)


def tutorial_loop(model: Any, x_train: Any, x_val: Any, *, epochs: int, device: Any, seed: int) -> list[dict[str, Any]]:
    """The tutorials' loop; returns one record per epoch (clock: training steps only)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from rotcurve.training import evaluate

    torch.manual_seed(seed)
    loader = DataLoader(TensorDataset(x_train.cpu()), batch_size=TUTORIAL_BATCH, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    records, clock = [], 0.0
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        running, n = 0.0, 0
        for (xb,) in loader:
            xb = xb.to(device)
            out = model(xb)
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
            running += out.loss.item() * len(xb)
            n += len(xb)
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        clock += dt
        val = evaluate(model, x_val, batch_size=8192, seed=seed)["loss"]
        records.append({"epoch": epoch, "train_loss": running / n, "val_loss": val, "samples_per_s": n / dt, "clock": clock})
        print(f"  tutorial   epoch {epoch:3d}  val {val:10.3f}  {n / dt:12,.0f} ex/s", file=sys.stderr)
    return records


def rotcurve_loop(data: Any, model_config: Any, overrides: dict[str, Any], *, epochs: int, device: str, seed: int,
                  compile: bool, amp: str, workdir: Path, tag: str) -> tuple[list[dict[str, Any]], Any]:
    """:func:`rotcurve.training.train`; one record per epoch (clock: the whole call up to that epoch)."""
    from rotcurve.training import default_train_config, train

    cfg = default_train_config(
        "curves", **{**overrides, "epochs": epochs, "device": device, "seed": seed, "compile": compile, "amp": amp}
    )
    t0 = time.perf_counter()
    result = train(data, workdir / tag, model_config=model_config, train_config=cfg, progress=False)
    total = time.perf_counter() - t0
    setup = max(0.0, total - sum(r["seconds"] for r in result.history))  # run folder, model, optimiser
    records, clock = [], setup
    for r in result.history:
        clock += r["seconds"]
        records.append({**r, "clock": clock})
        print(f"  {tag:10s} epoch {r['epoch']:3d}  val {r['val_loss']:10.3f}  {r['samples_per_s']:12,.0f} ex/s",
              file=sys.stderr)
    return records, cfg


def time_to(records: list[dict[str, Any]], target: float) -> float | None:
    """Clock at the first epoch whose validation loss is <= target."""
    for r in records:
        if r["val_loss"] is not None and r["val_loss"] <= target:
            return r["clock"]
    return None


def epochs_to(records: list[dict[str, Any]], target: float) -> int | None:
    """The first epoch whose validation loss is <= target."""
    for r in records:
        if r["val_loss"] is not None and r["val_loss"] <= target:
            return int(r["epoch"])
    return None


def throughput(records: list[dict[str, Any]]) -> float:
    """Median examples/s over epochs 2.. (all epochs if there is only one)."""
    rates = [r["samples_per_s"] for r in records[1:]] or [records[0]["samples_per_s"]]
    return statistics.median(rates)


def parse_loops(names: list[str], device: str) -> dict[str, dict[str, Any]]:
    """``LOOPS`` entries by name; ``[NAME=]{JSON}`` is an ad-hoc configuration (TrainConfig overrides)."""
    from rotcurve.errors import ConfigError
    from rotcurve.training import default_train_config

    out: dict[str, dict[str, Any]] = {}
    for name in names:
        label, eq, text = name.partition("=")
        if not eq:
            label, text = "", name
        if text.lstrip().startswith("{"):
            try:
                over = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"--loops: {text!r} is not a JSON object ({exc.msg})") from None
            if not isinstance(over, dict):
                raise ConfigError(f"--loops: {text!r} is not a JSON object")
            default_train_config("curves", **over)  # refuse unknown or invalid settings now
            label = label or f"custom{len(out)}"
            out[label] = over
        elif name in LOOPS[device]:
            out[name] = LOOPS[device][name]
        else:
            raise ConfigError(f"--loops: unknown loop {name!r}; choose from {', '.join(LOOPS[device])} or give a JSON object")
    return out


def run_once(data: Any, model_config: Any, loops: dict[str, dict[str, Any]], *, dev: Any, base_epochs: int,
             epochs: int, seed: int, compile: bool, amp: str, target: float | None, work: Path) -> dict[str, Any]:
    """The tutorial loop, then each rotcurve loop; the rows of the table and every record."""
    import torch

    runs: dict[str, dict[str, Any]] = {}

    def clocked(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, dict[str, float]]:
        load = os.getloadavg()[0]
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        return out, {"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0, "load_before": load}

    rec, clk = clocked(tutorial_loop, fresh_model(model_config, seed, dev), data.train, data.val,
                       epochs=base_epochs, device=dev, seed=seed)
    runs["tutorial"] = {"settings": {"batch_size": TUTORIAL_BATCH, "lr": 1e-3, "optimizer": "adam"}, "records": rec, **clk}
    for tag, over in loops.items():
        (rec, cfg), clk = clocked(rotcurve_loop, data, model_config, over, epochs=epochs, device=dev.type,
                                  seed=seed, compile=compile, amp=amp, workdir=work,
                                  tag=f"{tag}-{time.monotonic_ns()}")
        settings = {k: getattr(cfg, k) for k in ("batch_size", "lr", "betas", "warmup", "optimizer")}
        runs[tag] = {"settings": settings, "records": rec, **clk}

    goal = target if target is not None else min(r["val_loss"] for r in runs["tutorial"]["records"])
    base_rate = throughput(runs["tutorial"]["records"])
    base_time = time_to(runs["tutorial"]["records"], goal)
    rows = []
    for tag, run in runs.items():
        rate = throughput(run["records"])
        t = time_to(run["records"], goal)
        rows.append({
            "loop": tag,
            **{k: v for k, v in run["settings"].items()},
            "epochs": len(run["records"]),
            "samples_per_s": rate,
            "speedup": rate / base_rate,
            "epochs_to_target": epochs_to(run["records"], goal),
            "time_to_target_s": t,
            "time_speedup": (base_time / t) if (t and base_time) else None,
            "best_val": min(r["val_loss"] for r in run["records"]),
            "wall_s": run["wall_s"],
            "cpu_s": run["cpu_s"],
            "load_before": run["load_before"],
        })
    return {"target": goal, "threads": torch.get_num_threads(), "rows": rows,
            "records": {k: v["records"] for k, v in runs.items()}}


def print_table(result: dict[str, Any], dev: Any, n_train: int, repeat: int) -> None:
    """One repeat's table on stdout."""
    print(f"\nrepeat {repeat}: device {dev}, {result['threads']} torch threads, {n_train:,} training curves, "
          f"target validation loss {result['target']:.3f} nats")
    print(f"{'loop':11s} {'batch':>6s} {'lr':>7s} {'beta2':>6s} {'epochs':>6s} {'examples/s':>11s} {'speedup':>8s} "
          f"{'ep.to tgt':>9s} {'time to tgt':>11s} {'speedup':>8s} {'best val':>9s} {'wall':>7s} {'CPU':>7s} {'load':>5s}")
    for r in result["rows"]:
        tt = f"{r['time_to_target_s']:.2f} s" if r["time_to_target_s"] else "not reached"
        ts = f"{r['time_speedup']:.2f}x" if r["time_speedup"] else "-"
        ep = str(r["epochs_to_target"]) if r["epochs_to_target"] else "-"
        beta2 = f"{r['betas'][1]:g}" if r.get("betas") else "0.999"
        print(f"{r['loop']:11s} {r['batch_size']:6d} {r['lr']:7.2g} {beta2:>6s} {r['epochs']:6d} {r['samples_per_s']:11,.0f} "
              f"{r['speedup']:7.2f}x {ep:>9s} {tt:>11s} {ts:>8s} {r['best_val']:9.2f} {r['wall_s']:6.1f}s "
              f"{r['cpu_s']:6.1f}s {r['load_before']:5.2f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="a rotcurve file (default: generate --n curves)")
    p.add_argument("--n", type=int, help="curves to generate (cpu 25,000; cuda 1,000,000)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--epochs", type=int, help="rotcurve epochs (cpu 20, cuda 40)")
    p.add_argument("--baseline-epochs", type=int, help="tutorial epochs (cpu 20, cuda 2)")
    p.add_argument("--loops", nargs="+",
                   help="rotcurve configurations: names in LOOPS or [NAME=]JSON objects of TrainConfig overrides "
                        "(cpu: default large-batch throughput; cuda: throughput)")
    p.add_argument("--repeat", type=int, default=1, help="run the whole comparison this many times")
    p.add_argument("--compile", action="store_true", help="rotcurve: torch.compile the model")
    p.add_argument("--amp", default="auto", choices=("auto", "bf16", "off"))
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--target", type=float, help="validation-loss target (default: the tutorial's best)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the results here (JSON)")
    args = p.parse_args(argv)

    import torch

    from rotcurve.datasets import load_training_data
    from rotcurve.io.atomic import atomic_write_text
    from rotcurve.models import default_config
    from rotcurve.training import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    d = DEVICE_DEFAULTS[dev.type]
    n = args.n or d["n"]
    epochs = args.epochs or d["epochs"]
    base_epochs = args.baseline_epochs or d["baseline_epochs"]
    loops = parse_loops(args.loops or d["loops"], dev.type)

    results = []
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        work = Path(tmp)
        path = Path(args.data) if args.data else make_curves(work / "curves.h5", n, args.seed)
        data = load_training_data(path, seed=args.seed, device=dev, in_memory=True)
        cfg = default_config("curves", data.input_dim)
        n_train = int(data.train.shape[0])
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else (os.uname().machine + " CPU")
        print(f"{n_train:,} training curves x {data.input_dim} radii on {dev} ({name}), torch {torch.__version__}, "
              f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs", file=sys.stderr)
        for rep in range(1, args.repeat + 1):
            res = run_once(data, cfg, loops, dev=dev, base_epochs=base_epochs, epochs=epochs, seed=args.seed,
                           compile=args.compile, amp=args.amp, target=args.target, work=work)
            print_table(res, dev, n_train, rep)
            results.append(res)

    if args.repeat > 1:
        print(f"\nmedian over {args.repeat} repeats (min-max):")
        for i, row in enumerate(results[0]["rows"]):
            sp = [r["rows"][i]["speedup"] for r in results]
            ts = [r["rows"][i]["time_speedup"] for r in results]
            reached = [t for t in ts if t is not None]
            tt = (f"{statistics.median(ts):5.2f}x ({min(ts):.2f}-{max(ts):.2f})" if len(reached) == len(ts)
                  else f"target reached in {len(reached)} of {len(ts)} repeats")
            print(f"{row['loop']:11s} throughput {statistics.median(sp):5.2f}x ({min(sp):.2f}-{max(sp):.2f})   "
                  f"time to target {tt}")
    if args.json:
        out = {"device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads(),
               "cpus": os.cpu_count(), "n_train": n_train, "baseline_epochs": base_epochs, "epochs": epochs,
               "loops": loops, "repeats": results}
        atomic_write_text(args.json, json.dumps(out, indent=2, allow_nan=False, default=list) + "\n")
    return 0


if __name__ == "__main__":
    from rotcurve.errors import RotcurveError

    try:
        sys.exit(main())
    except RotcurveError as exc:
        print(f"bench_train: error: {exc}", file=sys.stderr)
        sys.exit(2)
