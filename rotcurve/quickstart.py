"""The quickstart: the whole job on the built-in default, in one call.

:func:`quickstart` does what ``rotcurve quickstart`` does, for scripts::

    >>> from rotcurve.quickstart import quickstart
    >>> result = quickstart("rotcurve-quickstart", seed=0)      # doctest: +SKIP
    >>> result.report                                           # the HTML page
    >>> result.metrics["median_frac_error"]

Three steps, each the library call behind one command, and each with atomic
outputs (an interrupted step leaves nothing that looks finished):

1. **generate** ``n_curves`` rotation curves (exponential disc + NFW halo,
   the reference prior, 50 log-spaced radii from 0.1 to 50 kpc, km/s) into
   ``OUT/curves.h5`` -- :func:`rotcurve.generator.generate`, as
   ``rotcurve generate --n N --seed S --out OUT/curves.h5``;
2. **train** the default 4-D VAE for ``epochs`` epochs into ``OUT/run/``
   (on the GPU when there is one) -- :func:`rotcurve.training.fit`, as
   ``rotcurve train --data OUT/curves.h5 --out OUT/run --epochs E --seed S``;
3. **report** on the held-out test split: reconstructions, the corner plot of
   the ``log10`` parameters against the latents, correlations and R^2,
   samples from the prior and the aggregate posterior with their physical
   validity and classifier two-sample AUC, into ``OUT/report/`` --
   :func:`rotcurve.reports.make_report`, as ``rotcurve report``.

``OUT/quickstart.json`` (the settings, the paths, the key metrics and the
time of each step) is written last: a folder that has it is complete.  The
same seed gives the same data set and, on a CPU, the same weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The three steps are called through their packages (generator.generate, training.fit,
# reports.make_report), looked up when quickstart() runs, so that tests can replace them.
from rotcurve import generator, reports, training
from rotcurve.devices import resolve_device
from rotcurve.errors import OUT, OVERWRITE, ConfigError, DataError, OutputExistsError
from rotcurve.run import load_run
from rotcurve.serialization import save_json
from rotcurve.validation import check_int

__all__ = [
    "QuickstartConfig",
    "QuickstartResult",
    "quickstart",
    "summary_line",
    "DEFAULT_OUT",
    "SUMMARY_FILE",
]

#: Output folder when none is given (relative to the current folder).
DEFAULT_OUT: str = "rotcurve-quickstart"
#: Written last into the output folder: settings, paths, metrics, timings.
SUMMARY_FILE: str = "quickstart.json"

#: What the quickstart writes inside its folder (and replaces on overwrite).
_OUTPUTS: tuple[str, ...] = ("curves.h5", "run", "report", SUMMARY_FILE)


@dataclass(frozen=True)
class QuickstartConfig:
    """Settings of a quickstart (saved in ``quickstart.json``).

    Attributes
    ----------
    n_curves : int
        Rotation curves generated (>= 100; 80 % train, 10 % validation,
        10 % test).
    epochs : int
        Training epochs of the default 4-D VAE.
    n_samples : int
        Curves the report draws from each latent sampler (prior, aggregate).
    seed : int
        The one seed of the data, the split, the weights and the samples.
    device : str
        ``"auto"`` (CUDA when there is one), ``"cpu"`` or ``"cuda"``.
    threads : int or None
        CPU threads of torch while the quickstart runs; None is 1 when
        training on the CPU (these small networks gain little from more, and
        on a busy machine more threads than free cores are many times
        slower) and torch's own choice on a GPU.
    """

    n_curves: int = 20_000
    # 120, not the 600 of `rotcurve train`: the quickstart must end within 3 minutes on the
    # slowest 2-core CPU seen here (an AVX2-only AMD EPYC; 300 epochs: 292 s, 150: 194 s);
    # held-out median 0.037 % (300) / 0.054 % (150) / 0.061 % (120), aggregate samples 99.9 %
    # valid and C2ST AUC 0.51-0.53 at each (docs/performance.md)
    epochs: int = 120
    n_samples: int = 2000
    seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        check_int("n_curves", self.n_curves, minimum=100, numpy=False)
        check_int("epochs", self.epochs, minimum=1, numpy=False)
        check_int("n_samples", self.n_samples, minimum=20, numpy=False)
        check_int("seed", self.seed, minimum=0, numpy=False)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"unknown device {self.device!r}; choose one of: auto, cpu, cuda")
        if self.threads is not None:
            check_int("threads", self.threads, minimum=1, numpy=False)


@dataclass
class QuickstartResult:
    """What :func:`quickstart` made.

    Attributes
    ----------
    out : Path
        The output folder.
    data : Path
        The generated curves, ``out/curves.h5``.
    run_dir : Path
        The trained run, ``out/run`` (``checkpoints/best.pt`` is the model).
    report_dir : Path
        The report folder, ``out/report``.
    report : Path
        The report's HTML page.
    metrics : dict
        The report's metrics (held-out errors, ELBO, validity, C2ST AUC...).
    seconds : dict
        Wall-clock seconds of each step: ``generate``, ``train``, ``report``.
    device : str
        The device the model was trained on (``"cpu"``, ``"cuda"``).
    config : QuickstartConfig
    """

    out: Path
    data: Path
    run_dir: Path
    report_dir: Path
    report: Path
    metrics: dict[str, Any]
    seconds: dict[str, float]
    device: str
    config: QuickstartConfig

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (paths as strings)."""
        return {
            "out": str(self.out),
            "data": str(self.data),
            "run_dir": str(self.run_dir),
            "report_dir": str(self.report_dir),
            "report": str(self.report),
            "metrics": _jsonable(self.metrics),
            "seconds": dict(self.seconds),
            "device": self.device,
            "config": dataclasses.asdict(self.config),
        }


