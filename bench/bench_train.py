"""Training speed: rotcurve's loop against the loop the tutorials write, same model and data.

The baseline is the loop of the PyTorch tutorials (and of the VAE tutorial this
project starts from): a ``DataLoader`` over a ``TensorDataset`` held on the
CPU, batch 128, ``shuffle=True``, each batch moved to the device, ``Adam``
(lr 1e-3), and ``loss.item()`` after every step.  rotcurve's loop is
:func:`rotcurve.training.train` itself, checkpoints, metrics file and
validation included.  Both train the same model configuration
(``default_config("curves", n_r)``, the 4-D VAE) from the same initial
weights on the same split, in the same process, one after the other.

Reported, per loop:

* throughput -- training examples per second, median over epochs 2..E
  (the first epoch includes warm-up);
* time to target -- seconds until the validation loss (negative ELBO, nats
  per example, measured by the same :func:`rotcurve.training.evaluate` for
  both) first reaches the target.  The target is the best validation loss
  the baseline reached in its epochs (or ``--target``).  The baseline's clock
  counts its training steps only; rotcurve's counts whole epochs, its
  validation and checkpoint writes included.

Usage::

    python bench/bench_train.py                         # CPU, 25,000 curves
    python bench/bench_train.py --device cuda           # GPU: 1,000,000 curves, batch 8192, bf16
    python bench/bench_train.py --device cuda --compile --json bench/results/train_gpu.json

Timings on a shared machine are noisy; compare numbers from one run only.
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

import numpy as np

#: Settings per device when not given on the command line.
DEVICE_DEFAULTS: dict[str, dict[str, Any]] = {
    "cpu": {"n": 25_000, "baseline_epochs": 8, "epochs": 8, "batch_size": 256, "lr": 2e-3},
    "cuda": {"n": 1_000_000, "baseline_epochs": 2, "epochs": 40, "batch_size": 8192, "lr": 5e-3},
}


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
    loader = DataLoader(TensorDataset(x_train.cpu()), batch_size=128, shuffle=True)
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
        print(f"  tutorial  epoch {epoch:3d}  val {val:10.3f}  {n / dt:12,.0f} ex/s", file=sys.stderr)
    return records


def rotcurve_loop(data: Any, model_config: Any, *, epochs: int, batch_size: int, lr: float, device: str,
                  seed: int, compile: bool, amp: str, workdir: Path, tag: str) -> list[dict[str, Any]]:
    """:func:`rotcurve.training.train`; one record per epoch (clock: whole epochs)."""
    from rotcurve.training import default_train_config, train

    cfg = default_train_config(
        "curves", epochs=epochs, batch_size=batch_size, lr=lr, device=device, seed=seed, compile=compile, amp=amp
    )
    result = train(data, workdir / tag, model_config=model_config, train_config=cfg, progress=False)
    records, clock = [], 0.0
    for r in result.history:
        clock += r["seconds"]
        records.append({**r, "clock": clock})
        print(f"  {tag:9s} epoch {r['epoch']:3d}  val {r['val_loss']:10.3f}  {r['samples_per_s']:12,.0f} ex/s", file=sys.stderr)
    return records


def time_to(records: list[dict[str, Any]], target: float) -> float | None:
    """Clock at the first epoch whose validation loss is <= target."""
    for r in records:
        if r["val_loss"] is not None and r["val_loss"] <= target:
            return r["clock"]
    return None


def throughput(records: list[dict[str, Any]]) -> float:
    """Median examples/s over epochs 2.. (all epochs if there is only one)."""
    rates = [r["samples_per_s"] for r in records[1:]] or [records[0]["samples_per_s"]]
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="a rotcurve file (default: generate --n curves)")
    p.add_argument("--n", type=int, help="curves to generate (cpu 25,000; cuda 1,000,000)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--epochs", type=int, help="rotcurve epochs (cpu 8, cuda 40)")
    p.add_argument("--baseline-epochs", type=int, help="tutorial epochs (cpu 8, cuda 2)")
    p.add_argument("--batch-size", type=int, help="rotcurve batch (cpu 256, cuda 8192)")
    p.add_argument("--lr", type=float, help="rotcurve peak learning rate (cpu 2e-3, cuda 5e-3)")
    p.add_argument("--also-128", action="store_true", help="also run rotcurve at the tutorial's batch 128")
    p.add_argument("--compile", action="store_true", help="rotcurve: torch.compile the model")
    p.add_argument("--amp", default="auto", choices=("auto", "bf16", "off"))
    p.add_argument("--threads", type=int, help="torch CPU threads")
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
    batch = args.batch_size or d["batch_size"]
    lr = args.lr or d["lr"]

    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        work = Path(tmp)
        path = Path(args.data) if args.data else make_curves(work / "curves.h5", n, args.seed)
        data = load_training_data(path, seed=args.seed, device=dev, in_memory=True)
        cfg = default_config("curves", data.input_dim)
        n_train = int(data.train.shape[0])
        print(f"{n_train:,} training curves x {data.input_dim} radii on {dev}, torch {torch.__version__}, "
              f"{torch.get_num_threads()} CPU threads", file=sys.stderr)

        runs: dict[str, dict[str, Any]] = {}
        model = fresh_model(cfg, args.seed, dev)
        rec = tutorial_loop(model, data.train, data.val, epochs=base_epochs, device=dev, seed=args.seed)
        runs["tutorial"] = {"batch": 128, "records": rec}
        plan = [("rotcurve", batch)] + ([("rotcurve128", 128)] if args.also_128 else [])
        for tag, b in plan:
            rec = rotcurve_loop(data, cfg, epochs=epochs, batch_size=b, lr=lr if b == batch else 1e-3,
                                device=dev.type, seed=args.seed, compile=args.compile, amp=args.amp,
                                workdir=work, tag=tag)
            runs[tag] = {"batch": b, "records": rec}

    target = args.target if args.target is not None else min(r["val_loss"] for r in runs["tutorial"]["records"])
    base_rate = throughput(runs["tutorial"]["records"])
    base_time = time_to(runs["tutorial"]["records"], target)
    rows = []
    for tag, run in runs.items():
        rate = throughput(run["records"])
        t = time_to(run["records"], target)
        rows.append({
            "loop": tag,
            "batch": run["batch"],
            "epochs": len(run["records"]),
            "samples_per_s": rate,
            "speedup": rate / base_rate,
            "time_to_target_s": t,
            "time_speedup": (base_time / t) if (t and base_time) else None,
            "best_val": min(r["val_loss"] for r in run["records"]),
        })

    print(f"\ndevice {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'{torch.get_num_threads()} threads'}), "
          f"{n_train:,} training curves, target validation loss {target:.3f} nats")
    print(f"{'loop':12s} {'batch':>6s} {'epochs':>6s} {'examples/s':>12s} {'speedup':>8s} {'time to target':>15s} {'speedup':>8s} {'best val':>10s}")
    for r in rows:
        tt = f"{r['time_to_target_s']:.1f} s" if r["time_to_target_s"] else "not reached"
        ts = f"{r['time_speedup']:.1f}x" if r["time_speedup"] else "-"
        print(f"{r['loop']:12s} {r['batch']:6d} {r['epochs']:6d} {r['samples_per_s']:12,.0f} {r['speedup']:7.1f}x "
              f"{tt:>15s} {ts:>8s} {r['best_val']:10.3f}")
    if args.json:
        out = {"device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads(),
               "n_train": n_train, "target": target, "rows": rows,
               "records": {k: v["records"] for k, v in runs.items()}}
        atomic_write_text(args.json, json.dumps(out, indent=2, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    from rotcurve.errors import RotcurveError

    try:
        sys.exit(main())
    except RotcurveError as exc:
        print(f"bench_train: error: {exc}", file=sys.stderr)
        sys.exit(2)
