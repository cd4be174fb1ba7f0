"""``rotcurve report``: one self-contained HTML report of a trained run, with figures and metrics.

::

    rotcurve report --run runs/vae4 --data curves.h5 --out reports/vae4
    rotcurve report --run runs/mnist --data mnist:data/mnist --out reports/mnist --overwrite

Writes ``OUT/report.html`` (opens offline: CSS inline, figures embedded),
``OUT/figures/*.png`` and ``*.pdf``, and ``OUT/metrics.json`` with every
number (see :mod:`rotcurve.reports`).  The folder is built next to
``OUT`` and renamed into place when complete.
"""

from __future__ import annotations

import argparse
from typing import Any

from rotcurve.cli._common import add_run_options, nonnegative_int, positive_int, show_progress

__all__ = ["add_parser", "run"]


def _at_least_10(text: str) -> int:
    value = positive_int(text)
    if value < 10:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 10")
    return value


def _at_least_20(text: str) -> int:
    value = positive_int(text)
    if value < 20:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 20")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``report``."""
    p = subparsers.add_parser(
        "report",
        help="HTML report of a trained run: latents vs physics, new curves, figures, metrics.json",
        description="Analyse a trained run on a data set and write OUT/report.html (self-contained), "
        "OUT/figures/*.png|pdf and OUT/metrics.json.  With the run's training file its test split is "
        "analysed, with another file every curve (at most --n-curves, a seeded subsample).",
    )
    add_run_options(p, batch_size=False)
    p.add_argument("--data", required=True, metavar="FILE|mnist:DIR", help="curves on the run's radius grid, or MNIST")
    p.add_argument("--out", required=True, metavar="DIR", help="the report folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report folder (once the new one is complete)")
    p.add_argument(
        "--n-samples", type=_at_least_10, default=2000, metavar="N",
        help="generated curves per latent source for validity, C2ST and bands (default 2000)",
    )
    p.add_argument(
        "--n-curves", type=_at_least_10, default=5000, metavar="N",
        help="most real curves analysed: encoded, scored, plotted (default 5000)",
    )
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="the report's one seed (default 0)")
    p.add_argument(
        "--jobs", type=int, default=1, metavar="J",
        help="threads of the disc + halo fits of the validity test (default 1; -1 = every core)",
    )
    p.add_argument("--dpi", type=_at_least_20, default=100, metavar="DPI", help="resolution of the PNG figures (default 100)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Write the report and print where it went with the headline numbers."""
    from rotcurve.reports import make_report

    res = make_report(
        args.run,
        args.data,
        args.out,
        n_samples=args.n_samples,
        n_curves=args.n_curves,
        seed=args.seed,
        overwrite=args.overwrite,
        progress=show_progress(args),
        which=args.which,
        device=args.device,
        options={"n_jobs": args.jobs, "dpi": args.dpi},
    )
    m = res.metrics
    print(f"wrote the report to {res.path}")
    print(f"  figures: {res.folder / 'figures'} ({len(m.get('figures', {}))} as PNG and PDF)")
    print(f"  metrics: {res.folder / 'metrics.json'}")
    rec = m.get("score") or {}
    if rec.get("median_frac_error") is not None:
        print(f"  reconstruction: median |v_hat/v - 1| = {rec['median_frac_error']:.3g}, RMS {rec['rms_kms']:.3g} km/s")
    r2 = (m.get("latents") or {}).get("r2")
    if r2:
        print("  R2 (non-linear) from the latents: " + ", ".join(f"{k} {v['nonlinear']:.4f}" for k, v in r2.items()))
    samples = m.get("samples") or {}
    chosen = (samples.get("aggregate_model") or {}).get("choice")
    for source in ("gaussian", "gmm", "prior"):
        entry = samples.get(source)
        if isinstance(entry, dict) and "validity" in entry:
            fw = entry["validity"]["fraction_within"]
            mark = " (= aggregate, the default)" if source == chosen else ""
            name = "prior N(0, I) (diagnostic)" if source == "prior" else source
            print(f"  {name}{mark}: valid within 1 %/2 % = {fw['0.01']:.4f}/{fw['0.02']:.4f}, "
                  f"C2ST AUC = {entry['c2st']['auc']:.3f}")
    for text in m.get("notes", []):
        print(f"  note: {text}")
    return 0
