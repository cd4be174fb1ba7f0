"""Loading / streaming throughput of rotcurve.datasets (ad-hoc benchmark).

python bench/bench_datasets.py [N] [n_r]   -- writes a temporary file of N curves.
"""
import sys, tempfile, time
from pathlib import Path

import numpy as np
import torch

from rotcurve.datasets import load_training_data
from rotcurve.io import write_dataset

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
n_r = int(sys.argv[2]) if len(sys.argv) > 2 else 50
rng = np.random.default_rng(0)
radii = np.geomspace(0.5, 40, n_r)
v = (10 ** rng.normal(2, 0.2, (N, 1)) * (1 - np.exp(-radii / rng.uniform(1, 6, (N, 1)))) + 1).astype(np.float32)
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "bench.h5"
    write_dataset(path, radii=radii, v_circ=v)
    mb = N * n_r * 4 / 2**20
    print(f"N={N} n_r={n_r} ({mb:.1f} MiB float32, file {path.stat().st_size / 2**20:.1f} MiB)")
    for rep in range(2):
        t = time.perf_counter(); d = load_training_data(path, seed=0); t_load = time.perf_counter() - t
        t = time.perf_counter(); s = load_training_data(path, seed=0, in_memory=False); t_scan = time.perf_counter() - t
        t = time.perf_counter(); n = sum(len(x) for x in s.batches("train", 512, epoch=rep)); t_epoch = time.perf_counter() - t
        t = time.perf_counter(); m = sum(len(x) for x in d.batches("train", 512, epoch=rep)); t_mem = time.perf_counter() - t
        print(f"in-memory load {t_load:.2f} s ({mb / t_load:.0f} MiB/s); streaming open+scan {t_scan:.2f} s; "
              f"streamed train epoch {t_epoch:.2f} s ({n / t_epoch:,.0f} rows/s); in-memory epoch via batches() {t_mem:.3f} s")
