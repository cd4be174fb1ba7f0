"""Benchmark: ``rotcurve generate`` end to end against the tutorial's per-curve loop.

Both sides draw N galaxies from the reference prior, compute v_circ, v_disc
and v_halo on the default grid (50 log-spaced radii, 0.1-50 kpc) and store
them as float32 with the parameters in an HDF5 file:

``baseline``   the tutorial's loop (:func:`bench.baseline.baseline_curves`, one
               curve at a time, everything held in memory), then the arrays
               written with plain h5py -- uncompressed (the tutorial's way) and,
               separately timed, with rotcurve's default storage filters (gzip-1
               + shuffle, the same chunks) for a like-for-like comparison;
``rotcurve``   :func:`rotcurve.generator.generate` with its defaults (sharded,
               ``--workers`` processes, default compression), timed around the
               call: process start-up, simulation, compression, shard files and
               the master file all included.

Every measurement runs in a fresh Python process.  Its memory is followed
from outside by polling ``/proc`` every 50 ms: the peak of the summed
proportional set size (PSS: shared pages counted once) of the process and all
its descendants (workers included), the peak RSS of the
process itself (``ru_maxrss``, read inside it) and the largest peak RSS of any
single descendant (``VmHWM``).  Outputs go to a temporary folder (``--tmp``)
and are deleted after each measurement.

Run from the repository root::

    python bench/bench_generate.py                    # quick: N = 200 000 (~30 s)
    python bench/bench_generate.py --full             # N = 1M and 10M (baseline at 1M)
    python bench/bench_generate.py --sizes 200000 1000000 --workers 2 --json bench/results/generate.json
    python bench/bench_generate.py --n 1000000 --compression default lzf none

The baseline keeps all its curves in memory (float64), so it is run at
``min(N, --baseline-max)`` curves (default 1M, ~1.2 GB); larger N are compared
with the baseline's rate at that size.  Timings on a shared machine are noisy:
compare numbers from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 2024
MiB = 1024 * 1024


# -- children: one measurement each ---------------------------------------------------------
def _ru_maxrss_bytes(who: int) -> int:
    import resource

    return resource.getrusage(who).ru_maxrss * 1024  # Linux reports KiB


def child_baseline(n: int, folder: Path) -> dict[str, Any]:
    """The tutorial's loop, then plain h5py writes (uncompressed; default filters)."""
    import resource

    import h5py
    import numpy as np

    from bench.baseline import baseline_curves
    from rotcurve.generator import RadiiSpec, ReferencePrior
    from rotcurve.io.format import chunk_rows, compression_options

    radii = RadiiSpec().grid()
    t0, c0 = time.perf_counter(), time.process_time()
    p = ReferencePrior().sample(n, np.random.default_rng(SEED))
    v_circ, v_disc, v_halo = baseline_curves(p["Md"], p["Rd"], p["Mh"], p["c"], radii)
    t1, c1 = time.perf_counter(), time.process_time()
    arrays = {"v_circ": v_circ, "v_disc": v_disc, "v_halo": v_halo}

    cpu: dict[str, float] = {}

    def write(path: Path, filters: dict[str, Any]) -> float:
        start, cpu0 = time.perf_counter(), time.process_time()
        with h5py.File(path, "w") as f:
            f["radii"] = radii
            for name, arr in arrays.items():
                if filters:
                    rows = chunk_rows(n, radii.size, 4)
                    f.create_dataset(name, data=arr.astype(np.float32), chunks=(rows, radii.size), **filters)
                else:
                    f[name] = arr.astype(np.float32)
            for name in ("Md", "Rd", "Mh", "c"):
                f.create_dataset(f"params/{name}", data=p[name], **filters)
        cpu[path.stem] = time.process_time() - cpu0
        return time.perf_counter() - start

    plain = folder / "baseline-plain.h5"
    packed = folder / "baseline-default.h5"
    t_plain = write(plain, {})
    size_plain = plain.stat().st_size
    plain.unlink()
    t_packed = write(packed, compression_options("default"))
    size_packed = packed.stat().st_size
    packed.unlink()
    return {
        "n": n,
        "compute_s": t1 - t0,
        "compute_cpu_s": c1 - c0,
        "write_plain_cpu_s": cpu["baseline-plain"],
        "write_default_cpu_s": cpu["baseline-default"],
        "cpu_self_s": 0.0,
        "write_plain_s": t_plain,
        "write_default_s": t_packed,
        "bytes_plain": size_plain,
        "bytes_default": size_packed,
        "ru_maxrss_self": _ru_maxrss_bytes(resource.RUSAGE_SELF),
        "ru_maxrss_children": _ru_maxrss_bytes(resource.RUSAGE_CHILDREN),
    }