def _jsonable(value: Any) -> Any:
    """Plain JSON data of nested metrics (numpy scalars to Python, non-finite to None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _get(metrics: Any, path: str) -> Any:
    """``metrics["a"]["b"]...`` for ``path = "a.b..."``, or None where a key is missing."""
    node = metrics
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return None
        node = node[part]
    return node


def summary_line(metrics: dict[str, Any]) -> str:
    """One line with the key numbers of a report's metrics.

    Parameters
    ----------
    metrics : dict
        The report's ``metrics.json`` content (:attr:`QuickstartResult.metrics`).

    Returns
    -------
    str
        E.g. ``"held-out: median error 0.05%, p95 0.25%, -ELBO -199 nats/curve |
        R2 Md 0.99 Rd 0.99 Mh 0.99 c 0.96 | new curves valid (2%) / C2ST AUC:
        aggregate (gmm) 99% / 0.55, prior N(0, I) (diagnostic) 97% / 0.62"``;
        parts whose numbers are missing are left out.
    """
    parts = []
    score = _get(metrics, "score") or {}
    held = []
    if score.get("median_frac_error") is not None:
        held.append(f"median error {100 * score['median_frac_error']:.2g}%")
    if score.get("p95_frac_error") is not None:
        held.append(f"p95 {100 * score['p95_frac_error']:.2g}%")
    if score.get("neg_elbo") is not None:
        held.append(f"-ELBO {score['neg_elbo']:.4g} nats/curve")
    if held:
        parts.append("held-out: " + ", ".join(held))
    r2 = _get(metrics, "latents.r2")
    r2_parts = [
        f"{name} {_get(r2, name + '.nonlinear'):.2f}"
        for name in (r2 if isinstance(r2, dict) else {})
        if _get(r2, name + ".nonlinear") is not None
    ]
    if r2_parts:
        parts.append("R2 " + " ".join(r2_parts))
    samples = []
    for source in ("aggregate", "prior"):
        within = _get(metrics, f"samples.{source}.validity.fraction_within")
        auc = _get(metrics, f"samples.{source}.c2st.auc")
        if within is None and auc is None:
            continue
        kind = _get(metrics, f"samples.{source}.kind")
        name = f"{source} ({kind})" if kind and kind != source else source
        if source == "prior":
            name = "prior N(0, I) (diagnostic)"
        valid = within.get(repr(0.02)) if isinstance(within, dict) else None
        valid_text = "?" if valid is None else f"{100 * valid:.3g}%"
        auc_text = "?" if auc is None else f"{auc:.2f}"
        samples.append(f"{name} {valid_text} / {auc_text}")
    if samples:
        parts.append("new curves valid (2%) / C2ST AUC: " + ", ".join(samples))
    return " | ".join(parts) if parts else "no metrics"


# ------------------------------------------------------------------------ the folder
def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse an existing folder without ``overwrite``, a file, or an unwritable parent."""
    if out.exists() and not out.is_dir():
        raise DataError.both("{out} is a file; give a folder for {o}", out=out, o=OUT)
    if out.exists() and not overwrite:
        raise OutputExistsError.both(
            "{out} exists; pass {w} to replace the quickstart's files in it, or choose another folder for {o}",
            out=out, w=OVERWRITE, o=OUT,
        )
    if out.exists():
        if not os.access(out, os.W_OK | os.X_OK):
            raise DataError.both("{out} is not writable; choose another {o}", out=out, o=OUT)
        return
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise DataError.both("{out}: {parent} is a file; choose another {o}", out=out, parent=parent, o=OUT)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError.both("{out}: folder {parent} is not writable; choose another {o}", out=out, parent=parent, o=OUT)


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (None: leave them), restoring the old count."""
    import torch

    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _say(message: str, enabled: bool) -> None:
    if enabled:
        print(f"rotcurve quickstart: {message}", file=sys.stderr, flush=True)


def quickstart(
    out: str | os.PathLike[str] = DEFAULT_OUT,
    *,
    seed: int = 0,
    device: str = "auto",
    overwrite: bool = False,
    progress: bool = True,
    n_curves: int = QuickstartConfig.n_curves,
    epochs: int = QuickstartConfig.epochs,
    n_samples: int = QuickstartConfig.n_samples,
    threads: int | None = None,
) -> QuickstartResult:
    """Generate curves, train the default 4-D VAE and write the report.

    Parameters
    ----------
    out : path, optional
        The output folder (default ``rotcurve-quickstart`` in the current
        folder).  It must not exist unless ``overwrite``.
    seed : int, keyword-only
        The one seed (>= 0): data, split, initial weights, samples.
    device : {"auto", "cpu", "cuda"}, keyword-only
        Where to train; ``"auto"`` takes the GPU when there is one.
    overwrite : bool, keyword-only
        Use an existing folder: the quickstart's own outputs in it
        (``curves.h5``, ``run/``, ``report/``, ``quickstart.json``) are
        replaced; nothing else there is touched.
    progress : bool, keyword-only
        Progress bars and step notes on stderr.
    n_curves : int, keyword-only
        Curves generated (default 20,000).
    epochs : int, keyword-only
        Training epochs (default 120).
    n_samples : int, keyword-only
        Curves the report draws from each latent sampler.
    threads : int or None, keyword-only
        torch CPU threads during the quickstart (restored after); None: 1 on
        the CPU, torch's choice on a GPU.

    Returns
    -------
    QuickstartResult

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    DataError
        ``out`` is a file or cannot be written.
    DeviceError
        ``device="cuda"`` where there is no CUDA device.
    ConfigError
        An invalid setting.
    """
    config = QuickstartConfig(
        n_curves=n_curves, epochs=epochs, n_samples=n_samples, seed=seed, device=device, threads=threads
    )
    out = Path(out)
    _check_out(out, bool(overwrite))
    dev = resolve_device(config.device)  # fail before any work
    out.mkdir(parents=True, exist_ok=True)
    summary = out / SUMMARY_FILE
    summary.unlink(missing_ok=True)  # the folder is not complete until it is rewritten

    seconds: dict[str, float] = {}
    data = out / "curves.h5"
    run_dir = out / "run"
    report_dir = out / "report"

    if report_dir.is_dir():  # a report of older data must not sit next to new data
        shutil.rmtree(report_dir)
    threads = config.threads if config.threads is not None else (1 if dev.type == "cpu" else None)
    with _torch_threads(threads):
        _say(f"1/3 generating {config.n_curves:,} rotation curves (disc + NFW halo) -> {data}", progress)
        t0 = time.perf_counter()
        generator.generate(config.n_curves, out=data, seed=config.seed, overwrite=bool(overwrite), progress=progress)
        seconds["generate"] = time.perf_counter() - t0

        _say(f"2/3 training the 4-D VAE for {config.epochs} epochs on {dev.type} -> {run_dir}", progress)
        t0 = time.perf_counter()
        training.fit(
            data,
            run_dir,
            model={"latent_dim": 4},
            train={"epochs": config.epochs, "seed": config.seed, "device": dev.type},
            overwrite=bool(overwrite),
            progress=progress,
        )
        seconds["train"] = time.perf_counter() - t0

        _say(f"3/3 writing the report on the held-out curves -> {report_dir}", progress)
        t0 = time.perf_counter()
        run = load_run(run_dir, device=dev.type)
        report = reports.make_report(
            run,
            data,
            report_dir,
            n_samples=config.n_samples,
            seed=config.seed,
            options={"n_jobs": -1},  # the validity fits on every core: 75 -> 56 s on 2 cores, same results
            overwrite=bool(overwrite),
            progress=progress,
        )
        seconds["report"] = time.perf_counter() - t0

    result = QuickstartResult(
        out=out,
        data=data,
        run_dir=run_dir,
        report_dir=report_dir,
        report=Path(report.path),
        metrics=dict(report.metrics),
        seconds=seconds,
        device=dev.type,
        config=config,
    )
    save_json(result.to_dict(), summary)
    return result
