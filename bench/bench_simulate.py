"""Benchmark: simulating rotation curves, rotcurve against the tutorial's loop.

One process, one thread, the same parameter draws (the reference prior) and
the same 50 log-spaced radii (0.1-50 kpc) for every method:

``baseline``       the tutorial's per-curve loop (:mod:`bench.baseline`)
``scipy-vector``   the same formulas vectorised over all curves at once
                   (scaled Bessel functions, no blocks, no table)
``rotcurve-exact`` :func:`rotcurve.physics.rotation_curves` ``method="exact"``
``rotcurve``       :func:`rotcurve.physics.rotation_curves` (default, ``method="fast"``)

Every method computes all three arrays (v_circ, v_disc, v_halo, float64).
Reported: curves per CPU-second of the one core (best of ``--repeat`` runs;
the baseline is timed once), speed-up over the baseline,
peak memory traced by :mod:`tracemalloc` in a separate, untimed run, and the
largest relative difference from ``rotcurve-exact`` (itself checked against
mpmath to 1e-12 in the tests).  A second table shows where the baseline's
unscaled Bessel products lose accuracy (and return 0 once ``I0`` overflows).

Run from the repository root::

    python bench/bench_simulate.py            # ~20 s
    python bench/bench_simulate.py --n 200000 --repeat 7 --json bench/results/simulate.json
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: set before numpy is imported

import argparse
import json
import platform
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baseline import baseline_curves  # noqa: E402
from rotcurve.io.atomic import atomic_write_text  # noqa: E402
from rotcurve.physics import rotation_curves  # noqa: E402
from rotcurve.physics.halo import r_delta  # noqa: E402
from rotcurve.units import G  # noqa: E402

RADII = np.logspace(-1, np.log10(50.0), 50)


def draw_params(n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` parameter sets from the reference prior (inline formula if the generator is absent)."""
    rng = np.random.default_rng(seed)
    try:
        from rotcurve.generator.priors import ReferencePrior
    except ImportError:
        lmd = rng.uniform(9.0, 12.0, n)
        lrd = 0.3 * (lmd - 10.7) + 0.5 + rng.normal(0.0, 0.4, n)
        lmh = 0.75 * (lmd - 10.7) + 12.0 + rng.normal(0.0, 0.25, n)
        lc = 0.905 - 0.101 * (lmh + np.log10(0.7) - 12.0) + rng.normal(0.0, 0.11, n)
        return {"Md": 10**lmd, "Rd": 10**lrd, "Mh": 10**lmh, "c": 10**lc}
    return ReferencePrior().sample(n, rng)


