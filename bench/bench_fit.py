"""Benchmark and validation of ``rotcurve fit`` (rotcurve.inference).

Four parts, each optional (default: all), printed as plain text:

``calibration``  N galaxies (default 200) drawn from the reference prior at
                 irregular radii with Gaussian errors, fitted with the
                 ``disc-nfw`` model and the ``reference`` prior (default
                 sampler settings: converged chains).  Prints, per parameter,
                 the fraction of true values inside the central 68.3 % and
                 95.4 % intervals with its binomial standard error, and writes
                 a coverage figure (bench/results/fit_calibration.png).
``independent``  The same posteriors from an independent plain emcee loop with a
                 scalar scipy log-probability per walker
                 (tests/inference/plain_emcee.py) for K mock and 3 SPARC
                 galaxies: differences of medians (in posterior sigmas) and
                 width ratios, with their Monte-Carlo errors.
``speed``        Per-galaxy fit time of rotcurve (MAP + vectorised emcee to the
                 convergence criterion) against the plain loop (Nelder-Mead +
                 emcee, scalar log-probability) run long enough for the same
                 number of independent samples, side by side: the plain loop
                 with emcee's default stretch move, and with the DE move rotcurve
                 uses (to separate vectorisation from the move).  The number
                 matched is rotcurve's *true* one, from ``tau`` of an untimed
                 100-``tau`` reference run (rotcurve's own estimate on its
                 25-50 ``tau`` chain is 10-25 % high); the plain loop's chains
                 are ~100 ``tau`` long, where the estimate is close.
``sparc``        All 175 SPARC galaxies (Lelli, McGaugh & Schombert 2016, AJ 152,
                 157; CC-BY-4.0; read from ../shared/datasets/sparc/Rotmod_LTG.zip)
                 with the ``sparc`` model, ``flat`` prior, H0 = 73, on
                 ``--workers`` processes without figures (wall time), the
                 reduced chi^2 distribution, convergence counts, failures, and
                 NGC 2403, NGC 3198, DDO 154 against the literature.

Run from the repository root::

    python bench/bench_fit.py                         # everything (~15 min on 2 busy cores)
    python bench/bench_fit.py --parts sparc speed     # the timings only
    python bench/bench_fit.py --parts sparc --figures # the catalogue with its per-galaxy figures
    python bench/bench_fit.py --parts calibration --n 200 --json bench/results/fit.json

Timings on a shared machine are noisy; the load average is printed before
and after each timed part.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _sparc_zip() -> Path:
    """$ROTCURVE_SPARC_ZIP, else shared/datasets/sparc/Rotmod_LTG.zip beside the repository or above it (worktrees)."""
    if os.environ.get("ROTCURVE_SPARC_ZIP"):
        return Path(os.environ["ROTCURVE_SPARC_ZIP"])
    candidates = [up / "shared" / "datasets" / "sparc" / "Rotmod_LTG.zip" for up in ROOT.parents]
    return next((c for c in candidates if c.is_file()), candidates[0])


SPARC_ZIP = _sparc_zip()
RESULTS = ROOT / "bench" / "results"
QUANTITIES = ("Md", "Rd", "Mh", "c", "V200", "C200")


def _plain():
    spec = importlib.util.spec_from_file_location("plain_emcee", ROOT / "tests" / "inference" / "plain_emcee.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load() -> str:
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # pragma: no cover
        return "load average n/a"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


class CpuMeter:
    """CPU seconds (user + system) of this process and every descendant, polled in a thread.

    Worker processes of a forkserver pool are not children of this process, so
    ``RUSAGE_CHILDREN`` misses them; the poller sums the last seen times of
    every process below this one (it may miss up to ``interval`` per process
    that ends between two polls).
    """

    def __init__(self, interval: float = 0.25) -> None:
        import psutil

        self._me = psutil.Process()
        self._interval = interval
        self._seen: dict[int, float] = {}
        self._stop = None
        self.seconds = float("nan")

    def _poll(self) -> None:
        for p in self._me.children(recursive=True):
            try:
                t = p.cpu_times()
            except Exception:  # ended meanwhile
                continue
            self._seen[p.pid] = t.user + t.system

    def __enter__(self) -> "CpuMeter":
        import threading

        self._own0 = time.process_time()
        self._stop = threading.Event()

        def loop() -> None:
            while not self._stop.wait(self._interval):
                self._poll()

        self._poll()
        self._base = dict(self._seen)
        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()
        kids = sum(t - self._base.get(pid, 0.0) for pid, t in self._seen.items())
        self.seconds = time.process_time() - self._own0 + kids


# -- calibration --------------------------------------------------------------------------------
def calibration(n: int, seed: int, workers: int, out: dict) -> None:
    from rotcurve.inference import fit_catalogue, load_fit
    from rotcurve.inference.simulate import simulate_reference

    print(f"\n== calibration: {n} reference-prior galaxies, disc-nfw + reference prior ({load()})")
    galaxies = simulate_reference(n, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = fit_catalogue(galaxies, Path(tmp) / "cal", model="disc-nfw", prior="reference", workers=workers,
                            figures=False, report=False, progress=False)
        wall = time.perf_counter() - t0
        fits = [load_fit(res.out, g.name) for g in galaxies]
    conv = sum(f.converged for f in fits)
    print(f"fitted in {wall:.0f} s on {workers} workers ({wall / n:.2f} s per galaxy); {conv}/{n} converged; "
          f"median tau {np.median([np.max(f.tau) for f in fits]):.1f} steps, "
          f"median n_eff {np.median([f.n_eff for f in fits]):.0f}")
    ranks = {q: [] for q in QUANTITIES}
    table = {}
    print(f"{'param':>6} {'in 68.3 %':>16} {'in 95.4 %':>16}")
    for q in QUANTITIES:
        k68 = k95 = 0
        for f, g in zip(fits, galaxies):
            x = f.column(q)
            ranks[q].append(float(np.mean(x < g.truth[q])))
            lo95, lo68, hi68, hi95 = np.percentile(x, [2.275, 15.865, 84.135, 97.725])
            k68 += lo68 <= g.truth[q] <= hi68
            k95 += lo95 <= g.truth[q] <= hi95
        r68, r95 = k68 / n, k95 / n
        e68, e95 = math.sqrt(0.6827 * 0.3173 / n), math.sqrt(0.9545 * 0.0455 / n)
        table[q] = {"in68": r68, "in95": r95}
        print(f"{q:>6} {r68:8.3f} +/- {e68:.3f} {r95:8.3f} +/- {e95:.3f}")
    out["calibration"] = {"n": n, "wall_s": wall, "converged": conv, "coverage": table}
    _coverage_figure(ranks, RESULTS / "fit_calibration.png")
    print(f"figure: {RESULTS / 'fit_calibration.png'} (posterior rank of the truth; uniform when calibrated)")


def _coverage_figure(ranks: dict, path: Path) -> None:
    from rotcurve.analysis.figures import new_figure, save_figure

    fig = new_figure(figsize=(6.0, 4.5))
    ax = fig.add_subplot(111)
    grid = np.linspace(0, 1, 101)
    for q, r in ranks.items():
        r = np.sort(np.asarray(r))
        ax.plot(grid, [np.mean(np.minimum(r, 1 - r) * 2 >= 1 - g) for g in grid], label=q)
    ax.plot([0, 1], [0, 1], color="k", ls="--", lw=1)
    n = len(next(iter(ranks.values())))
    band = 2 * np.sqrt(grid * (1 - grid) / n)
    ax.fill_between(grid, grid - band, grid + band, color="k", alpha=0.1, lw=0, label="2 sigma binomial")
    ax.set_xlabel("credible level of the central interval")
    ax.set_ylabel("fraction of true values inside")
    ax.legend(fontsize="small", frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)


# -- independent check ----------------------------------------------------------------------------
def _compare(ours: np.ndarray, theirs: np.ndarray, n1: float, n2: float) -> tuple[float, float, float]:
    """Largest |median difference| / sigma, largest |width ratio - 1|, and the MC error of a median in sigmas."""
    se = math.sqrt(1 / n1 + 1 / n2)
    dm, dw = 0.0, 0.0
    for k in range(ours.shape[1]):
        a, b = ours[:, k], theirs[:, k]
        sb = 0.5 * (np.percentile(b, 84.13) - np.percentile(b, 15.87))
        sa = 0.5 * (np.percentile(a, 84.13) - np.percentile(a, 15.87))
        dm = max(dm, abs(np.median(a) - np.median(b)) / sb)
        dw = max(dw, abs(sa / sb - 1))
    return dm, dw, 1.25 * se


def independent(k: int, seed: int, out: dict) -> None:
    from rotcurve.inference import fit_galaxy, load_galaxies
    from rotcurve.inference.simulate import simulate_reference

    plain = _plain()
    print(f"\n== independent check: rotcurve against a plain emcee loop with scalar scipy log-probabilities ({load()})")
    print(f"{'galaxy':>10} {'model':>9} {'max|dmed|/sig':>14} {'MC err':>7} {'max|w ratio-1|':>15} {'MC err':>7}")
    rows = []
    for g in simulate_reference(k, seed=seed + 1):
        fit = fit_galaxy(g, model="disc-nfw", prior="reference", seed=seed)
        logp = plain.DiscNFWReference(g.R, g.V, g.eV)
        start = np.log10([g.truth[q] for q in ("Md", "Rd", "Mh", "c")])
        theirs, tau, _, n_eff = plain.fit_plain(logp, start, n_walkers=32, n_steps=3000, burn=500, seed=seed)
        rows.append((g.name, "disc-nfw") + _compare(np.log10(fit.samples), theirs, fit.n_eff, n_eff) + (n_eff,))
    if SPARC_ZIP.is_file():
        sparc = {g.name: g for g in load_galaxies(SPARC_ZIP)}
        for name in ("NGC2403", "NGC3198", "DDO154"):
            g = sparc[name]
            fit = fit_galaxy(g, model="sparc", prior="flat", H0=73.0, seed=seed)
            logp = plain.SparcFlat(g.R, g.V, g.eV, g.Vgas, g.Vdisk, g.Vbul, H0=73.0)
            start = [math.log10(0.5)] + ([math.log10(0.7)] if g.has_bulge else []) + [11.5, 1.0]
            theirs, tau, _, n_eff = plain.fit_plain(logp, start, n_walkers=32, n_steps=3000, burn=500, seed=seed)
            rows.append((name, "sparc") + _compare(np.log10(fit.samples), theirs, fit.n_eff, n_eff) + (n_eff,))
    for name, model, dm, dw, se, _ in rows:
        print(f"{name:>10} {model:>9} {dm:14.3f} {se:7.3f} {dw:15.3f} {0.9 * se / 1.25:7.3f}")
    out["independent"] = [dict(zip(("name", "model", "max_dmed_sigma", "mc_err_med", "max_width_dev", "n_eff_plain"),
                                   (r[0], r[1], r[2], r[4], r[3], r[5]))) for r in rows]


# -- speed ---------------------------------------------------------------------------------------
def _plain_equal_quality(plain, logp, start, n_eff_target: float, *, moves=None, walkers: int = 32, seed: int = 0):
    """Run the plain loop until it has ``n_eff_target`` independent samples; (seconds, CPU seconds, n_eff, tau)."""
    import emcee

    from scipy import optimize

    t0, c0 = time.perf_counter(), time.process_time()
    res = optimize.minimize(lambda t: -logp(t), np.asarray(start, float), method="Nelder-Mead",
                            options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-8})
    rng = np.random.default_rng(seed)
    p0 = res.x + 1e-4 * rng.standard_normal((walkers, len(start)))
    sampler = emcee.EnsembleSampler(walkers, len(start), logp, moves=moves)
    sampler.random_state = np.random.RandomState(seed).get_state()
    state = sampler.run_mcmc(p0, 1000, progress=False)
    while True:
        tau = float(np.max(emcee.autocorr.integrated_time(sampler.get_chain(), tol=0)))
        burn = int(2 * tau)
        n_eff = walkers * (sampler.iteration - burn) / tau
        if n_eff >= n_eff_target or sampler.iteration > 200000:
            break
        need = int(math.ceil(n_eff_target * tau / walkers + burn - sampler.iteration)) + 50
        state = sampler.run_mcmc(state, max(need, 100), progress=False)
    return time.perf_counter() - t0, time.process_time() - c0, n_eff, tau


def speed(seed: int, out: dict) -> None:
    import emcee

    from rotcurve.inference import fit_galaxy, load_galaxies
    from rotcurve.inference.simulate import simulate_reference

    plain = _plain()
    print(f"\n== speed: one galaxy at a time, equal numbers of independent samples ({load()})")
    cases = []
    if SPARC_ZIP.is_file():
        sparc = {g.name: g for g in load_galaxies(SPARC_ZIP)}
        for name in ("NGC2403", "NGC3198", "DDO154", "UGC02885"):
            g = sparc[name]
            start = [math.log10(0.5)] + ([math.log10(0.7)] if g.has_bulge else []) + [11.5, 1.0]
            cases.append((name, "sparc", g, plain.SparcFlat(g.R, g.V, g.eV, g.Vgas, g.Vdisk, g.Vbul, H0=73.0), start))
    for g in simulate_reference(3, seed=seed + 2):
        start = np.log10([g.truth[q] for q in ("Md", "Rd", "Mh", "c")])
        cases.append((g.name, "disc-nfw", g, plain.DiscNFWReference(g.R, g.V, g.eV), start))
    print("n_eff: rotcurve's own estimate, and 'true' from tau of a 100-tau reference chain (the estimate on a "
          "25-50 tau chain is low); the plain loops run to the true number")
    print("times: wall and CPU seconds; speed-ups x of CPU time (wall time in brackets; the machine is shared)")
    print(f"{'galaxy':>10} {'model':>9} {'rotcurve s':>10} {'cpu s':>6} {'n_eff':>6} {'true':>6} | "
          f"{'plain stretch s':>15} {'cpu s':>6} {'x':>12} | {'plain DE s':>10} {'cpu s':>6} {'x':>12}")
    rows = []
    for name, model, g, logp, start in cases:
        kw = dict(model=model, prior="flat" if model == "sparc" else "reference", H0=73.0 if model == "sparc" else 70.0)
        fit_galaxy(g, **kw, settings={"max_steps": 100})  # warm the imports and caches
        t0, c0 = time.perf_counter(), time.process_time()
        fit = fit_galaxy(g, **kw, seed=seed)
        ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
        ref = fit_galaxy(g, **kw, seed=seed + 1, settings={"tau_factor": 100.0, "min_n_eff": 1, "max_steps": 60000})
        tau_ref = float(np.max(ref.tau))
        tau_max = float(np.max(fit.tau))
        n_true = fit.n_walkers * (fit.n_steps - min(int(2 * tau_max), fit.n_steps // 2)) / tau_ref
        t_st, c_st, ne_st, _ = _plain_equal_quality(plain, logp, start, n_true, seed=seed)
        t_de, c_de, ne_de, _ = _plain_equal_quality(plain, logp, start, n_true, moves=emcee.moves.DEMove(), seed=seed)
        rows.append({"name": name, "model": model, "rotcurve_s": ours, "rotcurve_cpu_s": ours_cpu, "n_eff": fit.n_eff,
                     "n_eff_true": n_true, "tau": tau_max, "tau_ref": tau_ref, "plain_stretch_s": t_st,
                     "plain_stretch_cpu_s": c_st, "plain_de_s": t_de, "plain_de_cpu_s": c_de,
                     "speedup_stretch": c_st / ours_cpu, "speedup_de": c_de / ours_cpu,
                     "speedup_stretch_wall": t_st / ours, "speedup_de_wall": t_de / ours})
        print(f"{name:>10} {model:>9} {ours:10.2f} {ours_cpu:6.2f} {fit.n_eff:6.0f} {n_true:6.0f} | {t_st:15.2f} "
              f"{c_st:6.2f} {c_st / ours_cpu:5.1f} ({t_st / ours:4.1f}) | {t_de:10.2f} {c_de:6.2f} "
              f"{c_de / ours_cpu:5.1f} ({t_de / ours:4.1f})", flush=True)
    gm = lambda k: float(np.exp(np.mean([math.log(r[k]) for r in rows])))  # noqa: E731
    print(f"geometric-mean speed-up (CPU time): {gm('speedup_stretch'):.1f}x against the plain default (stretch) "
          f"loop, {gm('speedup_de'):.1f}x against the plain loop with the DE move; wall time: "
          f"{gm('speedup_stretch_wall'):.1f}x and {gm('speedup_de_wall'):.1f}x ({load()})")
    out["speed"] = rows


# -- SPARC ---------------------------------------------------------------------------------------
LITERATURE = {
    # what published SPARC NFW fits say, for orientation (Li et al. 2020 ApJS 247, 31, whose
    # table1.dat has the numbers; Katz et al. 2017 MNRAS 466, 1648); no value is copied here
    "NGC3198": "V200 ~ 110-150 km/s",
    "NGC2403": "a classic case of NFW fitting a slowly rising inner curve poorly",
    "DDO154": "dark-matter dominated, low C200 of a few; cored halos fit better",
}


def sparc_part(workers: int, seed: int, out: dict, *, figures: bool = False) -> None:
    from rotcurve.inference import fit_catalogue

    if not SPARC_ZIP.is_file():
        print(f"\n== sparc: skipped, {SPARC_ZIP} not found")
        return
    print(f"\n== SPARC: 175 galaxies, sparc model, flat prior, H0 = 73, {workers} workers, "
          f"{'with' if figures else 'no'} figures ({load()})")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with CpuMeter() as cpu:
            res = fit_catalogue(SPARC_ZIP, Path(tmp) / "sparc", model="sparc", prior="flat", H0=73.0, seed=seed,
                                workers=workers, figures=figures, report=True, progress=False)
        wall = time.perf_counter() - t0
        s = res.summary
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "fit_sparc_report.html").write_bytes((res.out / "report.html").read_bytes())
        s.write(RESULTS / "fit_sparc_summary.ecsv", overwrite=True)
    print(f"wall time {wall:.1f} s, CPU time {cpu.seconds:.1f} s (all processes; {load()})")
    status = [str(x) for x in s["status"]]
    print(f"{len(s)} galaxies: {status.count('ok')} converged, {status.count('not_converged')} not converged, "
          f"{status.count('failed')} failed")
    for name, reason in res.failures:
        print(f"  failed: {name}: {reason}")
    for i, st in enumerate(status):
        if st == "not_converged":
            print(f"  not converged: {s['name'][i]}: {s['reason'][i]}")
    ok = np.array([x != "failed" for x in status])
    chi = np.asarray(s["chi2_red"], float)[ok]
    names = np.asarray(s["name"])[ok]
    fin = np.isfinite(chi)
    worst = int(np.argmax(np.where(fin, chi, -1)))
    print(f"reduced chi2 at the MAP: median {np.median(chi[fin]):.2f}, 90th percentile {np.percentile(chi[fin], 90):.2f}, "
          f"worst {chi[worst]:.1f} ({names[worst]}); {int(np.sum(chi[fin] < 2))} of {fin.sum()} below 2")
    times = np.asarray(s["time_s"], float)
    slow = np.argsort(-times)[:3]
    print(f"time in the workers: sum {times.sum():.1f} s over {workers} workers (ideal wall "
          f"{times.sum() / workers:.1f} s), slowest " + ", ".join(f"{s['name'][i]} {times[i]:.1f} s" for i in slow))
    print(f"mean time per galaxy in the workers {np.mean(np.asarray(s['time_s'])[ok]):.2f} s, "
          f"median tau {np.nanmedian(np.asarray(s['tau'])[ok]):.1f} steps, median acceptance "
          f"{np.nanmedian(np.asarray(s['acceptance'])[ok]):.2f}")
    picked = {}
    for name in ("NGC2403", "NGC3198", "DDO154"):
        i = list(s["name"]).index(name)
        v = [float(s[f"V200_{k}"][i]) for k in ("p16", "p50", "p84")]
        c = [float(s[f"C200_{k}"][i]) for k in ("p16", "p50", "p84")]
        u = [float(s[f"Ups_disk_{k}"][i]) for k in ("p16", "p50", "p84")]
        picked[name] = {"V200": v, "C200": c, "Ups_disk": u, "chi2_red": float(s["chi2_red"][i])}
        print(f"  {name:8s} V200 = {v[1]:6.1f} (+{v[2] - v[1]:.1f} -{v[1] - v[0]:.1f}) km/s   C200 = {c[1]:5.2f} "
              f"(+{c[2] - c[1]:.2f} -{c[1] - c[0]:.2f})   Ups_disk = {u[1]:.2f}   chi2_red = "
              f"{float(s['chi2_red'][i]):.2f}   [literature: {LITERATURE[name]}]")
    out["sparc"] = {"wall_s": wall, "cpu_s": cpu.seconds, "figures": figures, "workers": workers, "n": len(s), "converged": status.count("ok"),
                    "not_converged": status.count("not_converged"), "failed": status.count("failed"),
                    "chi2_red_median": float(np.median(chi[fin])), "chi2_red_p90": float(np.percentile(chi[fin], 90)),
                    "chi2_red_worst": float(chi[worst]), "worst": str(names[worst]), "galaxies": picked}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+", default=["calibration", "independent", "speed", "sparc"],
                    choices=["calibration", "independent", "speed", "sparc"])
    ap.add_argument("--n", type=int, default=200, help="calibration galaxies (default 200)")
    ap.add_argument("--k", type=int, default=5, help="mock galaxies of the independent check (default 5)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--figures", action="store_true", help="sparc part: also write the per-galaxy figures")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()
    print(f"bench_fit: {machine()}; {load()}")
    out: dict = {"machine": machine()}
    if "sparc" in args.parts:
        sparc_part(args.workers, args.seed, out, figures=args.figures)
    if "speed" in args.parts:
        speed(args.seed, out)
    if "independent" in args.parts:
        independent(args.k, args.seed, out)
    if "calibration" in args.parts:
        calibration(args.n, args.seed, args.workers, out)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
