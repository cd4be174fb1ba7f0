"""Timing of the analysis library (physical validity, C2ST, predictability).

Run from the repository root:  python bench/bench_analysis.py
Prints curves/s of physical_validity on (a) exact model curves and (b) curves
with smooth 0.03-3 % wiggles (like an imperfect generator), the C2ST time on
5000 vs 5000 curves x 50 radii, and predictability on 16000 latents.
"""

import os
import time

import numpy as np

from rotcurve.analysis import classifier_two_sample_test, physical_validity, predictability
from rotcurve.generator.priors import ReferencePrior
from rotcurve.physics import rotation_curves

radii = np.logspace(-1, np.log10(50), 50)
rng = np.random.default_rng(0)
N = 10000
p = ReferencePrior().sample(N, rng)
v = rotation_curves(p, radii).v_circ
amp = 10 ** rng.uniform(-3.5, -1.5, (N, 1))
wig = v * (1 + amp * np.sin(rng.uniform(0.5, 2, (N, 1)) * np.log(radii) + rng.uniform(0, 6.3, (N, 1))))
print(f"cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}")
physical_validity(v[:100], radii, seed=0)  # warm-up: imports, the disc table
for name, curves in (("exact", v), ("wiggled", wig)):
    for n_jobs in (1, 2):
        t = time.perf_counter()
        res = physical_validity(curves, radii, seed=0, n_jobs=n_jobs)
        dt = time.perf_counter() - t
        print(f"physical_validity {name:8s} n_jobs={n_jobs}: {N} curves in {dt:.1f} s = {N / dt:.0f} curves/s;"
              f" within 1%/2%: {res.fraction_within[0.01]:.4f}/{res.fraction_within[0.02]:.4f}")
other = rotation_curves(ReferencePrior().sample(5000, rng), radii).v_circ
for clf in ("hgb", "logistic", "mlp"):
    t = time.perf_counter()
    r = classifier_two_sample_test(v[:5000], other, seed=0, classifier=clf)
    print(f"C2ST {clf:8s} 5000 vs 5000 x 50 radii, 5 folds: AUC {r.auc:.3f} +- {r.auc_std:.3f} in {time.perf_counter() - t:.1f} s")
x = np.log10(np.column_stack([p[k] for k in ("Md", "Rd", "Mh", "c")]))
z = np.sinh((x - x.mean(0)) / x.std(0) @ np.linalg.qr(rng.normal(size=(4, 4)))[0]) + 0.01 * rng.normal(size=(N, 4))
t = time.perf_counter()
tab = predictability(z, p, seed=0)
print(f"predictability (mlp) {N} latents: {time.perf_counter() - t:.1f} s; R2 nonlinear {tab['r2_nonlinear'].round(4).tolist()}, linear {tab['r2_linear'].round(4).tolist()}")
logv = np.log10(v)
t = time.perf_counter()
tab = predictability(logv, p, seed=0)
print(f"predictability (mlp) from log10 curves (baseline): {time.perf_counter() - t:.1f} s; R2 nonlinear {tab['r2_nonlinear'].round(4).tolist()}")