def child_rotcurve(n: int, folder: Path, workers: int, compression: str) -> dict[str, Any]:
    """``generate()`` with the default storage settings (or another compression)."""
    import resource

    from rotcurve.generator import generate

    out = folder / "curves.h5"
    t0, c0 = time.perf_counter(), time.process_time()
    generate(n, out=out, seed=SEED, workers=workers, compression=compression, progress=False)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    files = [out, *sorted((folder / "curves.h5.shards").glob("*"))]
    size = sum(f.stat().st_size for f in files if f.exists())
    n_files = len([f for f in files if f.exists()])
    return {
        "n": n,
        "seconds": seconds,
        "cpu_self_s": cpu,
        "bytes": size,
        "files": n_files,
        "ru_maxrss_self": _ru_maxrss_bytes(resource.RUSAGE_SELF),
        "ru_maxrss_children": _ru_maxrss_bytes(resource.RUSAGE_CHILDREN),
    }


# -- the parent: run children, follow their memory --------------------------------------------
def _proc_tree(root: int) -> list[int]:
    """``root`` and all its live descendants (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = [root], [root]
    while frontier:
        nxt = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += nxt
        frontier = nxt
    return tree


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return None


def _pss_kib(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return _status_kib(pid, "VmRSS")


def _status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch(threading.Thread):
    """Peak summed PSS of a process tree and peak VmHWM (RSS) of its descendants."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_total = 0
        self.peak_descendant = 0
        self.cpu: dict[int, float] = {}  # last seen user + system seconds, by pid
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            tree = _proc_tree(self.pid)
            total = sum(_pss_kib(pid) for pid in tree)
            self.peak_total = max(self.peak_total, total * 1024)
            for pid in tree[1:]:
                self.peak_descendant = max(self.peak_descendant, _status_kib(pid, "VmHWM") * 1024)
            for pid in tree:
                cpu = _cpu_seconds(pid)
                if cpu is not None:
                    self.cpu[pid] = cpu
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def measure(args: list[str]) -> dict[str, Any]:
    """Run ``bench_generate.py --child ...`` and return its JSON plus the memory watch."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    watch = MemoryWatch(proc.pid)
    watch.start()
    stdout, _ = proc.communicate()
    watch.stop()
    if proc.returncode != 0:
        raise SystemExit(f"measurement {args} failed with status {proc.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_tree_rss"] = watch.peak_total
    result["peak_worker_rss"] = watch.peak_descendant
    # CPU of the timed part: the child's own (measured inside it) plus its descendants'
    # (sampled from /proc; a process's last < 50 ms can be missed).
    result["cpu_s"] = result["cpu_self_s"] + sum(v for pid, v in watch.cpu.items() if pid != proc.pid)
    return result


def machine() -> dict[str, Any]:
    import h5py
    import numpy as np

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        mem = 0
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(mem / 1024**3, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "load_average": os.getloadavg(),
    }


def _fmt_bytes(b: float) -> str:
    return f"{b / MiB:,.0f} MiB" if b < 10 * 1024 * MiB else f"{b / 1024**3:,.1f} GiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N", help="curves per run")
    parser.add_argument("--n", type=int, default=None, help="a single size (same as --sizes N)")
    parser.add_argument("--full", action="store_true", help="N = 1 000 000 and 10 000 000")
    parser.add_argument("--workers", type=int, default=2, help="rotcurve worker processes (default 2)")
    parser.add_argument(
        "--compression",
        nargs="+",
        default=["default"],
        metavar="NAME",
        help="rotcurve compression setting(s) to run (default: the default, gzip-1 + shuffle)",
    )
    parser.add_argument("--baseline-max", type=int, default=1_000_000, help="largest baseline N")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the outputs (default: $TMPDIR)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, n, folder = args.child[0], int(args.child[1]), Path(args.child[2])
        if kind == "baseline":
            result = child_baseline(n, folder)
        else:
            result = child_rotcurve(n, folder, int(args.child[3]), args.child[4])
        print(json.dumps(result))
        return 0

    sizes = args.sizes or ([args.n] if args.n else [1_000_000, 10_000_000] if args.full else [200_000])
    base = Path(args.tmp or tempfile.gettempdir())
    need = max(sizes) * 50 * 4 * 3 * 1.1  # uncompressed float32 curves, an upper bound
    free = shutil.disk_usage(base).free
    if free < need:
        raise SystemExit(
            f"{base} has {_fmt_bytes(free)} free; the largest run needs up to {_fmt_bytes(need)}"
        )
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; "
          f"Python {info['python']}, numpy {info['numpy']}, h5py {info['h5py']} (HDF5 {info['hdf5']}); "
          f"load average {info['load_average'][0]:.2f}")  # fmt: skip
    results: dict[str, Any] = {"machine": info, "workers": args.workers, "baseline": {}, "rotcurve": {}}
    from rotcurve.errors import ConfigError
    from rotcurve.io.format import compression_options

    for comp in args.compression:
        try:
            compression_options(comp)  # fail now, not after the baseline
        except ConfigError as exc:
            raise SystemExit(f"bench_generate: {exc}") from None

    def run(kind: str, n: int, *extra: str) -> dict[str, Any]:
        folder = Path(tempfile.mkdtemp(prefix=f"rotcurve-bench-{kind}-", dir=base))
        try:
            return measure([kind, str(n), str(folder), *extra])
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    baseline_sizes = [] if args.no_baseline else sorted({min(n, args.baseline_max) for n in sizes})
    for n in baseline_sizes:
        print(f"baseline, N = {n:,} ...", flush=True)
        results["baseline"][n] = run("baseline", n)
    for n in sizes:
        for comp in args.compression:
            print(f"rotcurve generate, N = {n:,}, {args.workers} workers, compression {comp} ...", flush=True)
            results["rotcurve"][f"{n}/{comp}"] = run("rotcurve", n, str(args.workers), comp)

    print()
    print(f"{'method':<34}{'N':>12}{'seconds':>10}{'curves/s':>12}{'speed-up':>10}"
          f"{'peak PSS (all)':>16}{'parent':>10}{'worker':>10}{'output':>11}")  # fmt: skip
    for n, b in results["baseline"].items():
        for label, write_s, size in (
            ("tutorial loop + h5py (plain)", b["write_plain_s"], b["bytes_plain"]),
            ("tutorial loop + h5py (gzip-1+shuf)", b["write_default_s"], b["bytes_default"]),
        ):
            s = b["compute_s"] + write_s
            b.setdefault("rates", {})[label] = n / s
            print(f"{label:<34}{n:>12,}{s:>10.1f}{n / s:>12,.0f}{'1.0x':>10}"
                  f"{_fmt_bytes(b['peak_tree_rss']):>16}{_fmt_bytes(b['ru_maxrss_self']):>10}{'-':>10}"
                  f"{_fmt_bytes(size):>11}")  # fmt: skip
        print(f"{'  (loop alone)':<34}{n:>12,}{b['compute_s']:>10.1f}{n / b['compute_s']:>12,.0f}")
    for key, r in results["rotcurve"].items():
        n, comp = r["n"], key.split("/", 1)[1]
        rate = n / r["seconds"]
        ref = results["baseline"].get(min(n, args.baseline_max))
        speed = ""
        if ref:
            plain, packed = ref["rates"].values()
            speed = f"{rate / plain:.1f}x"
            r["speedup_vs_plain"] = rate / plain
            r["speedup_vs_same_storage"] = rate / packed
        label = f"rotcurve generate ({args.workers} w, {comp})"
        worker_rss = _fmt_bytes(r["peak_worker_rss"]) if r["peak_worker_rss"] else "-"
        print(f"{label:<34}{n:>12,}{r['seconds']:>10.1f}"
              f"{rate:>12,.0f}{speed:>10}{_fmt_bytes(r['peak_tree_rss']):>16}"
              f"{_fmt_bytes(r['ru_maxrss_self']):>10}{worker_rss:>10}"
              f"{_fmt_bytes(r['bytes']):>11}")  # fmt: skip
    for key, r in results["rotcurve"].items():
        n = r["n"]
        if "speedup_vs_same_storage" in r:
            note = "" if n <= args.baseline_max else f" (baseline rate measured at N = {args.baseline_max:,})"
            comp = key.split("/", 1)[1]
            print(f"N = {n:,}, compression {comp}: {r['speedup_vs_plain']:.1f}x the loop + plain h5py, "
                  f"{r['speedup_vs_same_storage']:.1f}x the loop + the same compression{note}")  # fmt: skip
    print()
    print("CPU time (all processes; less sensitive to other load than wall time):")
    for n, b in results["baseline"].items():
        for label, key in (("plain", "write_plain_cpu_s"), ("gzip-1+shuf", "write_default_cpu_s")):
            cpu = b["compute_cpu_s"] + b[key]
            print(f"  tutorial loop + h5py ({label}), N = {n:,}: {cpu:.1f} CPU s, "
                  f"{n / cpu:,.0f} curves per CPU s")  # fmt: skip
    for key, r in results["rotcurve"].items():
        n = r["n"]
        print(f"  rotcurve generate ({key.split('/', 1)[1]}), N = {n:,}: {r['cpu_s']:.1f} CPU s, "
              f"{n / r['cpu_s']:,.0f} curves per CPU s")  # fmt: skip
    print()
    print("speed-up: against the tutorial loop + uncompressed h5py write; peak PSS (all): the whole process "
          "tree, shared pages counted once; parent: ru_maxrss of the calling process; worker: largest peak "
          "RSS (VmHWM) of a worker process.")
    results["load_average_after"] = os.getloadavg()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        from rotcurve.io.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
