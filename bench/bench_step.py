"""The cost of one training step of the default curve VAE on this CPU, and where it goes.

Why the same ``rotcurve train`` takes 220 s on one 2-core VM and ~600 s on another: the
step is a few small matrix products and many small element-wise operations, so its time
follows the core (vector width, clock) and not the code.  This prints, side by side:

* the **hardware baseline**: a 256 x 256 x 256 float32 matrix product on one thread
  (GFLOP/s) and torch's CPU capability (``AVX2``, ``AVX512``, ...);
* the **step** of :func:`rotcurve.training.train` rebuilt from its parts (the default
  ``diag`` VAE on 50 radii, batch 256, AdamW fused, the KL warm-up form of the loss):
  forward, forward + backward, optimiser, the whole step, in ms;
* the same step with two torch threads and, with ``--compile``, under ``torch.compile``
  (CPU time as well as wall time: a second thread costs CPU time).

Usage::

    python bench/bench_step.py               # eager, 1 and 2 threads
    python bench/bench_step.py --compile     # also torch.compile (tens of seconds to compile)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import machine_line  # noqa: E402


def _timed(fn: Any, n: int) -> tuple[float, float]:
    """Wall and CPU ms per call of ``fn`` over ``n`` calls."""
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e3, (time.process_time() - c0) / n * 1e3


def matmul_gflops(n: int = 256, calls: int = 2000) -> float:
    """float32 GFLOP/s of an ``n x n`` by ``n x n`` product on the current threads."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(50):
        a @ b
    wall, _ = _timed(lambda: a @ b, calls)
    return 2 * n**3 / (wall * 1e-3) / 1e9


def step_parts(*, compile: bool = False, steps: int = 300, seed: int = 0) -> dict[str, float]:
    """ms per forward, forward + backward, optimiser step and whole step (wall), and the step's CPU ms."""
    import torch

    from rotcurve.models import build_model, default_config
    from rotcurve.training.config import default_train_config
    from rotcurve.training.optim import build_optimizer

    torch.manual_seed(seed)
    model = build_model(default_config("curves", 50))
    opt = build_optimizer(model.parameters(), default_train_config("curves"), torch.device("cpu"))
    forward = torch.compile(model) if compile else model
    x = torch.randn(256 * 78, 50)
    noise = torch.Generator().manual_seed(seed)
    batches = iter(range(10**9))

    def loss_of(out: Any) -> Any:  # the KL warm-up form the loop uses
        return out.recon + 0.5 * out.kl + out.penalty

    def step() -> None:
        i = next(batches) % 78
        out = forward(x[i * 256 : (i + 1) * 256], generator=noise)
        opt.zero_grad(set_to_none=True)
        loss_of(out).backward()
        opt.step()

    t0 = time.perf_counter()
    for _ in range(30):  # warm-up (and compilation)
        step()
    warm = time.perf_counter() - t0
    xb = x[:256]
    fwd, _ = _timed(lambda: forward(xb, generator=noise), steps)
    fwd_bwd, _ = _timed(lambda: loss_of(forward(xb, generator=noise)).backward(), steps)
    optim, _ = _timed(opt.step, steps)
    wall, cpu = _timed(step, steps)
    return {"forward": fwd, "forward+backward": fwd_bwd, "optimiser": optim, "step": wall,
            "step CPU": cpu, "warm-up s": warm}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--compile", action="store_true", help="also time the step under torch.compile")
    p.add_argument("--steps", type=int, default=300, help="timed calls per figure (default 300)")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    print(machine_line())
    print(f"torch CPU capability: {torch.backends.cpu.get_cpu_capability()}")
    print(f"baseline: 256^3 float32 matmul, 1 thread: {matmul_gflops():.1f} GFLOP/s")
    runs: list[tuple[str, int, bool]] = [("eager, 1 thread", 1, False), ("eager, 2 threads", 2, False)]
    if a.compile:
        runs.append(("torch.compile, 1 thread", 1, True))
    rows = []
    for name, threads, comp in runs:
        torch.set_num_threads(threads)
        rows.append((name, step_parts(compile=comp, steps=a.steps)))
    torch.set_num_threads(1)
    keys = list(rows[0][1])
    print(f"\n{'default curve VAE, batch 256 (ms)':<34}" + "".join(f"{k:>18}" for k in keys))
    for name, r in rows:
        print(f"{name:<34}" + "".join(f"{r[k]:>18.2f}" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