def scipy_vectorised(p: dict[str, np.ndarray], radii: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The formulas on whole (N, n_r) arrays with scaled Bessel functions."""
    md, rd, mh, c = (p[k][:, None] for k in ("Md", "Rd", "Mh", "c"))
    y = radii / (2.0 * rd)
    shape = y * y * (special.i0e(y) * special.k0e(y) - special.i1e(y) * special.k1e(y))
    v2d = 2.0 * G * md / rd * shape
    u = c * radii / r_delta(mh)
    f = np.log1p(u) - u / (1.0 + u)
    fc = np.log1p(c) - c / (1.0 + c)
    v2h = G * mh / radii * f / fc
    return np.sqrt(v2d + v2h), np.sqrt(v2d), np.sqrt(v2h)


def bessel_only(p: dict[str, np.ndarray], radii: np.ndarray) -> np.ndarray:
    """Only the four scaled Bessel evaluations (a floor for any Bessel-based method)."""
    y = radii / (2.0 * p["Rd"][:, None])
    special.i0e(y)
    special.k0e(y)
    special.i1e(y)
    return special.k1e(y)


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU time of this process over ``repeat`` calls (after one warm-up call).

    CPU time rather than wall time: with one thread it is the time on one
    core, and it is less disturbed by other processes sharing the machine.
    """
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def peak_memory(fn: Callable[[], object]) -> float:
    """Peak memory traced during one call, in MiB."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del out
    return peak / 2**20


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest ``|a/b - 1|`` (inf if ``a`` has a non-finite value)."""
    if not np.all(np.isfinite(a)):
        return float("inf")
    return float(np.max(np.abs(a / b - 1.0)))


def cpu_model() -> str:
    """The CPU model name from lscpu (or platform)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or platform.machine()


def baseline_bessel_error() -> list[tuple[float, float, float]]:
    """``(y, v_disc baseline, relative error)`` of the baseline disc at growing ``y``."""
    ys = np.array([1.0, 10.0, 100.0, 300.0, 600.0, 700.0, 720.0, 1000.0])
    rd = 1.0
    radii = 2.0 * rd * ys
    _, vd_base, _ = baseline_curves([1e10], [rd], [1e12], [10.0], radii)
    vd_ref = rotation_curves({"Md": 1e10, "Rd": rd, "Mh": 1e12, "c": 10.0}, radii, method="exact").v_disc
    rel = np.abs(vd_base[0] / vd_ref[0] - 1.0)
    return [(float(y), float(v), float(e)) for y, v, e in zip(ys, vd_base[0], rel)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="curves per method (default 20000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per method; the best counts (default 5)")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the parameter draws")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be positive")

    p = draw_params(args.n, args.seed)
    md, rd, mh, c = (p[k] for k in ("Md", "Rd", "Mh", "c"))
    methods: dict[str, Callable[[], tuple[np.ndarray, ...]]] = {
        "baseline": lambda: baseline_curves(md, rd, mh, c, RADII),
        "scipy-vector": lambda: scipy_vectorised(p, RADII),
        "rotcurve-exact": lambda: tuple(rotation_curves(p, RADII, method="exact")),
        "rotcurve": lambda: tuple(rotation_curves(p, RADII)),
    }
    reference = methods["rotcurve-exact"]()
    print(f"# rotation-curve simulation, {args.n} curves x {RADII.size} radii, float64, 1 thread, CPU time")
    print(f"# cpu: {cpu_model()}; python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    rows = []
    base_rate = None
    for name, fn in methods.items():
        reps = 1 if name == "baseline" and args.repeat > 1 else args.repeat
        t = best_time(fn, reps)
        rate = args.n / t
        base_rate = base_rate or rate
        out = fn()
        errs = [max_rel(a, b) for a, b in zip(out, reference)]
        mem = peak_memory(fn)
        rows.append(
            {
                "method": name,
                "curves_per_s": rate,
                "ns_per_point": t / (args.n * RADII.size) * 1e9,
                "speedup": rate / base_rate,
                "peak_MiB": mem,
                "max_rel_err": {"v_circ": errs[0], "v_disc": errs[1], "v_halo": errs[2]},
            }
        )
    t_bessel = best_time(lambda: bessel_only(p, RADII), args.repeat)

    print(f"{'method':16s} {'curves/s':>11s} {'ns/point':>9s} {'speed-up':>9s} {'peak MiB':>9s}  max rel. diff vs exact (circ, disc, halo)")
    for r in rows:
        e = r["max_rel_err"]
        print(
            f"{r['method']:16s} {r['curves_per_s']:11,.0f} {r['ns_per_point']:9.1f} {r['speedup']:8.1f}x "
            f"{r['peak_MiB']:9.1f}  {e['v_circ']:.1e}, {e['v_disc']:.1e}, {e['v_halo']:.1e}"
        )
    print(
        f"{'(4 Bessel only)':16s} {args.n / t_bessel:11,.0f} {t_bessel / (args.n * RADII.size) * 1e9:9.1f} "
        f"{args.n / t_bessel / base_rate:8.1f}x  (i0e, k0e, i1e, k1e on the (N, n_r) grid, nothing else)"
    )
    print("# baseline disc (unscaled i0 k0 - i1 k1) vs exact, by y = R / (2 Rd):")
    errors = baseline_bessel_error()
    for y, v, e in errors:
        print(f"#   y = {y:6.0f}: v_disc = {v:10.4f} km/s, relative error {e:.1e}")
    if args.json is not None:
        result = {
            "n": args.n,
            "n_r": int(RADII.size),
            "repeat": args.repeat,
            "seed": args.seed,
            "cpu": cpu_model(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "methods": rows,
            "bessel_only_curves_per_s": args.n / t_bessel,
            "baseline_disc_error_by_y": [{"y": y, "v_disc": v, "rel_err": e} for y, v, e in errors],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.json, json.dumps(result, indent=2) + "\n")
        print(f"# wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
