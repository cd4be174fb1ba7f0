"""Benchmark HDF5 compression settings for rotcurve curve files.

Suggested home: bench/io_compression.py.  Run:  python bench/io_compression.py [N]

Generates N reference-prior curves (default 100 000 x 50 radii) with the
physics, stores v_circ, v_disc, v_halo as float32 with each filter setting
(same chunking as rotcurve.io.format), and reports size, compression ratio,
write and read throughput (MB/s of raw float32 data; best of REPEATS, all
settings interleaved so machine noise hits them alike).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import h5py
import numpy as np

from rotcurve.generator import RadiiSpec, ReferencePrior
from rotcurve.io.format import chunk_rows
from rotcurve.physics import rotation_curves

REPEATS = 3
SETTINGS = {
    "none": {},
    "gzip-1": {"compression": "gzip", "compression_opts": 1},
    "gzip-1+shuffle": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
    "gzip-2+shuffle": {"compression": "gzip", "compression_opts": 2, "shuffle": True},
    "gzip-3+shuffle": {"compression": "gzip", "compression_opts": 3, "shuffle": True},
    "gzip-4": {"compression": "gzip", "compression_opts": 4},
    "gzip-4+shuffle": {"compression": "gzip", "compression_opts": 4, "shuffle": True},
    "lzf": {"compression": "lzf"},
    "lzf+shuffle": {"compression": "lzf", "shuffle": True},
    "gzip-1+shuffle+fletcher32": {
        "compression": "gzip", "compression_opts": 1, "shuffle": True, "fletcher32": True,
    },
}


def main(n: int = 100_000) -> None:
    rng = np.random.default_rng(0)
    params = ReferencePrior().sample(n, rng)
    radii = RadiiSpec().grid()
    t0 = time.perf_counter()
    rc = rotation_curves(params, radii)
    t_phys = time.perf_counter() - t0
    curves = {k: getattr(rc, k).astype(np.float32) for k in ("v_circ", "v_disc", "v_halo")}
    raw = sum(a.nbytes for a in curves.values())
    rows = chunk_rows(n, radii.size, 4)
    print(f"{n} curves x {radii.size} radii, 3 datasets float32 = {raw / 2**20:.1f} MiB raw; "
          f"chunk ({rows}, {radii.size}); physics {t_phys:.2f} s")
    best = {k: [np.inf, np.inf, 0] for k in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(REPEATS):
            for name, opts in SETTINGS.items():
                path = os.path.join(tmp, f"{name}.h5")
                t0 = time.perf_counter()
                with h5py.File(path, "w") as f:
                    for key, arr in curves.items():
                        f.create_dataset(key, data=arr, chunks=(rows, radii.size), **opts)
                tw = time.perf_counter() - t0
                t0 = time.perf_counter()
                with h5py.File(path, "r", rdcc_nbytes=4 << 20) as f:
                    for key in curves:
                        f[key][...]
                tr = time.perf_counter() - t0
                b = best[name]
                b[0], b[1], b[2] = min(b[0], tw), min(b[1], tr), os.path.getsize(path)
    print(f"{'setting':28s} {'MiB':>7s} {'ratio':>6s} {'write MB/s':>11s} {'read MB/s':>10s}")
    for name, (tw, tr, size) in best.items():
        print(f"{name:28s} {size / 2**20:7.2f} {raw / size:6.2f} {raw / tw / 1e6:11.0f} {raw / tr / 1e6:10.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
